"""Evaluate Kefu's help-center search on several help centers side by side.

Usage: python benchmarks/kb_eval.py [--kb DIR --queries FILE [--synonyms FILE|none]]... [--limit K]
                                   [--misses] [--folds K]

With no --kb, the two shared fixtures beside the repository: ../shared/kb-fixture (the bundled
help center's twin, searched with the bundled knowledge/content/synonyms.toml) and
../shared/kb-fixture-2 (a help center the search was never tuned on, with no synonyms.toml).
Each --kb takes the --queries and --synonyms given after it (default: DIR/queries-dev.jsonl and
DIR/synonyms.toml when present; `none` for none).

For each help center it prints, for Kefu and for bm25s over jieba tokens (the baseline, with
the abstain threshold that is best on the very queries it is scored on, which flatters it):
top-1, top-3 and MRR on answerable queries, abstention on unanswerable ones (expect []),
"handled" (answerable: top-1 right and confident; unanswerable: not confident) and p50/p99
latency; overall, per language, and on two halves of its own discipline (even lines "tune",
odd lines "check": the method is tuned on the first and checked on the second). Then Kefu's
queries per class (confident and right, right but not confident, confident and wrong, wrong and
not confident, unanswerable answered confidently), and the replay of learning from use: the
expected article of every query of the first half that was not handled is attached as an
example, and the second half is run again. With --misses, every query Kefu does not handle is
listed with its class, half, the rank of the expected article and the two best hits (a
confusion list: which articles take which queries). With --folds K, a K-fold check of
learning from use: the queries are dealt into K folds (query i to fold i mod K); each fold is
searched with every answerable query of the other folds attached to its expected article, and
the folds' classes are summed (against the same folds searched with nothing attached).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.loader import load_articles  # noqa: E402
from knowledge.models import Article  # noqa: E402
from knowledge.search import SearchIndex, parse_synonyms  # noqa: E402

SHARED = ROOT.parent / "shared"
BUNDLED_SYNONYMS = ROOT / "knowledge" / "content" / "synonyms.toml"
DEFAULTS = (
    (SHARED / "kb-fixture", BUNDLED_SYNONYMS),
    (SHARED / "kb-fixture-2", None),
)

# One ranked answer: ids best first, the top score, and the engine's own confident flag (None
# for the baseline, which abstains below a threshold chosen on the query set).
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


@dataclass(slots=True)
class HelpCenter:
    """One help center to evaluate: its articles, queries and synonyms."""

    name: str
    articles: list[Article]
    queries: list[Query]
    synonyms: list[tuple[str, ...]] = field(default_factory=list)


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


def verdict(q: Query, answer: Ranked, threshold: float | None) -> str:
    """The query's class: CR, RN, CW, WN (answerable) or UC, US (unanswerable)."""
    sure = confident(answer, threshold)
    if not q.expect:
        return "UC" if sure else "US"
    right = bool(answer[0]) and answer[0][0] in q.expect
    return ("C" if sure else "") + ("R" if right else "W") + ("" if sure else "N")


def handled(q: Query, answer: Ranked, threshold: float | None) -> bool:
    """Answerable: top-1 right and confident; unanswerable: not confident."""
    return verdict(q, answer, threshold) in ("CR", "US")


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


def metrics(run: Run, queries: Sequence[Query], pick: Callable[[int], bool]) -> dict[str, float]:
    """The figures for the queries whose position `pick` selects."""
    rows = [
        (q, a, ms)
        for i, (q, a, ms) in enumerate(zip(queries, run.answers, run.millis, strict=True))
        if pick(i)
    ]
    answerable = [(q, a) for q, a, _ in rows if q.expect]
    unanswerable = [(q, a) for q, a, _ in rows if not q.expect]
    ranks = [rank_of(q, a[0]) for q, a in answerable]
    millis = sorted(ms for _, _, ms in rows)
    n_ans = max(len(answerable), 1)
    classes = [verdict(q, a, run.threshold) for q, a, _ in rows]
    return {
        "n": len(rows),
        "top1": sum(r == 1 for r in ranks) / n_ans,
        "top3": sum(0 < r <= 3 for r in ranks) / n_ans,
        "mrr": sum(1 / r for r in ranks if r) / n_ans,
        "abstain": sum(not confident(a, run.threshold) for _, a in unanswerable)
        / max(len(unanswerable), 1),
        "handled": sum(c in ("CR", "US") for c in classes) / max(len(rows), 1),
        "cw": classes.count("CW") / n_ans,
        "uc": classes.count("UC") / max(len(unanswerable), 1),
        "p50": statistics.median(millis) if millis else 0.0,
        "p99": millis[min(len(millis) - 1, int(len(millis) * 0.99))] if millis else 0.0,
        **{c: float(classes.count(c)) for c in ("CR", "RN", "CW", "WN", "UC", "US")},
    }


def kefu_engine(center: HelpCenter, limit: int) -> tuple[SearchIndex, Callable[[str], Ranked]]:
    """Kefu's search over a help center, and the index (to teach it examples)."""
    index = SearchIndex.build(center.articles, center.synonyms)

    def fn(text: str) -> Ranked:
        res = index.search(text, limit=limit)
        return [h.id for h in res.hits], res.hits[0].score if res.hits else 0.0, res.confident

    return index, fn


