"""The index tables: BM25F impacts per token and article, idf, and the ranking constants."""

from __future__ import annotations

import math
import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.models import Article
from knowledge.passages import Passages, read_body, sections
from knowledge.terms import Lexicon
from knowledge.text import doc_tokens, normalize

FIELDS = ("title", "keywords", "body", "category")
# From this many articles on, a body word found in over a quarter of them is not indexed.
_LARGE = 1000


@dataclass(frozen=True, slots=True)
class Tuning:
    """Ranking and confidence constants; the defaults are the shipped ones."""

    weights: tuple[float, ...] = (3.0, 3.0, 1.0, 1.0)  # per field, in FIELDS order
    b: tuple[float, ...] = (0.5, 0.3, 0.75, 0.0)
    k1: float = 1.2
    k1_body: float = 1.2
    literal_body_idf: float = 0.7
    w_term: float = 1.0
    w_concept: float = 1.0
    w_inner: float = 0.5  # a concept only found inside a longer term of another concept
    w_bigram: float = 1.0
    w_weak_bigram: float = 0.3
    w_number: float = 0.3
    w_unigram: float = 0.2
    w_covered: float = 0.5
    saturation: float = 0.75  # share of the BM25 ceiling that counts as a full match
    w_norm: float = 0.5  # a hit's score blends its share of the ceiling and its coverage
    rank_coverage: float = 0.25  # ranking adds this times the coverage to the share of ceiling
    rank_section: float = 0.5  # and this times the share of the query one section explains
    rank_heading: float = 0.5  # and this times the share one section's heading explains
    w_complaint: float = 2.0  # a complaint word weighs this many unknown words
    w_bare: float = 0.5  # coverage of a query word with concepts by the bare word alone
    w_made_up: float = 0.5  # share of an unknown word's weight for a word jieba made up
    min_score: float = 0.2  # confident: the best hit scores this much,
    min_coverage: float = 0.2  # explains this share of the query,
    min_head: float = 0.05  # and its title or keywords explain this share, or else
    body_coverage: float = 0.5  # it explains this share with its body alone
    body_concept_idf: float = 2.5  # through a concept this rare (a subtopic: "价保", "退订");
    long_units: int = 10  # or, for a query of this many content words or more (a long story),
    long_min_score: float = 0.15  # the best hit scores this much
    long_lead: float = 1.4  # and this many times the next one's score;
    # and either way it explains a query word through a token this rare (in under about a
    # sixth of the articles), not only through words that most articles hold ("app", "post")
    min_specific_idf: float = 1.75
    # and the best article leads the next one by this share of its score.
    min_margin: float = 0.05
    # The queries attached to an article (examples) are one more field of it, of this weight
    # (the body's is 1); the words no article holds that they bring weigh this (as a title).
    w_examples: float = 0.25
    w_taught: float = 3.0
    example_min: float = 0.3  # an article with an example this like the query is a candidate,
    example_sure: float = 0.6  # and one this like it (a near copy) comes first (ranking adds
    w_example: float = 1.0  # this times the likeness) and is confident if its own words
    example_own: float = 0.5  # score this share of the best article's, or if the example is
    example_copy: float = 0.9  # this like the query (a copy: the moderator's own answer to it)
    # Articles whose own scores are within this share of the best one's are tied (siblings:
    # "change the bound phone", "lost the bound phone"); when the articles' own words leave
    # the query unconfident, the tied article with an example this like the query, more like
    # it by example_lead than any other tied article's, goes first and may be confident.
    example_tie: float = 0.2
    example_close: float = 0.45
    example_lead: float = 0.05


@dataclass(frozen=True, slots=True)
class Doc:
    id: str
    category: str
    titles: dict[str, str]


def load_lexicon() -> list[tuple[str, ...]]:
    """The built-in bilingual synonym groups from knowledge/lexicon/synonyms.toml."""
    path = Path(__file__).parent / "lexicon" / "synonyms.toml"
    return parse_synonyms(path.read_text(encoding="utf-8"))


def parse_synonyms(text: str) -> list[tuple[str, ...]]:
    """Synonym groups from TOML text of `[[group]] terms = [...]` tables."""
    data = tomllib.loads(text)
    groups = data.get("group", [])
    return [
        tuple(str(t) for t in g.get("terms", ()) if str(t).strip())
        for g in groups
        if isinstance(g, dict)
    ]


