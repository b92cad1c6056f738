"""Help-center search: bilingual, synonym-aware BM25F ranking with a calibrated confidence."""

from __future__ import annotations

import heapq
import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

from knowledge.bm25 import (
    Builder,
    Doc,
    Tables,
    Tuning,
    load_lexicon,
    parse_synonyms,
    postings,
)
from knowledge.examples import Example, ExampleField, Word
from knowledge.explain import MAX_UNITS, Explainer
from knowledge.intents import Intent, Intents
from knowledge.intents import builtin as builtin_intents
from knowledge.links import find_links
from knowledge.models import LANGS, Article
from knowledge.passages import Passages
from knowledge.query import QueryReader
from knowledge.terms import Lexicon
from knowledge.text import (
    Analysis,
    Segmenter,
    Unit,
)

__all__ = [
    "Example",
    "Hit",
    "SearchIndex",
    "SearchResult",
    "Tuning",
    "load_lexicon",
    "parse_synonyms",
    "search_jsonl",
]

# No article is a confident answer to these, whatever it holds.
_SILENT = frozenset(
    {
        Intent.GREETING,
        Intent.CLOSING,
        Intent.ASK,
        Intent.SMALL_TALK,
        Intent.COMPLAINT,
        Intent.IDENTITY,
    }
)
_NOTHING = frozenset(  # and no article is offered
    {
        Intent.GREETING,
        Intent.CLOSING,
        Intent.ASK,
        Intent.SMALL_TALK,
        Intent.IDENTITY,
        Intent.MENU,
        Intent.CANCEL,
    }
)
# Work caps per query (see SearchIndex._accumulate): the most telling tokens only, and tokens
# in more than max(_BROAD_MIN, a twentieth) of the articles only add to the best _CANDIDATES.
_MAX_TOKENS = 48
_BROAD_MIN = 250
_CANDIDATES = 200
_RERANKED = 16  # the best by BM25 that are ranked again


class _Found(NamedTuple):
    """An article found: its rank key and 0..1 score, and the same by its own words alone."""

    key: float
    score: float
    doc: int
    own_key: float
    own_score: float
    own_cov: float