def bm25s_engine(articles: Sequence[Article], limit: int) -> Callable[[str], Ranked]:
    """Baseline: bm25s over jieba tokens of title + keywords + body."""
    import bm25s
    import jieba

    jieba.setLogLevel(logging.WARNING)
    groups: dict[str, list[Article]] = {}
    for a in articles:
        groups.setdefault(a.id, []).append(a)
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


SCOPES: dict[str, Callable[[Query, int], bool]] = {
    "all": lambda q, i: True,
    "tune": lambda q, i: i % 2 == 0,
    "check": lambda q, i: i % 2 == 1,
    "zh-CN": lambda q, i: q.lang == "zh-CN",
    "en": lambda q, i: q.lang == "en",
}


def table(center: HelpCenter, runs: Sequence[Run]) -> list[str]:
    """One help center's figures, overall, per half and per language, for each engine."""
    out = [
        f"== {center.name}: {len(center.articles)} articles, {len(center.queries)} queries",
        f"{'engine':<12}{'scope':<7}{'n':>4}{'top1':>7}{'top3':>7}{'MRR':>7}{'abstain':>8}"
        f"{'handled':>8}{'confW':>7}{'unansC':>7}{'p50ms':>7}{'p99ms':>7}  threshold",
    ]
    for run in runs:
        th = "own flag" if run.threshold is None else f"{run.threshold:.3f} (oracle)"
        for scope, pick in SCOPES.items():
            m = metrics(run, center.queries, lambda i, p=pick: p(center.queries[i], i))
            out.append(
                f"{run.name:<12}{scope:<7}{m['n']:>4.0f}{m['top1']:>7.3f}{m['top3']:>7.3f}"
                f"{m['mrr']:>7.3f}{m['abstain']:>8.3f}{m['handled']:>8.3f}{m['cw']:>7.3f}"
                f"{m['uc']:>7.3f}{m['p50']:>7.2f}{m['p99']:>7.2f}  {th}"
            )
    kefu = metrics(runs[0], center.queries, lambda i: True)
    base = metrics(runs[1], center.queries, lambda i: True)
    out.append(
        f"kefu handled {kefu['handled']:.3f}, bm25s+jieba {base['handled']:.3f}, "
        f"margin {kefu['handled'] - base['handled']:+.3f}"
    )
    out.append("per class (kefu): " + classes_line(kefu))
    return out


def classes_line(m: dict[str, float]) -> str:
    """The counts per class of one scope."""
    answerable = m["CR"] + m["RN"] + m["CW"] + m["WN"]
    return (
        f"answerable {answerable:.0f}: confident+right {m['CR']:.0f}, right not confident "
        f"{m['RN']:.0f}, confident+wrong {m['CW']:.0f}, wrong not confident {m['WN']:.0f}; "
        f"unanswerable {m['UC'] + m['US']:.0f}: answered confidently {m['UC']:.0f}"
    )


def replay(center: HelpCenter, limit: int) -> list[str]:
    """Attach the misses of the first half as examples; the second half before and after."""
    index, fn = kefu_engine(center, limit)
    half = len(center.queries) // 2
    first, second = center.queries[:half], center.queries[half:]
    before = run_engine("before", fn, second)
    taught: set[str] = set()  # the articles that got an example
    attached = 0
    for q, answer in zip(first, run_engine("first", fn, first).answers, strict=True):
        if q.expect and verdict(q, answer, None) != "CR":
            index.add_example(q.q, sorted(q.expect)[0])
            taught.add(sorted(q.expect)[0])
            attached += 1
    after = run_engine("after", fn, second)
    # What the examples can help at most: the misses that ask for an article that got one.
    reach = sum(
        bool(q.expect & taught) and not handled(q, answer, None)
        for q, answer in zip(second, before.answers, strict=True)
    )
    out = [
        f"replay: {attached} misses of the first {half} queries attached; second half "
        f"({reach} of its misses ask for an article that got an example):"
    ]
    for run in (before, after):
        m = metrics(run, second, lambda i: True)
        out.append(
            f"  {run.name:<7} handled {m['handled']:.3f}  top1 {m['top1']:.3f}  "
            f"confW {m['cw']:.3f}  unansC {m['uc']:.3f}  ({classes_line(m)})"
        )
    return out


def folds(center: HelpCenter, limit: int, k: int) -> list[str]:
    """Each fold searched with the other folds' answerable queries attached, summed."""
    none = metrics(
        run_engine("none", kefu_engine(center, limit)[1], center.queries),
        center.queries,
        lambda i: True,
    )
    answers: list[Ranked] = [([], 0.0, None)] * len(center.queries)
    for fold in range(k):
        index, fn = kefu_engine(center, limit)
        for i, q in enumerate(center.queries):
            if i % k != fold and q.expect:
                index.add_example(q.q, sorted(q.expect)[0])
        for i, q in enumerate(center.queries):
            if i % k == fold:
                answers[i] = fn(q.q)
    taught = metrics(Run("taught", answers, [0.0] * len(answers)), center.queries, lambda i: True)
    out = [f"{k}-fold (each fold with the other folds' answerable queries attached):"]
    for name, m in (("none", none), ("taught", taught)):
        out.append(
            f"  {name:<7} handled {m['handled']:.3f}  top1 {m['top1']:.3f}  "
            f"confW {m['CW']:.0f}  unansC {m['UC']:.0f}  ({classes_line(m)})"
        )
    return out


