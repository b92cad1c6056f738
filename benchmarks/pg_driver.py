"""Which PostgreSQL driver: psycopg 3 (with psycopg-pool) against asyncpg on Kefu's own turn.

Usage: python benchmarks/pg_driver.py [--seconds S] [--workers W] [--rounds R] [--url URL]
       (asyncpg is not a Kefu dependency: `.venv/bin/pip install asyncpg` first)

A turn on PostgreSQL is two statements (bot/storage/postgres/turns.py): `kefu_lock_and_load`
(the conversation's advisory lock and the user, conversation, open ticket and event mark as
JSON) and `kefu_commit_turn` (every write of the turn as one JSON document, checked by version
in the server, the lock released). This script runs exactly those, with turns built by Kefu's
own code (a conversation saved, an event marked, one reply of an article's length in the
outbox), from W concurrent workers over a pool of W connections, each worker on conversations
of its own (no lock waits), for S seconds per driver, alternating R rounds. It prints turns/s
and the client's CPU per turn (this process: the driver, the JSON and asyncio), the figure that
decides on a 2-core machine where the server and the engine share the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _pg  # noqa: E402
import psycopg  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402
from psycopg_pool import AsyncConnectionPool  # noqa: E402

from bot.deliveries import to_chat  # noqa: E402
from bot.state import Conversation, Step  # noqa: E402
from bot.storage.postgres import PostgresStore  # noqa: E402
from bot.storage.postgres.turns import COMMIT_TURN, LOCK_AND_LOAD, _dumps, _turn  # noqa: E402
from bot.storage.records import UserRecord  # noqa: E402
from bot.storage.writes import TurnWrites  # noqa: E402
from bot.types import Button, ChatKind, ChatRef, Reply  # noqa: E402

BODY = "登录时看到“账号已被封禁”的提示，说明账号受到了处罚。" * 24  # an article's length
CONVERSATIONS_PER_WORKER = 20


class Conv:
    """One simulated conversation: its key and the version the store holds."""

    def __init__(self, n: int) -> None:
        self.key = f"telegram:{n}"
        self.version = 0

    def turn(self, now: float) -> tuple[dict[str, Any], dict[str, Any]]:
        """The load's parameters and the commit's document of this conversation's next turn."""
        event = uuid.uuid4().hex
        writes = TurnWrites(now=now, seen=("telegram", event))
        if self.version == 0:
            writes.user = UserRecord(self.key, "telegram", self.key[9:], "Lin", "zh-CN")
        writes.conversation = Conversation(
            self.key,
            Step.ARTICLE,
            {"article": "account-banned", "query": "账号被封了", "recent": ["账号被封了"]},
            "zh-CN",
            self.version,
        )
        chat = ChatRef("telegram", self.key[9:], ChatKind.PRIVATE)
        buttons = ((Button("已解决", "kefu:solved::account-banned"),),)
        reply = Reply(BODY, buttons=buttons, title="账号被封禁或限制使用怎么办")
        writes.outbox.append(to_chat(chat, reply, f"{event}:0", now))
        doc = _turn(writes)
        doc.update(unlock=self.key, audit=False, node="bench")
        self.version += 1
        load = {
            "lock": self.key,
            "audit": False,
            "user": self.key,
            "conv": self.key,
            "platform": "telegram",
            "event": event,
        }
        return load, doc


Turn = Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]]


async def drive(convs: list[list[Conv]], seconds: float, turn: Turn) -> int:
    """Turns done in `seconds` by one worker per list of conversations, each calling `turn`
    with a turn's load parameters and commit document."""
    stop = time.perf_counter() + seconds
    done = 0

    async def worker(mine: list[Conv]) -> None:
        nonlocal done
        while time.perf_counter() < stop:
            for conv in mine:
                await turn(*conv.turn(time.time()))
                done += 1

    await asyncio.gather(*(worker(m) for m in convs))
    return done


async def run_psycopg(url: str, convs: list[list[Conv]], seconds: float) -> int:
    """Turns done in `seconds` through psycopg's pool (Kefu's settings)."""
    pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
        url,
        kwargs={"autocommit": True, "row_factory": dict_row},
        min_size=len(convs),
        max_size=len(convs),
        open=False,
    )
    await pool.open(wait=True)

    async def turn(load: dict[str, Any], doc: dict[str, Any]) -> None:
        async with pool.connection() as conn:
            row = await (await conn.execute(LOCK_AND_LOAD, load)).fetchone()
            assert row is not None and isinstance(row["turn"], dict)
            await conn.execute(COMMIT_TURN, (Jsonb(doc, dumps=_dumps),))

    try:
        return await drive(convs, seconds, turn)
    finally:
        await pool.close()


async def run_asyncpg(url: str, convs: list[list[Conv]], seconds: float) -> int:
    """Turns done in `seconds` through asyncpg's pool."""
    import asyncpg  # type: ignore[import-untyped]

    dsn, _, query = url.partition("?")
    host = dict(p.split("=", 1) for p in query.split("&") if p).get("host")
    pool = await asyncpg.create_pool(
        dsn, host=host, min_size=len(convs), max_size=len(convs), statement_cache_size=100
    )
    load_sql = "SELECT kefu_lock_and_load($1, $2, $3, $4, $5, $6) AS turn"
    commit_sql = "SELECT kefu_commit_turn($1::jsonb)"

    async def turn(load: dict[str, Any], doc: dict[str, Any]) -> None:
        async with pool.acquire() as conn:
            found = await conn.fetchval(
                load_sql, load["lock"], load["audit"], load["user"], load["conv"],
                load["platform"], load["event"],
            )  # fmt: skip
            assert isinstance(json.loads(found), dict)  # jsonb arrives as text
            await conn.execute(commit_sql, _dumps(doc))

    try:
        return await drive(convs, seconds, turn)
    finally:
        await pool.close()


async def main() -> int:
    """Alternate the drivers and print each round's figures, then the medians."""
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--url", default="", help="a PostgreSQL server (default: an embedded one)")
    args = p.parse_args()
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        print("asyncpg is not installed: .venv/bin/pip install asyncpg")
        return 2
    figures: dict[str, list[tuple[float, float]]] = {"psycopg": [], "asyncpg": []}
    with _pg.server(args.url) as server:
        for n in range(args.rounds):
            for name, run in (("psycopg", run_psycopg), ("asyncpg", run_asyncpg)):
                url = _pg.fresh_database(server, f"driver_{name}_{n}")
                await (await PostgresStore.open(url)).close()  # the schema, migrated
                convs = [
                    [
                        Conv(w * CONVERSATIONS_PER_WORKER + i)
                        for i in range(CONVERSATIONS_PER_WORKER)
                    ]
                    for w in range(args.workers)
                ]
                cpu, wall = time.process_time(), time.perf_counter()
                turns = await run(url, convs, args.seconds)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                figures[name].append((turns / wall, 1000 * cpu / turns))
                print(
                    f"round {n + 1} {name:<8} {turns / wall:7.0f} turns/s  "
                    f"client CPU {1000 * cpu / turns:.3f} ms a turn  "
                    f"({turns} turns in {wall:.1f} s)",
                    flush=True,
                )
    for name, rows in figures.items():
        rate = sorted(r for r, _ in rows)[len(rows) // 2]
        cost = sorted(c for _, c in rows)[len(rows) // 2]
        print(f"driver: {name} median {rate:.0f} turns/s, client CPU {cost:.3f} ms a turn")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