@dataclass(frozen=True, slots=True)
class Hit:
    """One article found: its id, a 0..1 score, and its title and category for display."""

    id: str
    score: float
    title: str
    category: str


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The ranked hits for a query and whether the best one is a confident answer."""

    query: str
    confident: bool
    hits: tuple[Hit, ...]


class SearchIndex:
    """An in-memory index of the help center; build once, search many times (pure, fast)."""

    def __init__(
        self,
        docs: list[Doc],
        tables: Tables,
        vocab: list[str],
        lexicon: Lexicon,
        segmenter: Segmenter,
        tuning: Tuning,
        intents: Intents,
        passages: Passages,
    ) -> None:
        self._reader = QueryReader(lexicon, segmenter, vocab, tables.postings, tables.idf, tuning)
        self._docs = docs
        self._postings = tables.postings
        self._heads = tables.heads
        self._idf = tables.idf
        self._tuning = tuning
        self._idf_unseen = math.log(1 + (len(docs) + 0.5) / 0.5)
        self._intents = intents
        self._by_id = {d.id: n for n, d in enumerate(docs)}
        self._examples = ExampleField()
        self._explain = Explainer(
            tables.postings,
            tables.heads,
            tables.idf,
            self._idf_unseen,
            self._examples,
            passages,
            tuning,
        )

    @classmethod
    def build(
        cls,
        articles: Sequence[Article],
        synonyms: Sequence[Sequence[str]] = (),
        category_labels: Mapping[str, Sequence[str]] | None = None,
        examples: Iterable[Example] = (),
    ) -> SearchIndex:
        """Index articles (all languages under one id) with the lexicon plus `synonyms`, and
        the queries attached to them (`examples`; one for an unknown article is skipped)."""
        index = cls.build_tuned(articles, synonyms, category_labels, Tuning())
        for example in examples:
            index.add_example(example.query, example.article_id)
        return index

    @classmethod
    def build_tuned(
        cls,
        articles: Sequence[Article],
        synonyms: Sequence[Sequence[str]],
        category_labels: Mapping[str, Sequence[str]] | None,
        tuning: Tuning,
    ) -> SearchIndex:
        """Like `build`, with explicit ranking constants (for benchmarks and tuning)."""
        lexicon = Lexicon.compile([*load_lexicon(), *synonyms])
        segmenter = Segmenter()
        builder = Builder(lexicon, segmenter.two_char_words())
        by_id: dict[str, list[Article]] = {}
        for art in articles:
            by_id.setdefault(art.id, []).append(art)
        labels = category_labels or {}
        links = find_links(articles)
        for group in by_id.values():
            group.sort(key=lambda a: (LANGS.index(a.lang) if a.lang in LANGS else 99, a.lang))
            builder.add(group, labels.get(group[0].category, ()), [links.body(a) for a in group])
        tables = postings(builder.counts, tuning)
        words = Counter[str]()
        for word, count in builder.words.items():
            if (plain := word.replace("'", "")).isalpha():
                words[plain] += count
        vocab = sorted(words, key=lambda w: (-words[w], w))  # ties go to the commoner word
        return cls(
            builder.docs,
            tables,
            vocab,
            lexicon,
            segmenter,
            tuning,
            builtin_intents(),
            builder.passages,
        )

    def add_example(self, query: str, article_id: str) -> bool:
        """Attach a user's query to the article that answers it; the search uses it at once.

        False (and nothing kept) when no article has that id or the query has no words.
        """
        doc = self._by_id.get(article_id)
        if doc is None:
            return False
        analysis = self._reader.read(query)
        tokens = self._example_tokens(analysis)
        if not tokens:
            return False
        post, heads, t = self._postings, self._heads[doc], self._tuning
        # An example teaches its article the words no article holds (slang, a nickname); a word
        # that another article holds means what that article says ("taken down" for a post
        # removed by moderation is also a copyright take-down).
        new = {tok for tok in tokens if tok not in heads and tok not in post}
        words = self._example_words(analysis)
        self._examples.add(Example(query, article_id), doc, words, new)
        terms = self._examples.note(doc, self._reader.weights(analysis))
        k1, unseen = t.k1, self._idf_unseen
        impacts = {}
        for tok, c in terms.items():
            s = t.w_examples if tok in post else t.w_taught
            impacts[tok] = self._idf.get(tok, unseen) * c * s * (k1 + 1) / (k1 + c * s)
        self._examples.impacts(doc, impacts)
        return True

    def _example_tokens(self, a: Analysis) -> dict[str, float]:
        """A query's content words and concepts, each weighed by its idf (function words and
        the bigrams across two words would make unrelated queries alike)."""
        idf, unseen = self._idf, self._idf_unseen
        tokens = [u.token for u in a.units if not u.complaint] + a.concepts
        return {tok: idf.get(tok, unseen) for tok in tokens}

    def _example_words(self, a: Analysis) -> list[Word]:
        """A query's content words, each weighed as the idf of the word or its rarest concept
        (as coverage weighs them), with the keys through which another query shares it."""
        idf, unseen = self._idf, self._idf_unseen

        def weight(u: Unit) -> float:
            # A word no article holds weighs the most, unless a concept says what it means.
            concepts = [idf.get(c, 0.0) for c in u.concepts]
            own = idf.get(u.token, 0.0 if concepts else unseen)
            return max([own, *concepts])

        return [
            (weight(u), (u.token, *u.concepts)) for u in a.units[:MAX_UNITS] if not u.complaint
        ]

    def examples(self) -> tuple[Example, ...]:
        """The queries attached so far, in the order they came."""
        return tuple(self._examples.examples)

    def search(self, query: str, lang: str | None = None, limit: int = 5) -> SearchResult:
        """Rank articles for a user's words; `lang` picks the title language shown.

        A greeting or small talk finds nothing (there is nothing to offer: the bot greets); a
        complaint about the service finds articles, none of them with confidence.
        """
        intent = self._intents.classify(query)
        if intent in _NOTHING:
            return SearchResult(query, confident=False, hits=())
        analysis = self._reader.read(query)
        weights = self._reader.weights(analysis)
        heard: dict[int, float] = {}  # what the articles' examples fields add to their scores
        scores = self._accumulate(weights, heard) if weights and limit > 0 else {}
        likeness: dict[int, float] = {}  # each article's best example's likeness to the query
        if self._examples.examples and limit > 0:
            likeness = self._examples.similar(self._example_words(analysis))
        # The articles with an example like enough the query are candidates.
        alike = {d: v for d, v in likeness.items() if v >= self._tuning.example_min}
        if not scores and not alike:
            return SearchResult(query, confident=False, hits=())
        found = self._rank(analysis, weights, scores, heard, alike, limit)
        confident = intent not in _SILENT and self._confident(analysis, found, alike)
        if intent not in _SILENT and not confident and likeness:
            found, tied = self._settle(found, likeness)
            confident = bool(tied) and self._confident(analysis, found, alike, tied)
        hits: list[Hit] = []
        for f in found[:limit]:
            # Scores never rise down the list, whatever the blend says.
            score = min(f.score, hits[-1].score) if hits else f.score
            hits.append(self._hit(f.doc, score, lang))
        return SearchResult(query, confident, tuple(hits))

    def _settle(
        self, found: list[_Found], likeness: Mapping[int, float]
    ) -> tuple[list[_Found], frozenset[int]]:
        """Break a tie on the articles' own words with the queries attached to them.

        Sibling articles ("change the bound phone", "lost the bound phone") often score alike
        on their own words, and which one a user means is not in those words; users' own
        phrasings, attached by a moderator, tell them apart. Among the articles whose own
        scores are within `example_tie` of the best one, the one with an example close to the
        query (`example_close`) and closer than any other tied article's goes first. The
        articles found, and the tied ones when an example settled the tie (else none).
        """
        t = self._tuning
        best = max(f.own_score for f in found)
        tied = [f for f in found if f.own_score >= (1 - t.example_tie) * best]
        if len(tied) < 2:
            return found, frozenset()
        tied.sort(key=lambda f: (-likeness.get(f.doc, 0.0), -f.key, self._docs[f.doc].id))
        first, second = (likeness.get(f.doc, 0.0) for f in tied[:2])
        if first < t.example_close or first - second < t.example_lead:
            return found, frozenset()
        pick = tied[0]
        return [pick, *(f for f in found if f is not pick)], frozenset(f.doc for f in tied)

    def _rank(
        self,
        analysis: Analysis,
        weights: Mapping[str, float],
        scores: Mapping[int, float],
        heard: Mapping[int, float],
        alike: Mapping[int, float],
        limit: int,
    ) -> list[_Found]:
        """The best articles, best first, each also judged by its own words alone (without
        what its examples add).

        The best by BM25 are ranked again with how much of the query each one explains, as a
        whole, in one of its sections and in one section's heading: an article that matches
        one word strongly gives way to one that explains every word, and one with a section
        headed by the user's situation ("## The ranked button is greyed out") to one that
        names it in passing. The queries attached to an article add to its score as one more
        field, and an example like the query brings its article up.
        """
        t, explain, units = self._tuning, self._explain, analysis.units
        taught = bool(self._examples.taught)
        unit_weights = explain.weights(units)
        ceiling = sum(w * self._cap(tok) for tok, w in weights.items())
        # As many candidates whatever the limit: the best article does not depend on it.
        best = dict(heapq.nlargest(max(limit, _RERANKED), scores.items(), key=itemgetter(1)))
        best.update({d: scores.get(d, 0.0) for d in alike})
        scale = max(ceiling, *best.values(), 1e-9)  # the best share is at most 1
        own_scale = max(ceiling, *(raw - heard.get(d, 0.0) for d, raw in best.items()), 1e-9)
        found: list[_Found] = []
        for d, raw in best.items():
            cov = explain.coverage(d, units, unit_weights)
            own_cov = explain.coverage(d, units, unit_weights, learned=False) if taught else cov
            part = explain.section(d, units, unit_weights)
            heading = t.rank_heading * explain.heading(d, units, unit_weights)
            like = alike.get(d, 0.0)
            like = like if like >= t.example_sure else 0.0  # a near copy of the query
            score = max(t.w_norm * raw / scale + (1 - t.w_norm) * cov, like)
            key = raw / scale + t.rank_coverage * cov + t.rank_section * part + heading
            own = (raw - heard.get(d, 0.0)) / own_scale
            own_key = own + t.rank_coverage * own_cov + t.rank_section * part + heading
            own_score = t.w_norm * own + (1 - t.w_norm) * own_cov
            found.append(_Found(key + t.w_example * like, score, d, own_key, own_score, own_cov))
        found.sort(key=lambda f: (-f.key, self._docs[f.doc].id))
        return found

    def _confident(
        self,
        analysis: Analysis,
        found: Sequence[_Found],
        alike: Mapping[int, float],
        tied: frozenset[int] = frozenset(),
    ) -> bool:
        """Whether the best article is a confident answer (see Tuning for each condition).

        A copy of the query attached to an article makes it confident, and so does a near copy
        when the article's own words score at least half as well as the best article's (a
        query like one attached to an unrelated article is not that article's). Otherwise the
        articles' own words decide, as if nothing were attached: examples that put first an
        article that its own words do not leave it a suggestion, unless its own words tie it
        with the best (`tied`, when an example settled the tie: see _settle) and it leads the
        others.
        """
        t, explain = self._tuning, self._explain
        top = found[0]
        like = alike.get(top.doc, 0.0)
        best_own = max(f.own_score for f in found)
        if like >= t.example_copy or (
            like >= t.example_sure and top.own_score >= t.example_own * best_own
        ):
            return True
        if tied:  # an example settled a tie: the lead is over the untied articles
            others = [f.own_score for f in found if f.doc not in tied]
        elif top is not min(found, key=lambda f: (-f.own_key, self._docs[f.doc].id)):
            return False
        else:
            others = [f.own_score for f in found if f is not top]
        top_score, top_cov, doc = top.own_score, top.own_cov, top.doc
        runner_up = min(max(others, default=0.0), top_score)
        if top_score - runner_up < t.min_margin * top_score:
            return False
        units = analysis.units
        head = explain.coverage(doc, units, explain.weights(units), head=True, learned=False)
        return (
            (
                top_score >= t.min_score
                and top_cov >= t.min_coverage
                and (
                    head >= t.min_head
                    or (top_cov >= t.body_coverage and explain.subtopic(doc, units))
                )
            )
            or self._clear_winner(analysis, top_score, runner_up)
        ) and explain.specific(doc, units) >= t.min_specific_idf

    def _clear_winner(self, analysis: Analysis, score: float, runner_up: float) -> bool:
        """Whether a long, rambling query has one article far ahead of the others.

        A story of many sentences is only partly explained by any article (what happened
        before, when, how the user felt), so its coverage stays low even when one article
        plainly answers it: there a clear lead over the next article stands in for coverage.
        """
        t = self._tuning
        words = sum(not u.complaint for u in analysis.units[:MAX_UNITS])
        return (
            words >= t.long_units
            and score >= t.long_min_score
            and score >= t.long_lead * runner_up
        )

    def _cap(self, token: str) -> float:
        idf = self._idf.get(token, self._idf_unseen)
        return idf * (self._tuning.k1 + 1) * self._tuning.saturation

    def _hit(self, doc: int, score: float, lang: str | None) -> Hit:
        d = self._docs[doc]
        title = d.titles.get(lang or "") or next(iter(d.titles.values()))
        return Hit(d.id, round(score, 4), title, d.category)

    def _accumulate(self, weights: dict[str, float], heard: dict[int, float]) -> dict[int, float]:
        """Term-at-a-time scoring over the query's most telling tokens.

        Tokens found in a twentieth of a large help center weigh little (low idf) and would
        cost a pass over many articles each: they only add to the best candidates the rarer
        tokens found, which bounds the work per query whatever the size of the help center.
        """
        idf, unseen = self._idf, self._idf_unseen
        telling = sorted((-w * idf.get(tok, unseen), tok) for tok, w in weights.items())
        order = [tok for _, tok in telling[:_MAX_TOKENS]]
        broad_size = max(_BROAD_MIN, len(self._docs) // 20)
        acc: dict[int, float] = {}
        broad: list[str] = []
        for token in order:
            posting = self._postings.get(token)
            if posting and len(posting) > broad_size:
                broad.append(token)
            elif posting:
                _add(acc, posting, weights[token])
        for token in order:
            if (said := self._examples.said.get(token)) is not None:
                _add(acc, said, weights[token])
                _add(heard, said, weights[token])
        if not broad:
            return acc
        if not acc:
            _add(acc, self._postings[broad[0]], weights[broad[0]])
            broad = broad[1:]
        best = heapq.nlargest(_CANDIDATES, acc.items(), key=itemgetter(1))
        acc = dict(best)
        for token in broad:
            posting, w = self._postings[token], weights[token]
            for d in acc:
                acc[d] += w * posting.get(d, 0.0)
        return acc


def _add(acc: dict[int, float], posting: dict[int, float], weight: float) -> None:
    for d, impact in posting.items():
        acc[d] = acc.get(d, 0.0) + weight * impact


def search_jsonl(index: SearchIndex, lines: Iterable[str], limit: int) -> Iterator[str]:
    """One JSON line per input line: the query, the confident flag and the ranked ids."""
    for line in lines:
        query = line.rstrip("\r\n")
        result = index.search(query, limit=limit)
        yield json.dumps(
            {
                "query": query,
                "confident": result.confident,
                "results": [{"id": h.id, "score": h.score} for h in result.hits],
            },
            ensure_ascii=False,
        )
