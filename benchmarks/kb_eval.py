"""Evaluate Kefu's help-center search against two baselines on a labelled query set.

Usage: python benchmarks/kb_eval.py [--kb DIR] [--queries FILE] [--exclude FILE] [--limit K]

Prints, for Kefu's search and for two baselines a user might pick instead (rapidfuzz WRatio on
title + keywords; bm25s with jieba tokens on title + keywords + body), each baseline with the
abstain threshold that is best on the given queries: top-1, top-3 and MRR on answerable
queries, the share of unanswerable queries (expect []) not marked confident, "handled" over all
queries (answerable: top-1 right and confident; unanswerable: not confident), and p50/p99
latency per query; overall and per language. `--exclude FILE` leaves out the queries that are
also in FILE (for example a held-out split, so that the rest can be tuned on).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.loader import load_articles  # noqa: E402
from knowledge.models import Article  # noqa: E402
from knowledge.search import SearchIndex  # noqa: E402

DEFAULT_KB = ROOT.parent / "shared" / "kb-fixture"

# One ranked answer: ids best first, the top score, and the engine's own confident flag (None
# for a baseline, which abstains below a threshold chosen on the query set).
Ranked = tuple[list[str], float, bool | None]


@dataclass(frozen=True, slots=True)
class Query:
    """One labelled query."""

    q: str
    lang: str
    expect: frozenset[str]


@dataclass(slots=True)
class Run:
    """Every query's answer and latency for one engine."""

    name: str
    answers: list[Ranked]
    millis: list[float]
    threshold: float | None = None


def load_queries(path: Path) -> list[Query]:
    """Queries from a JSON Lines file."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            out.append(Query(obj["q"], obj["lang"], frozenset(obj["expect"])))
    return out


def run_engine(name: str, fn: Callable[[str], Ranked], queries: Sequence[Query]) -> Run:
    """Time every query through one engine."""
    answers, millis = [], []
    for q in queries:
        t0 = time.perf_counter()
        answers.append(fn(q.q))
        millis.append((time.perf_counter() - t0) * 1000)
    return Run(name, answers, millis)


def confident(answer: Ranked, threshold: float | None) -> bool:
    """The engine's flag, or the baseline's top score against its threshold."""
    ids, top, flag = answer
    if flag is not None:
        return flag
    return bool(ids) and threshold is not None and top >= threshold


def handled(q: Query, answer: Ranked, threshold: float | None) -> bool:
    """Answerable: top-1 right and confident; unanswerable: not confident."""
    sure = confident(answer, threshold)
    if not q.expect:
        return not sure
    return sure and bool(answer[0]) and answer[0][0] in q.expect


def best_threshold(run: Run, queries: Sequence[Query]) -> float:
    """The abstain threshold that handles the most queries (ties: the lowest)."""
    candidates = sorted({a[1] for a in run.answers} | {float("inf")})
    return max(
        candidates,
        key=lambda th: (
            sum(handled(q, a, th) for q, a in zip(queries, run.answers, strict=True)),
            -th,
        ),
    )


def rank_of(q: Query, ids: list[str]) -> int:
    """1-based rank of the first expected id in the top 10, or 0."""
    return next((i + 1 for i, x in enumerate(ids[:10]) if x in q.expect), 0)


def metrics(run: Run, queries: Sequence[Query], pick: Callable[[Query], bool]) -> dict[str, float]:
    """The figures for the queries that `pick` selects."""
    rows = [
        (q, a, ms) for q, a, ms in zip(queries, run.answers, run.millis, strict=True) if pick(q)
    ]
    answerable = [(q, a) for q, a, _ in rows if q.expect]
    unanswerable = [(q, a) for q, a, _ in rows if not q.expect]
    ranks = [rank_of(q, a[0]) for q, a in answerable]
    millis = sorted(ms for _, _, ms in rows)
    n_ans = max(len(answerable), 1)
    return {
        "n": len(rows),
        "top1": sum(r == 1 for r in ranks) / n_ans,
        "top3": sum(0 < r <= 3 for r in ranks) / n_ans,
        "mrr": sum(1 / r for r in ranks if r) / n_ans,
        "abstain": sum(not confident(a, run.threshold) for _, a in unanswerable)
        / max(len(unanswerable), 1),
        "handled": sum(handled(q, a, run.threshold) for q, a, _ in rows) / max(len(rows), 1),
        "p50": statistics.median(millis) if millis else 0.0,
        "p99": millis[min(len(millis) - 1, int(len(millis) * 0.99))] if millis else 0.0,
    }


def kefu_engine(articles: Sequence[Article], limit: int) -> Callable[[str], Ranked]:
    """Kefu's search."""
    index = SearchIndex.build(articles)

    def fn(text: str) -> Ranked:
        res = index.search(text, limit=limit)
        return [h.id for h in res.hits], res.hits[0].score if res.hits else 0.0, res.confident

    return fn


