"""How the processes of a deployment share the work: the store the configuration names, one
turn at a time per conversation and the platforms' flood limits (in this process on SQLite, in
the database on PostgreSQL), and the intake that one process at a time may run (a lease).

Part of the composition root (bot.app): it imports the PostgreSQL store only when the
configuration names one, so that `kefu chat` needs nothing installed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from bot.config import Config
from bot.flood import FloodGate, FloodRule, MemoryFloodGate, platform_limits
from bot.leases import while_held
from bot.locks import InProcessLocks
from bot.ports import Adapter, EventSink, LeasedIntake
from bot.storage.base import ConversationLocks, Store
from bot.storage.records import OutboxItem
from bot.storage.sqlite import SqliteStore


class MissingExtra(Exception):
    """A platform is enabled but its library is not installed; the message says how."""


async def open_store(config: Config) -> Store:
    """The configured store, its schema brought up to date: SQLite (`[store] url` absent or
    `sqlite:///PATH`) or PostgreSQL (`postgresql://…`, the driver imported only then)."""
    if config.store.postgres:
        try:
            from bot.storage.postgres import PostgresStore
        except ModuleNotFoundError as exc:
            raise MissingExtra(missing("[store] url names PostgreSQL", "postgres", exc)) from exc
        env = config.store.password_env
        return await PostgresStore.open(
            config.store.url, password=config.token(env) if env else ""
        )
    path = config.sqlite_path().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return await SqliteStore.open(path)


def coordination(store: Store, audit: bool = False) -> tuple[ConversationLocks, FloodGate]:
    """One turn at a time per conversation, and the flood gate: in the database when
    processes share it; else in this process (one process writes a SQLite file's turns and
    makes every send)."""
    if isinstance(store, SqliteStore):
        return InProcessLocks(), MemoryFloodGate()
    from bot.storage.postgres import PostgresStore
    from bot.storage.postgres.coordination import PostgresFloodGate, PostgresLocks

    if not isinstance(store, PostgresStore):
        raise TypeError(f"no coordination for {type(store).__name__}")
    return PostgresLocks(store, audit), PostgresFloodGate(store)


def paced_platforms(config: Config) -> frozenset[str]:
    """The platforms whose flood limits the outbox's gate holds: Telegram's unless
    `[telegram] rate_limit = false`; Discord's where several processes send (one process's
    discord.py paces its own requests)."""
    telegram = ("telegram",) if config.telegram.rate_limit else ()
    return frozenset({*telegram, *(("discord",) if config.store.postgres else ())})


def flood_rules(config: Config) -> Callable[[OutboxItem], Sequence[FloodRule]]:
    """The flood rules of each delivery, with the configured group budget."""
    return functools.partial(
        platform_limits,
        paced=paced_platforms(config),
        group_limit=config.telegram.group_limit,
        group_period=config.telegram.group_period,
    )


def missing(name: str, extra: str, exc: ModuleNotFoundError) -> str:
    """How to install the extra whose library is missing."""
    what = name if name.startswith("[") else f"[{extra}] is enabled but {name}'s library"
    return (
        f"{what} ({exc.name}) is not installed; install it with `make run`, or "
        f"`.venv/bin/pip install -e '.[{extra}]'`"
    )


def intake(store: Store, adapter: Adapter, sink: EventSink) -> list[Coroutine[Any, Any, None]]:
    """What receives an adapter's events here: its run, under its lease if it needs one."""
    lease = adapter.intake_lease if isinstance(adapter, LeasedIntake) else ""
    if not lease or not isinstance(adapter, LeasedIntake):
        return [adapter.run(sink)]
    return [
        adapter.standby(),
        while_held(store, lease, functools.partial(adapter.run, sink)),
    ]
