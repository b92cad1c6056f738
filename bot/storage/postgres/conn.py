"""PostgresConnection: how Kefu uses PostgreSQL — a pool of connections (psycopg 3 with
psycopg-pool), transactions that the running task (and the tasks it starts) join, statements
pipelined in one round trip, and this process's heartbeat as a node of the deployment.
PostgresStore (store.py) adds the queries.

Outside a transaction each write is atomic on its own (autocommit); `transaction()` groups
writes; a conversation's turn runs inside one (bot.storage.postgres.coordination.PostgresLocks
holds the conversation's advisory lock in it), so its load, its reads and its commit share one
connection and one snapshot of what is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, NamedTuple, Self

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool

from bot.storage import codec
from bot.storage.postgres import sql
from bot.storage.postgres.migrate import migrate
from bot.storage.writes import AlreadyHandled, Conflict

log = logging.getLogger(__name__)

Row = DictRow
Params = Sequence[Any] | dict[str, Any]
Op = tuple[str, Params]
Conn = psycopg.AsyncConnection[DictRow]

POOL_SIZE = 32  # connections per process (turns take at most 8: coordination.TURNS)
NODE_BEAT = 2.0  # seconds between a node's heartbeats
NODE_TTL = 8.0  # a node silent this long (4 beats) is gone: what it claimed may be taken over

# The connection the running task (and the tasks it starts) uses: (store, connection, whether a
# transaction is open on it). A conversation's turn holds one (PostgresLocks); transaction()
# opens one or joins the running one.
_CURRENT: ContextVar[tuple[object, Conn, bool] | None] = ContextVar("kefu_pg_conn", default=None)
_HELD: ContextVar[Held | None] = ContextVar("kefu_pg_held", default=None)


@dataclass(slots=True)
class Held:
    """A connection a turn holds, with statements to run before its next one (the lock) and
    after its commit (the unlock). A turn's load takes the lock in its own statement and its
    commit releases it (`key`: kefu_lock_and_load, kefu_commit_turn): two round trips a turn;
    any other first or last statement is pipelined with them."""

    conn: Conn
    ahead: list[Op] = field(default_factory=list)
    behind: list[Op] = field(default_factory=list)
    key: str = ""  # the conversation's lock key, for the load's and the commit's functions
    audit: bool = False  # test-only: the commit records the turn's time (PostgresLocks)
    target: Row | None = None  # a ticket the load read under the lock (tickets.TICKET_AGAIN)

    def take_lock(self) -> str:
        """The lock key, when the lock is still to take (it is taken by the caller now)."""
        if not self.key or not self.ahead:
            return ""
        self.ahead = []
        return self.key

    def take_unlock(self) -> str:
        """The lock key, when the lock is still to release (by the caller's statement)."""
        return self.key if self.key and self.behind and not self.ahead else ""


_REGISTER = """
INSERT INTO nodes (id, host, pid) VALUES (%s, %s, %s)
ON CONFLICT (id) DO UPDATE SET seen_at = clock_timestamp()
"""
_BEAT = "UPDATE nodes SET seen_at = clock_timestamp() WHERE id = %s"
_FORGET_NODES = "DELETE FROM nodes WHERE id = %s OR seen_at < clock_timestamp() - interval '1 day'"


async def _configure(conn: Conn) -> None:
    """A pooled connection reads and writes JSON as the SQLite store does (bot.storage.codec:
    orjson, several times faster than the standard library psycopg uses by default)."""
    set_json_loads(codec.load_json, conn)
    set_json_dumps(codec.dump_json, conn)


class Outcome(NamedTuple):
    """What one statement did: rows changed (or returned), and the rows it returned."""

    rowcount: int
    rows: list[Row]


def translate(exc: psycopg.Error) -> Exception:
    """A failed guarded statement as the store's own error; anything else as it is."""
    state = exc.sqlstate or ""
    message = exc.diag.message_primary or str(exc)
    if state == sql.CONFLICT_STATE:
        return Conflict(message)
    if state == sql.SEEN_STATE:
        return AlreadyHandled(message)
    return exc


class PostgresConnection:
    """A pool of connections to one migrated database, used from the event loop."""

    def __init__(self, pool: AsyncConnectionPool[Conn], conninfo: dict[str, Any]) -> None:
        """Wrap an open pool; use `open` to get one."""
        self._pool = pool
        self._conninfo = conninfo  # for connections of their own (LISTEN)
        self.node = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._beat: asyncio.Task[None] | None = None
        self._here: list[str] = []  # the platforms this process's outbox sends (outbox.py)
        # Tickets' topics as the outbox's claims read them, for their sends (tickets.py)
        self._topics: dict[tuple[int, str], tuple[str, str]] = {}

    @classmethod
    async def open(cls, url: str, *, password: str = "", pool_size: int = POOL_SIZE) -> Self:
        """Connect to the database at `url` (any libpq URI), migrate it, join as a node."""
        kwargs: dict[str, Any] = {"autocommit": True, "row_factory": dict_row}
        if password:
            kwargs["password"] = password
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            url,
            connection_class=psycopg.AsyncConnection[DictRow],
            kwargs=kwargs,
            min_size=1,
            max_size=pool_size,
            open=False,
            name="kefu",
            configure=_configure,
        )
        await pool.open(wait=True, timeout=30.0)
        store = cls(pool, {"conninfo": url, **kwargs})
        try:
            async with pool.connection() as conn:
                await migrate(conn)
                host = socket.gethostname()
                await conn.execute(_REGISTER, (store.node, host, os.getpid()))
        except BaseException:
            await pool.close()
            raise
        store._beat = asyncio.create_task(store._heartbeat())
        return store

    async def __aenter__(self) -> Self:
        """Use the store in `async with`; it closes on exit."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the pool."""
        await self.close()

    async def close(self) -> None:
        """Leave the deployment (what this node claimed is free at once) and close the pool."""
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
            self._beat = None
            with contextlib.suppress(psycopg.Error, OSError):
                await self._one(_FORGET_NODES, (self.node,))
        await self._pool.close()

    async def _heartbeat(self) -> None:
        """Tell the other processes this one is alive, every NODE_BEAT seconds, on a connection
        of its own: a pool busy with turns must not make a live process look dead."""
        conn: Conn | None = None
        try:
            while True:
                await asyncio.sleep(NODE_BEAT)
                try:
                    if conn is None or conn.closed:
                        conn = await self.connect()
                    done = await conn.execute(_BEAT, (self.node,))
                    if done.rowcount == 0:  # forgotten (a long pause): join again
                        await conn.execute(
                            _REGISTER, (self.node, socket.gethostname(), os.getpid())
                        )
                except (psycopg.Error, OSError) as exc:
                    log.warning("heartbeat failed (%s); retrying", type(exc).__name__)
                    if conn is not None:
                        with contextlib.suppress(psycopg.Error, OSError):
                            await conn.close()
                    conn = None
        finally:
            if conn is not None:
                with contextlib.suppress(psycopg.Error, OSError):
                    await conn.close()

    async def connect(self) -> Conn:
        """A connection of its own, outside the pool (LISTEN holds one); close it after."""
        return await psycopg.AsyncConnection[DictRow].connect(**self._conninfo)

    # transactions and statements

    def _joined(self) -> Conn | None:
        current = _CURRENT.get()
        return current[1] if current is not None and current[0] is self else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Group writes atomically; nested use (and tasks started inside) joins the outer one;
        inside a held connection (a turn), the transaction runs on it."""
        current = _CURRENT.get()
        if current is not None and current[0] is self and current[2]:
            yield
            return
        async with contextlib.AsyncExitStack() as stack:
            conn = self._joined()
            if conn is None:
                conn = await stack.enter_async_context(self._pool.connection())
            await stack.enter_async_context(conn.transaction())
            token = _CURRENT.set((self, conn, True))
            try:
                yield
            finally:
                _CURRENT.reset(token)

    @asynccontextmanager
    async def held(
        self,
        ahead: Sequence[Op] = (),
        behind: Sequence[Op] = (),
        key: str = "",
        audit: bool = False,
    ) -> AsyncIterator[Held]:
        """A connection of the pool for the block, which the block's store calls use (each
        statement atomic on its own, transaction() a transaction on it); `ahead` runs before
        the block's first statement (in its round trip), `behind` with the turn's commit (or
        is left in `Held.behind` for the caller to run)."""
        if self._joined() is not None:
            raise RuntimeError("a held connection cannot be nested")
        async with self._pool.connection() as conn:
            held = Held(conn, list(ahead), list(behind), key, audit)
            token, mine = _CURRENT.set((self, conn, False)), _HELD.set(held)
            try:
                yield held
            finally:
                _HELD.reset(mine)
                _CURRENT.reset(token)

    def _held(self) -> Held | None:
        """The turn's held connection, when this task runs on it."""
        held = _HELD.get()
        return held if held is not None and self._joined() is held.conn else None

    def _ahead(self) -> list[Op]:
        """The held connection's statements that must run first (taken: they run now)."""
        held = _HELD.get()
        if held is None or not held.ahead or self._joined() is not held.conn:
            return []
        ahead, held.ahead = held.ahead, []
        return ahead

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Conn]:
        """The running transaction's connection, else one from the pool (autocommit)."""
        joined = self._joined()
        if joined is not None:
            yield joined
            return
        async with self._pool.connection() as conn:
            yield conn

    async def _one(self, statement: str, params: Params = ()) -> Outcome:
        """One statement: atomic by itself outside a transaction."""
        if ahead := self._ahead():
            return (await self._batch([*ahead, (statement, params)], atomic=False))[-1]
        async with self._connection() as conn:
            try:
                cur = await conn.execute(statement, params)
            except psycopg.Error as exc:
                raise translate(exc) from exc
            found = await cur.fetchall() if cur.description is not None else []
            return Outcome(cur.rowcount, found)

    async def _batch(self, ops: Sequence[Op], atomic: bool = True) -> list[Outcome]:
        """Statements in one round trip (pipelined); atomic: in a transaction (a savepoint when
        one is running), so that one failing undoes them all."""
        if not ops:
            return []
        ahead = self._ahead()
        async with self._connection() as conn:
            cursors: list[psycopg.AsyncCursor[Row]] = []
            try:
                async with conn.pipeline():
                    for q, p in ahead:
                        await conn.execute(q, p)
                    if atomic:
                        async with conn.transaction():
                            cursors = [await conn.execute(q, p) for q, p in ops]
                    else:
                        cursors = [await conn.execute(q, p) for q, p in ops]
            except psycopg.Error as exc:
                raise translate(exc) from exc
            return [
                Outcome(c.rowcount, await c.fetchall() if c.description is not None else [])
                for c in cursors
            ]

    async def execute(self, statement: str, params: Params = ()) -> None:
        """Run one statement of the coordination layer (locks, leases) on the running
        transaction's connection, else on its own."""
        await self._one(statement, params)

    async def execute_row(self, statement: str, params: Params = ()) -> Row | None:
        """One statement's first row (the coordination layer's functions)."""
        return await self._row(statement, params)

    async def _rows(self, statement: str, params: Params = ()) -> list[Row]:
        return (await self._one(statement, params)).rows

    async def _row(self, statement: str, params: Params = ()) -> Row | None:
        found = await self._rows(statement, params)
        return found[0] if found else None

    async def _reads(self, *ops: Op) -> list[list[Row]]:
        """Several reads in one round trip."""
        return [outcome.rows for outcome in await self._batch(ops, atomic=False)]