def by_id(articles: Sequence[Article]) -> dict[str, list[Article]]:
    """Articles grouped by id."""
    groups: dict[str, list[Article]] = {}
    for a in articles:
        groups.setdefault(a.id, []).append(a)
    return groups


def wratio_engine(articles: Sequence[Article], limit: int) -> Callable[[str], Ranked]:
    """Baseline: rapidfuzz WRatio of the query against each title + keywords (best language)."""
    from rapidfuzz import fuzz, process, utils

    versions = [(a.id, f"{a.title} {' '.join(a.keywords)}") for a in articles]
    texts = [text for _, text in versions]

    def fn(text: str) -> Ranked:
        found = process.extract(
            text[:500], texts, scorer=fuzz.WRatio, processor=utils.default_process, limit=None
        )
        best: dict[str, float] = {}
        for _, score, i in found:  # best first: the first score per id is its best
            best.setdefault(versions[i][0], score / 100)
        ranked = sorted(best, key=lambda art_id: -best[art_id])[:limit]
        return ranked, (best[ranked[0]] if ranked else 0.0), None

    return fn


def bm25s_engine(articles: Sequence[Article], limit: int) -> Callable[[str], Ranked]:
    """Baseline: bm25s over jieba tokens of title + keywords + body."""
    import bm25s
    import jieba

    jieba.setLogLevel(logging.WARNING)
    groups = by_id(articles)
    ids = list(groups)

    def tokens(text: str) -> list[str]:
        return [w for w in jieba.lcut(text.lower()) if w.strip() and w.isalnum()]

    corpus = [
        tokens(" ".join(f"{a.title} {' '.join(a.keywords)} {a.body}" for a in groups[i]))
        for i in ids
    ]
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    k = min(limit, len(ids))

    def fn(text: str) -> Ranked:
        toks = tokens(text[:500]) or ["\u2205"]
        docs, scores = retriever.retrieve([toks], k=k, show_progress=False)
        pairs = [(ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
        return [p[0] for p in pairs], (pairs[0][1] if pairs else 0.0), None

    return fn


def report(runs: Sequence[Run], queries: Sequence[Query]) -> None:
    """Print the table: overall, then per language."""
    langs = sorted({q.lang for q in queries})
    head = f"{'engine':<16}{'scope':<7}{'n':>4}{'top1':>7}{'top3':>7}{'MRR':>7}"
    print(head + f"{'abstain':>9}{'handled':>9}{'p50ms':>8}{'p99ms':>8}  threshold")
    for run in runs:
        th = "own flag" if run.threshold is None else f"{run.threshold:.3f}"
        for scope in ["all", *langs]:
            m = metrics(run, queries, lambda q, s=scope: s in ("all", q.lang))
            print(
                f"{run.name:<16}{scope:<7}{m['n']:>4.0f}{m['top1']:>7.3f}{m['top3']:>7.3f}"
                f"{m['mrr']:>7.3f}{m['abstain']:>9.3f}{m['handled']:>9.3f}"
                f"{m['p50']:>8.2f}{m['p99']:>8.2f}  {th}"
            )
    kefu = metrics(runs[0], queries, lambda q: True)["handled"]
    best = max(metrics(r, queries, lambda q: True)["handled"] for r in runs[1:])
    print(f"kefu handled {kefu:.3f}, better baseline {best:.3f}, margin {kefu - best:+.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the three engines and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=DEFAULT_KB)
    parser.add_argument("--queries", type=Path, default=None)
    parser.add_argument("--exclude", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=10)
    args = parser.parse_args(argv)
    queries_path = args.queries or args.kb / "queries-dev.jsonl"
    if not (args.kb / "articles").is_dir() or not queries_path.is_file():
        parser.error(f"need {args.kb}/articles and {queries_path}")
    articles = load_articles(args.kb)
    queries = load_queries(queries_path)
    if args.exclude is not None:
        held = {q.q for q in load_queries(args.exclude)}
        queries = [q for q in queries if q.q not in held]
    runs = []
    for name, make in (
        ("kefu", kefu_engine),
        ("wratio", wratio_engine),
        ("bm25s+jieba", bm25s_engine),
    ):
        fn = make(articles, args.limit)
        fn("warm up")
        run = run_engine(name, fn, queries)
        if name != "kefu":
            run.threshold = best_threshold(run, queries)
        runs.append(run)
    report(runs, queries)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
