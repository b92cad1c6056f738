"""Learning from use: queries a moderator attached to the article that answers them.

A query that ended in "not solved", in a handoff right after an article, or that found nothing
is kept; a moderator attaches it to the right article, and from then on a query like it leads
there. "Like it" is measured on the words both hold, each weighed by how rare it is in the help
center (a word no article uses, such as slang or a product's nickname, weighs the most), from
both sides: a long story that shares one common word with an example is not like it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field


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
    _weights: list[Mapping[str, float]] = field(default_factory=list)
    _totals: list[float] = field(default_factory=list)
    _by_token: dict[str, list[int]] = field(default_factory=dict)
    # The words an example taught its article (ones the article did not hold): token → article
    # → impact, scored like the article's own keywords.
    taught: dict[str, dict[int, float]] = field(default_factory=dict)

    def add(
        self, example: Example, doc: int, tokens: Mapping[str, float], new: Mapping[str, float]
    ) -> None:
        """Keep an example for article `doc`, with its tokens and their weights (idf), and the
        impacts of the tokens the article lacked (`new`)."""
        for token, impact in new.items():
            slot = self.taught.setdefault(token, {})
            slot[doc] = max(slot.get(doc, 0.0), impact)
        n = len(self.examples)
        self.examples.append(example)
        self._docs.append(doc)
        self._weights.append(dict(tokens))
        self._totals.append(sum(tokens.values()))
        for token in tokens:
            self._by_token.setdefault(token, []).append(n)

    def holds(self, doc: int, token: str) -> bool:
        """Whether an example taught an article a token."""
        return doc in self.taught.get(token, ())

    def similar(self, tokens: Mapping[str, float]) -> dict[int, float]:
        """For each article with an example like the query: the best likeness, 0..1.

        Likeness is the weight of the shared tokens over the mean weight of the two (Dice).
        """
        shared: dict[int, float] = {}
        for token, weight in tokens.items():
            for n in self._by_token.get(token, ()):
                shared[n] = shared.get(n, 0.0) + weight
        total = sum(tokens.values())
        best: dict[int, float] = {}
        for n, weight in shared.items():
            likeness = 2 * weight / (total + self._totals[n])
            doc = self._docs[n]
            best[doc] = max(best.get(doc, 0.0), likeness)
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
