"""The composition root: store, help center, engine, outbox and hub for the hosted platforms.

This module (with bot.cli, which calls it) is the one place in the core that imports adapters
(import-linter's contract names it as the exception): inside the functions that need them, so
that `kefu chat` runs without the platform extras installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot import dates
from bot.config import DB_NAME, Config, ConfigError
from bot.deployment import (
    MissingExtra,
    coordination,
    flood_rules,
    intake,
    missing,
    open_store,
)
from bot.engine import Engine
from bot.flows.delivery import DeliveryNotices
from bot.flows.turn import Services
from bot.hours import Hours
from bot.hub import Hub
from bot.leases import while_held
from bot.media import FileStore
from bot.memory import Allocator
from bot.outbox import GATHER_SECONDS, Outbox
from bot.ports import Adapter, Metrics
from bot.queries import StoreQueries
from bot.redact import Redactor
from bot.routes import Routes
from bot.scheduler import Scheduler
from bot.storage.base import Store
from bot.storage.records import OutboxItem, TaughtExample
from bot.texts import Texts
from bot.types import ChatRef
from knowledge.examples import Example
from knowledge.loader import ContentError, default_content_path, load_knowledge
from knowledge.models import KnowledgeBase
from knowledge.search import SearchIndex

if TYPE_CHECKING:
    from adapters.web import WebDesk

log = logging.getLogger(__name__)

__all__ = [
    "DB_NAME",
    "MissingExtra",
    "Runtime",
    "open_runtime",
    "open_store",
    "run_platforms",
    "serve",
]


def load_kb(config: Config) -> KnowledgeBase:
    """The configured help center, validated (raises knowledge.loader.ContentError)."""
    return load_knowledge(config.knowledge.path or default_content_path())


def build_index(kb: KnowledgeBase, examples: Sequence[TaughtExample] = ()) -> SearchIndex:
    """The search index over every article, with category names as context and the queries
    moderators attached to articles."""
    labels = {cid: tuple(c.labels.values()) for cid, c in kb.categories.items()}
    taught = [Example(e.query, e.article_id) for e in examples]
    return SearchIndex.build(kb.articles, kb.synonyms, labels, taught)


def kb_key(config: Config) -> str:
    """Which knowledge base misses and examples belong to: its folder, or the bundled one."""
    path = config.knowledge.path
    return str(path.resolve()) if path is not None else "bundled"


@dataclass
class Runtime:
    """Everything one process needs, opened together and closed together."""

    config: Config
    store: Store
    files: FileStore
    services: Services
    engine: Engine
    outbox: Outbox
    hub: Hub
    scheduler: Scheduler
    adapters: dict[str, Adapter] = field(default_factory=dict)
    examples_seen: int = 0  # the newest attached query the index has learned


def _hours(config: Config) -> Hours | None:
    try:
        return Hours.parse(config.handoff.hours, config.handoff.timezone)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"[handoff] hours/timezone: {exc}") from exc


@asynccontextmanager
async def open_runtime(
    config: Config,
    adapters: Sequence[Adapter],
    *,
    clock: Callable[[], float] = time.time,
    kb: KnowledgeBase | None = None,
    index: SearchIndex | None = None,
    accept: Callable[[OutboxItem], bool] | None = None,
    paged: Sequence[ChatRef] | None = None,
    metrics: Metrics | None = None,
) -> AsyncIterator[Runtime]:
    """Open the store and wire engine, outbox and hub for `adapters` (the hosted platforms).

    `paged`: the moderator chats to page, when not the configured ones (tests). `metrics`:
    where the hub and the outbox report what they do (the web desk's /metrics).
    """
    data_dir = config.bot.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if kb is None:
        kb = load_kb(config)
    async with AsyncExitStack() as stack:
        store = await open_store(config)
        stack.push_async_callback(store.close)
        taught = await store.examples(kb_key(config))
        if index is None:
            index = await asyncio.to_thread(build_index, kb, taught)
        await asyncio.to_thread(dates.warm)
        files = FileStore(data_dir, config.files_dir())
        hosted = {a.platform: a for a in adapters}
        svc = Services(
            store,
            kb,
            index,
            Texts(),
            config,
            clock,
            Routes.fixed(paged) if paged is not None else config.route_table(),
            _hours(config),
            lambda rel: str(files.path(rel)),
            {name: adapter.capabilities for name, adapter in hosted.items()},
            kb_key(config),
        )
        # KEFU_TEST_AUDIT_TURNS: tests record each turn's time under its lock (PostgresLocks).
        locks, gate = coordination(store, bool(os.environ.get("KEFU_TEST_AUDIT_TURNS")))
        engine = Engine(svc, locks, files.delete)
        redact = Redactor(
            [config.token(config.telegram.token_env), config.token(config.discord.token_env)]
        )
        rules = flood_rules(config)
        outbox = Outbox(
            store,
            hosted,
            clock,
            DeliveryNotices(svc),
            accept=accept,
            redact=redact,
            gate=gate,
            rules=rules,
            metrics=metrics,
            gather_seconds=GATHER_SECONDS if config.store.postgres else 0.0,
        )
        hub = Hub(
            engine,
            store,
            files,
            hosted,
            svc.texts,
            clock,
            outbox.wake,
            config.bot.max_image_bytes,
            redact,
            metrics,
        )
        scheduler = Scheduler(svc, outbox.wake, delete_file=files.delete)
        runtime = Runtime(config, store, files, svc, engine, outbox, hub, scheduler, hosted)
        runtime.examples_seen = max((e.id for e in taught), default=0)
        yield runtime


def desk_queries(runtime: Runtime) -> StoreQueries:
    """The read-only query port over the runtime's store and its current help center."""
    svc = runtime.services
    return StoreQueries(
        runtime.store,
        runtime.config,
        svc.clock,
        lambda: svc.kb,
        runtime.config.knowledge.path or default_content_path(),
        runtime.files.path,
    )


def content_stamp(config: Config) -> tuple[float, int]:
    """The newest modification time and the file count of the content folder."""
    root = config.knowledge.path or default_content_path()
    stamps = [p.stat().st_mtime for p in root.rglob("*") if p.is_file()]
    return (max(stamps, default=0.0), len(stamps))


async def reload_content(runtime: Runtime) -> bool:
    """Load the help center again; invalid content keeps the current one and logs why."""
    problems: list[str] = []
    try:
        kb = await asyncio.to_thread(load_kb, runtime.config)
        taught = await runtime.store.examples(runtime.services.kb_key)
        index = await asyncio.to_thread(build_index, kb, taught)
    except ContentError as exc:
        problems = exc.problems
    if problems:
        log.error(
            "help-center content is invalid; still serving the previous version:\n  %s",
            "\n  ".join(problems),
        )
        return False
    runtime.services.kb = kb
    runtime.services.index = index
    runtime.examples_seen = max((e.id for e in taught), default=0)
    settle_heap()
    log.info("help-center content reloaded: %d articles", len(kb.articles))
    return True


# Tracked objects allocated (net) between two collections of the youngest generation; Python's
# default is 700. A turn allocates a few thousand, nearly all freed by reference counting (the
# collections found ~1 cyclic object in 10,000), so at 700 the collector ran several times a
# turn, and every tenth of those a middle one, every tenth of those a full one over everything
# the process keeps: GC was ~40% of the CPU in benchmarks/engine.py (gc.callbacks: 8.5 s of a
# 35 s run; 1.3 s at 20,000). Cycles are still collected, a few times a second under load.
YOUNG_OBJECTS = 20_000


def settle_heap() -> None:
    """Put what is alive now (modules, the help center and its index, jieba's dictionary) out
    of the garbage collector's reach, once loading is done, and collect young objects less
    often (YOUNG_OBJECTS).

    A full collection otherwise walks all of it again and again: pauses of up to ~300 ms on
    the event loop under load, the p99 of benchmarks/engine.py. Objects freed by reference
    counting (an old index after a reload) are still freed.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])


async def learn_examples(runtime: Runtime) -> int:
    """Teach the index the queries attached since it last looked (in any process)."""
    fresh = await runtime.store.examples(runtime.services.kb_key, runtime.examples_seen)
    for example in fresh:
        runtime.services.teach(example.query, example.article_id)
        runtime.examples_seen = example.id
    return len(fresh)


async def watch_content(runtime: Runtime, every: float = 5.0) -> None:
    """Reload the help center when its files change (and on SIGHUP where signals exist); learn
    the queries moderators attached to articles meanwhile."""
    loop = asyncio.get_running_loop()
    hup = asyncio.Event()
    with contextlib.suppress(NotImplementedError, AttributeError, RuntimeError):
        loop.add_signal_handler(signal.SIGHUP, hup.set)
    stamp = await asyncio.to_thread(content_stamp, runtime.config)
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hup.wait(), every)
        fresh = await asyncio.to_thread(content_stamp, runtime.config)
        if hup.is_set() or fresh != stamp:
            hup.clear()
            stamp = fresh
            await reload_content(runtime)
        await learn_examples(runtime)


TRIM_EVERY = 60.0  # seconds between returning freed memory to the system (bot.memory)


async def keep_memory_flat(allocator: Allocator, every: float = TRIM_EVERY) -> None:
    """Return memory the allocator freed to the system, now and then (see bot.memory)."""
    while True:
        await asyncio.sleep(every)
        allocator.trim()


async def serve(
    runtime: Runtime, until: asyncio.Future[None] | None = None, *, watch: bool = False
) -> None:
    """Run the adapters, the outbox and the scheduler until cancelled (or `until` is done).

    What one process of a deployment does at a time runs under a lease in the store: the
    scheduler, and the intake of an adapter that allows only one receiver (Telegram's
    getUpdates, Discord's gateway), whose standby still sends. On SQLite this process holds
    every lease.
    """
    store = runtime.store
    async with asyncio.TaskGroup() as tg:
        tasks = [
            tg.create_task(runtime.outbox.run()),
            tg.create_task(while_held(store, "scheduler", runtime.scheduler.run)),
            tg.create_task(store.watch_outbox(runtime.outbox.wake)),
        ]
        if watch:
            tasks.append(tg.create_task(watch_content(runtime)))
            tasks.append(tg.create_task(keep_memory_flat(Allocator())))
        for adapter in runtime.adapters.values():
            tasks += [tg.create_task(job) for job in intake(store, adapter, runtime.hub.sink)]
        if until is not None:
            await until
            for task in tasks:
                task.cancel()


def platform_adapters(config: Config) -> list[Adapter]:
    """Create the enabled platform adapters (their SDKs are imported only when enabled)."""
    found: list[Adapter] = []
    texts = Texts()
    if config.telegram.enabled:
        try:
            from adapters import telegram as telegram_adapter
        except ModuleNotFoundError as exc:
            raise MissingExtra(missing("Telegram", "telegram", exc)) from exc
        if config.store.postgres:  # the outbox's gate paces every process's sends together
            config = dataclasses.replace(
                config, telegram=dataclasses.replace(config.telegram, rate_limit=False)
            )
        found.append(telegram_adapter.create(config, texts))
    if config.discord.enabled:
        try:
            from adapters import discord as discord_adapter
        except ModuleNotFoundError as exc:
            raise MissingExtra(missing("Discord", "discord", exc)) from exc
        found.append(discord_adapter.create(config, texts))
    return found


def web_desk(config: Config) -> WebDesk:
    """The web desk adapter (its libraries imported only when it is served)."""
    try:
        from adapters import web
    except ModuleNotFoundError as exc:
        raise MissingExtra(missing("The web desk", "web", exc)) from exc
    return web.create(config, Texts())


def _bind_web(runtime: Runtime, web: WebDesk) -> None:
    """Hand the web desk the query port, what its actions wait for (their answers), and the
    store, where its local accounts and session key are."""
    web.bind(desk_queries(runtime), lambda: runtime.outbox.drain(web.platform, 5.0), runtime.store)


async def run_web(config: Config) -> None:
    """`kefu web`: the web desk in a process of its own beside `kefu run` and `kefu desk`.

    It delivers only its own moderators' answers (the platforms' deliveries are `kefu run`'s)
    and runs no scheduler (paging again is `kefu run`'s too).
    """
    web = web_desk(config)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(web)
        runtime = await stack.enter_async_context(
            open_runtime(config, [web], accept=web.accepts, metrics=web.metrics)
        )
        _bind_web(runtime, web)
        settle_heap()
        async with asyncio.TaskGroup() as tg:
            tasks = [
                tg.create_task(runtime.outbox.run()),
                tg.create_task(web.run(runtime.hub.sink)),
            ]
            await _stop_on_signals()
            for task in tasks:
                task.cancel()
        log.info("kefu web stopped")


async def run_platforms(config: Config, adapters: Sequence[Adapter] | None = None) -> None:
    """`kefu run`: every enabled platform adapter with its resources, until interrupted."""
    Allocator().limit_arenas()  # before the helper threads start (bot.memory)
    adapters = list(platform_adapters(config) if adapters is None else adapters)
    web = web_desk(config) if config.web.enabled else None
    if web is not None:
        adapters.append(web)
    async with AsyncExitStack() as stack:
        for adapter in adapters:
            enter = getattr(adapter, "__aenter__", None)
            if enter is not None:
                await stack.enter_async_context(adapter)  # type: ignore[arg-type]
        runtime = await stack.enter_async_context(
            open_runtime(
                config,
                adapters,
                accept=web.accepts if web is not None else None,
                metrics=web.metrics if web is not None else None,
            )
        )
        if web is not None:
            _bind_web(runtime, web)
        settle_heap()
        log.info("kefu running: %s", ", ".join(a.platform for a in adapters))
        await serve(runtime, _stop_on_signals(), watch=True)
        log.info("kefu stopped")


def _stop_on_signals() -> asyncio.Future[None]:
    """A future done at the first SIGTERM or SIGINT (a service manager's stop, Ctrl-C); a
    second one interrupts at once, as Python does by default."""
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()

    def stopping(sig: signal.Signals) -> None:
        log.info("%s: stopping (again to stop at once)", sig.name)
        for each in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(each)
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals here
            loop.add_signal_handler(sig, stopping, sig)
    return stop