@dataclass(slots=True)
class Builder:
    """Collects per-field token counts for each article id."""

    lexicon: Lexicon
    body_words: Set[str]
    passages: Passages = field(default_factory=Passages)
    docs: list[Doc] = field(default_factory=list)
    counts: list[tuple[Counter[str], ...]] = field(default_factory=list)
    words: Counter[str] = field(default_factory=Counter)

    def add(self, group: Sequence[Article], labels: Sequence[str], bodies: Sequence[str]) -> None:
        """Index every language version of one article id as one document, and its sections;
        `bodies` are their bodies (without their clauses about other articles)."""
        first = group[0]
        texts = (
            "\n".join(a.title for a in group),
            "\n".join(" | ".join(a.keywords) for a in group),
            "",
            " | ".join([first.category.replace("/", " ").replace("-", " "), *labels]),
        )
        seen: set[str] = set()
        parts = [part for body in bodies for part in sections(normalize(body))]
        body, held = read_body(parts, self.lexicon, seen, self.body_words)
        self.passages.add(held)
        fields = [
            body if name == "body" else doc_tokens(normalize(text), self.lexicon, seen)
            for name, text in zip(FIELDS, texts, strict=True)
        ]
        self.counts.append(tuple(fields))
        self.words.update(seen)
        self.docs.append(Doc(first.id, first.category, {a.lang: a.title for a in group}))


@dataclass(frozen=True, slots=True)
class Tables:
    """Token → article → impact; each article's head tokens; token → idf."""

    postings: dict[str, dict[int, float]]
    heads: list[frozenset[str]]
    idf: dict[str, float]


def postings(counts: list[tuple[Counter[str], ...]], t: Tuning) -> Tables:
    """BM25F impacts per token and article, each token's idf, and each article's head tokens.

    The head (title, keywords, category) and the body are scored apart, each with its own
    idf: nearly every body says "contact support", yet a title that says it is about support.
    Document frequencies come first, so each article's impacts are computed in one pass.
    """
    n = len(counts)
    body = FIELDS.index("body")
    sizes = [[c.total() for c in doc] for doc in counts]
    avg = [max(1.0, sum(s[f] for s in sizes) / max(n, 1)) for f in range(len(FIELDS))]

    def scale(d: int, f: int) -> float:
        return t.weights[f] / (1 - t.b[f] + t.b[f] * sizes[d][f] / avg[f])

    heads: list[dict[str, float]] = []
    for d, doc in enumerate(counts):
        head: dict[str, float] = {}
        for f in (f for f in range(len(FIELDS)) if f != body):
            x = scale(d, f)
            for tok, c in doc[f].items():
                head[tok] = head.get(tok, 0.0) + c * x
        heads.append(head)
    df_head: Counter[str] = Counter()
    df_body: Counter[str] = Counter()
    for d, doc in enumerate(counts):
        df_head.update(heads[d].keys())  # a keys view, not a mapping: counted in C
        df_body.update(doc[body].keys())
    # A plain word's weight in a title also heeds how common it is in bodies ("send" is in
    # one title but many bodies); a lexicon concept's does not (it was chosen as a topic).
    a = t.literal_body_idf
    idf_head = {
        tok: _idf(n, df)
        if tok[0] == "~"
        else (1 - a) * _idf(n, df) + a * _idf(n, max(df, df_body.get(tok, 0)))
        for tok, df in df_head.items()
    }
    idf_body = {tok: _idf(n, df) for tok, df in df_body.items()}
    # In a large help center a body word found in over a quarter of the articles says little
    # (idf < 1.1) and such words fill half the index: they are left out of bodies.
    idf_body_kept = {tok: w for tok, w in idf_body.items() if n < _LARGE or df_body[tok] <= n // 4}
    impacts: dict[str, dict[int, float]] = {}
    for d, doc in enumerate(counts):
        scores = _bm25(doc[body], idf_body_kept, t.k1_body, scale(d, body))
        for tok, v in _bm25(heads[d], idf_head, t.k1, 1.0).items():
            scores[tok] = scores.get(tok, 0.0) + v
        for tok, v in scores.items():
            slot = impacts.get(tok)
            if slot is None:
                impacts[tok] = {d: v}
            else:
                slot[d] = v
    idf = idf_body | {tok: max(w, idf_body.get(tok, 0.0)) for tok, w in idf_head.items()}
    return Tables(impacts, [frozenset(h) for h in heads], idf)


def _bm25(
    tf: Mapping[str, float], idf: Mapping[str, float], k1: float, scale: float
) -> dict[str, float]:
    """BM25 impacts of one field group of one article (tf scaled by field weight and length)."""
    return {
        tok: w * c * scale * (k1 + 1) / (k1 + c * scale)
        for tok, c in tf.items()
        if (w := idf.get(tok)) is not None
    }


def _idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))
