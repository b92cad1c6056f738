"""How much of a query an article explains: its words, its title, one of its sections.

BM25 adds up matches; these measures ask which of the query's content words an article
accounts for, each weighed by how rare it is, so that an article matching one word strongly
gives way to one that explains every word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from knowledge.bm25 import Tuning
from knowledge.examples import ExampleField
from knowledge.passages import Passages
from knowledge.query import made_up, topical
from knowledge.text import Unit

MAX_UNITS = 64  # the content words of a query looked at (a pasted essay is cut there)
_NUMBER_RE = re.compile(r"[0-9]")


class Explainer:
    """Coverage measures over one index's postings, heads, idf, examples and sections."""

    def __init__(
        self,
        postings: Mapping[str, Mapping[int, float]],
        heads: Sequence[frozenset[str]],
        idf: Mapping[str, float],
        idf_unseen: float,
        examples: ExampleField,
        passages: Passages,
        tuning: Tuning,
    ) -> None:
        self._postings = postings
        self._heads = heads
        self._idf = idf
        self._unseen = idf_unseen
        self._examples = examples
        self._passages = passages
        self._tuning = tuning

    def weights(self, units: Sequence[Unit]) -> list[float]:
        """Each content word's weight: the idf of the word (less for a Chinese word common in
        the language at large: `topical`) or of its rarest concept; a complaint word weighs
        several unknown words.

        A word no article holds weighs the most, unless a concept says what it means (then the
        concept weighs it), it is a long word whose parts articles hold ("验证码": the idf of
        its rarest part), it is a number (an amount, a date or an id no article names:
        nothing), or it is a Chinese word in no dictionary, which jieba made up from characters
        it did not know (`w_made_up` of it: a guess at a word says less than a word).
        """
        out: list[float] = []
        idf = self._idf
        for unit in units[:MAX_UNITS]:
            if unit.complaint:
                out.append(self._tuning.w_complaint * self._unseen)
                continue
            own = idf.get(unit.token)
            if own is None:
                parts = [idf[p] for p in unit.parts if p in idf]
                if unit.concepts or _NUMBER_RE.search(unit.token):
                    own = 0.0
                elif parts and len(parts) == len(unit.parts):
                    own = max(parts)
                elif made_up(unit.token):
                    own = self._unseen * self._tuning.w_made_up
                else:
                    own = self._unseen
            weight = own * topical(unit.token)
            for c in unit.concepts:
                weight = max(weight, idf.get(c, 0.0))
            out.append(weight)
        return out

    def coverage(
        self,
        doc: int,
        units: Sequence[Unit],
        weights: Sequence[float],
        head: bool = False,
        learned: bool = True,
    ) -> float:
        """The weighted share of a query's content words that an article (head) explains;
        `learned`: also through the words its examples taught it. A word whose concepts no
        article holds, explained by the bare word, counts `w_bare` of its weight."""
        post = self._postings
        heads = self._heads[doc]
        taught = self._examples

        def has(token: str) -> bool:
            found = token in heads if head else doc in post.get(token, ())
            return found or (learned and taught.holds(doc, token))

        total = explained = 0.0
        for unit, weight in zip(units, weights, strict=False):
            total += weight
            if unit.complaint:
                continue
            by_parts = bool(unit.parts) and all(map(has, unit.parts))
            if any(map(has, unit.concepts)):
                explained += weight
            elif by_parts or has(unit.token):
                # A word that the query uses in a lexicon term of a topic no article holds
                # ("cancel" in "cancel my subscription") is only half explained by an article
                # that holds the bare word ("cancel deletion").
                unheld = unit.concepts and not any(c in post for c in unit.concepts)
                explained += weight * (self._tuning.w_bare if unheld else 1.0)
        return explained / total if total else 0.0

    def section(self, doc: int, units: Sequence[Unit], weights: Sequence[float]) -> float:
        """The weighted share of a query's content words that one section explains."""
        return self._passages.coverage(doc, units, weights)

    def heading(self, doc: int, units: Sequence[Unit], weights: Sequence[float]) -> float:
        """The weighted share of a query's content words that one section's heading explains."""
        return self._passages.heading(doc, units, weights)

    def specific(self, doc: int, units: Sequence[Unit]) -> float:
        """The idf of the rarest token through which an article explains a query word.

        "is there an ipad version" or "how do i save a post to a collection" are explained by
        some article only through words that many articles hold: no answer is specific to them.
        """
        post, idf = self._postings, self._idf
        best = 0.0
        for unit in units[:MAX_UNITS]:
            tokens = [unit.token, *unit.concepts]
            if unit.parts and all(doc in post.get(p, ()) for p in unit.parts):
                tokens.extend(unit.parts)
            for tok in tokens:
                if doc in post.get(tok, ()):
                    best = max(best, idf.get(tok, 0.0))
        return best

    def subtopic(self, doc: int, units: Sequence[Unit]) -> bool:
        """Whether an article explains a query word through a rare lexicon concept.

        Titles and keywords name an article's main topic; a body also covers subtopics
        ("price protection" in the coupon article, "marketing texts" in the notifications
        one). A concept few articles hold, found in this one, is specific enough evidence.
        """
        post, idf, least = self._postings, self._idf, self._tuning.body_concept_idf
        return any(
            idf.get(c, 0.0) >= least and doc in post.get(c, ())
            for unit in units[:MAX_UNITS]
            for c in unit.concepts
        )
