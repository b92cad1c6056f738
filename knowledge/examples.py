"""Learning from use: queries a moderator attached to the article that answers them.

A query that ended in "not solved", in a handoff right after an article, or that found nothing
is kept; a moderator attaches it to the right article, and from then on a query like it leads
there. "Like it" is measured on the words both hold, each weighed by how rare it is in the help
center (a word no article uses, such as slang or a product's nickname, weighs the most), from
both sides: a long story that shares one common word with an example is not like it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

# A word of a query: its weight (idf) and the keys it matches through (token, concepts).
Word = tuple[float, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Example:
    """A user's query attached to the article that answers it."""

    query: str
    article_id: str


@dataclass(slots=True)
class ExampleField:
    """The attached queries, each with its weighed words, and an inverted index over them."""

    examples: list[Example] = field(default_factory=list)
    _docs: list[int] = field(default_factory=list)
    _weights: list[list[float]] = field(default_factory=list)  # of each example's words
    _totals: list[float] = field(default_factory=list)
    # A word's token or one of its concepts → the examples and which of their words hold it.
    _by_key: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    # The words an example taught its article (ones no article held): token → articles; the
    # article explains them from then on.
    taught: dict[str, set[int]] = field(default_factory=dict)
    # Every example's tokens (as a query weighs them) summed per article: article → token →
    # weight, the term frequencies of a low-weight "examples" field of the article.
    terms: dict[int, dict[str, float]] = field(default_factory=dict)
    # That field's impacts: token → article → impact, scored with the article's other fields.
    said: dict[str, dict[int, float]] = field(default_factory=dict)

    def add(self, example: Example, doc: int, words: Sequence[Word], new: Iterable[str]) -> None:
        """Keep an example for article `doc`, with its words (each weighed by idf), and the
        tokens it teaches the article (`new`: ones no article holds)."""
        for token in new:
            self.taught.setdefault(token, set()).add(doc)
        n = len(self.examples)
        self.examples.append(example)
        self._docs.append(doc)
        self._weights.append([w for w, _ in words])
        self._totals.append(sum(w for w, _ in words))
        for i, (_, keys) in enumerate(words):
            for key in keys:
                self._by_key.setdefault(key, []).append((n, i))

    def note(self, doc: int, weights: Mapping[str, float]) -> dict[str, float]:
        """Add an example's token weights to its article's field; the field's terms."""
        terms = self.terms.setdefault(doc, {})
        for token, weight in weights.items():
            terms[token] = terms.get(token, 0.0) + weight
        return terms

    def impacts(self, doc: int, impacts: Mapping[str, float]) -> None:
        """Set the impacts of an article's examples field."""
        for token, impact in impacts.items():
            self.said.setdefault(token, {})[doc] = impact

    def holds(self, doc: int, token: str) -> bool:
        """Whether an example taught an article a token."""
        return doc in self.taught.get(token, ())

    def similar(self, words: Sequence[Word], least: float = 0.0) -> dict[int, float]:
        """For each article with an example like the query (at least `least`): the best
        likeness, 0..1.

        Likeness is the weight of the words each side shares with the other over the weight
        of all their words (Dice); a word is shared through its token or one of its concepts,
        and counts once however many of them match.
        """
        mine: dict[int, float] = {}  # example → weight of the query's words it shares
        theirs: dict[int, set[int]] = {}  # example → its words the query shares
        for weight, keys in words:
            found: set[int] = set()
            for key in keys:
                for n, i in self._by_key.get(key, ()):
                    found.add(n)
                    theirs.setdefault(n, set()).add(i)
            for n in found:
                mine[n] = mine.get(n, 0.0) + weight
        total = sum(w for w, _ in words)
        best: dict[int, float] = {}
        for n, weight in mine.items():
            shared = weight + sum(self._weights[n][i] for i in theirs[n])
            likeness = shared / (total + self._totals[n])
            doc = self._docs[n]
            if likeness >= max(least, best.get(doc, 0.0)):
                best[doc] = likeness
        return best


def examples_jsonl(examples: Iterable[Example]) -> Iterator[str]:
    """One JSON line per example, `{"query": ..., "article": ...}` (for `kefu kb examples
    export`)."""
    for example in examples:
        yield json.dumps(
            {"query": example.query, "article": example.article_id}, ensure_ascii=False
        )


def parse_examples_jsonl(lines: Iterable[str]) -> list[Example]:
    """The examples of JSON lines written by `examples_jsonl` (blank lines skipped).

    Raises ValueError naming the line of the first one that is not such an object.
    """
    out: list[Example] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {n}: not JSON: {exc}") from exc
        query, article = (
            (obj.get("query"), obj.get("article")) if isinstance(obj, dict) else (0, 0)
        )
        shaped = isinstance(query, str) and isinstance(article, str)
        if not shaped:
            raise ValueError(f'line {n}: expected {{"query": "...", "article": "..."}}')
        out.append(Example(str(query), str(article)))
    return out