def misses(center: HelpCenter, run: Run) -> list[str]:
    """Each query Kefu does not handle: class, half, rank of the expected id, best two hits."""
    out = [f"misses ({center.name.split(' ')[0]}): class half rank query -> expected | got"]
    for i, (q, answer) in enumerate(zip(center.queries, run.answers, strict=True)):
        if not handled(q, answer, None):
            got = ", ".join(answer[0][:2]) or "-"
            out.append(
                f"  {verdict(q, answer, None):<3}{('tune', 'check')[i % 2]:<6}"
                f"{rank_of(q, answer[0]):>2}  {q.q[:60]!r} -> {','.join(sorted(q.expect)) or '[]'}"
                f" | {got}"
            )
    return out


def evaluate(
    center: HelpCenter, limit: int, show_misses: bool = False, k: int = 0
) -> tuple[list[str], list[dict[str, float]]]:
    """Every figure of one help center, and Kefu's and the baseline's overall figures."""
    _, fn = kefu_engine(center, limit)
    fn("warm up")
    kefu = run_engine("kefu", fn, center.queries)
    base_fn = bm25s_engine(center.articles, limit)
    base = run_engine("bm25s+jieba", base_fn, center.queries)
    base.threshold = best_threshold(base, center.queries)
    overall = [
        metrics(run, center.queries, lambda i, p=pick: p(center.queries[i], i))
        for run in (kefu, base)
        for pick in (SCOPES["all"], SCOPES["tune"], SCOPES["check"])
    ]
    shown = misses(center, kefu) if show_misses else []
    checked = folds(center, limit, k) if k > 1 else []
    return [*table(center, [kefu, base]), *replay(center, limit), *checked, *shown], overall


SUMMARY = (
    ("handled (target >= 0.92)", "handled"),
    ("top-1", "top1"),
    ("confident+wrong / answerable (<= 0.03)", "cw"),
    ("unanswerable answered confidently (<= 0.10)", "uc"),
    ("p99 ms (<= 5)", "p99"),
)


def side_by_side(names: Sequence[str], overall: Sequence[list[dict[str, float]]]) -> list[str]:
    """Kefu's headline figures for every help center in one table: all / tune / check."""
    head = f"{'':<44}" + "".join(f"{n[:26]:>27}" for n in names)
    out = ["== side by side: kefu all / tune / check (bm25s+jieba all)", head]
    for label, key in SUMMARY:
        cells = []
        for runs in overall:
            k_all, k_tune, k_check, b_all = runs[0][key], runs[1][key], runs[2][key], runs[3][key]
            cells.append(f"{k_all:.3f}/{k_tune:.3f}/{k_check:.3f} ({b_all:.3f})")
        out.append(f"{label:<44}" + "".join(f"{c:>27}" for c in cells))
    return out


def centers(argv: Sequence[str] | None) -> tuple[list[HelpCenter], argparse.Namespace]:
    """The help centers named on the command line (or the defaults) and the options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--kb", type=Path, action="append", default=[])
    parser.add_argument("--queries", type=Path, action="append", default=[])
    parser.add_argument("--synonyms", action="append", default=[])
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--misses", action="store_true", help="list the queries not handled")
    parser.add_argument("--folds", type=int, default=0, help="k-fold check of learning")
    args = parser.parse_args(argv)
    given = [(kb, None) for kb in args.kb] if args.kb else list(DEFAULTS)
    out = []
    for n, (kb, default_syn) in enumerate(given):
        queries = args.queries[n] if n < len(args.queries) else kb / "queries-dev.jsonl"
        syn = args.synonyms[n] if n < len(args.synonyms) else None
        syn_path = (
            None
            if syn == "none"
            else Path(syn)
            if syn
            else default_syn
            or (kb / "synonyms.toml" if (kb / "synonyms.toml").is_file() else None)
        )
        if not (kb / "articles").is_dir() or not queries.is_file():
            parser.error(f"need {kb}/articles and {queries}")
        synonyms = parse_synonyms(syn_path.read_text("utf-8")) if syn_path else []
        name = f"{kb.name} (synonyms: {syn_path.name if syn_path else 'none'})"
        out.append(HelpCenter(name, load_articles(kb), load_queries(queries), synonyms))
    return out, args


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate every help center and print the figures, one block each."""
    found, args = centers(argv)
    overall = []
    for center in found:
        lines, figures = evaluate(center, args.limit, args.misses, args.folds)
        print("\n".join(lines))
        print()
        overall.append(figures)
    print("\n".join(side_by_side([c.name.split(" ")[0] for c in found], overall)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
