"""SqliteConnection: how Kefu uses its SQLite file — one connection on the event loop's thread,
units of work under one lock with group commit, waits for other processes off the loop, and
checkpoints and migrations on aiosqlite's thread. SqliteStore (store.py) adds the queries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

import aiosqlite

from bot.storage.sqlite import rows

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# The transactions the running task is in (opaque tokens, one per open transaction()):
# nested transaction() calls and writes in the same task, or in tasks it starts, join their
# store's transaction instead of waiting for the lock that transaction holds.
_CURRENT_TX: ContextVar[tuple[object, ...]] = ContextVar("kefu_sqlite_tx", default=())

# Another process (the desk) holding the write lock is waited for here, not in SQLite's busy
# handler, which would sleep on the event loop's thread: first retry after 1 ms, doubling up to
# 50 ms, and give up after 5 s as `busy_timeout = 5000` did.
_BUSY_FIRST, _BUSY_MAX, _BUSY_PATIENCE = 0.001, 0.05, 5.0
CHECKPOINT_SECONDS = 1.0


class StoreError(RuntimeError):
    """The shared transaction a unit was in did not commit: its writes are gone."""


class SqliteConnection:
    """One SQLite file used from the event loop: statements on its own thread, writes serialised.

    A statement here takes microseconds (WAL, synchronous=NORMAL: a commit writes the log and
    does not fsync), while a trip to aiosqlite's worker thread and back costs ~100 µs of waiting
    with the write lock held (benchmarks/engine.py), so one connection is used directly, and
    nothing that can wait long runs on it: `busy_timeout` is 0 and a write lock held by another
    process is waited for with asyncio.sleep; checkpoints (they fsync, ~20 ms here) and schema
    migrations run on aiosqlite's thread, on a second connection.
    """

    def __init__(self, conn: sqlite3.Connection, background: aiosqlite.Connection) -> None:
        """Wrap open connections to one migrated file; use `open` to get them."""
        self._conn = conn
        self._background = background
        self._lock = asyncio.Lock()
        self._tx: object | None = None
        self._in_unit = False  # a unit's SAVEPOINT is open
        self._group: asyncio.Future[None] | None = None  # finished units awaiting COMMIT
        self._committer: asyncio.Task[None] | None = None
        self._writes = 0  # commits so far, so the checkpointer knows when there is work
        self.failed_groups = 0  # COMMITs that failed: reads made before one may be stale
        self._checkpointer: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, path: Path) -> Self:
        """Open (creating if needed) the database file and bring its schema up to date."""
        background = await aiosqlite.connect(path, isolation_level=None)
        try:
            await _migrate(background)
            conn = sqlite3.connect(path, isolation_level=None, cached_statements=256)
        except BaseException:
            await background.close()
            raise
        conn.row_factory = sqlite3.Row
        for pragma in rows.LOOP_PRAGMAS:
            conn.execute(pragma)
        store = cls(conn, background)
        store._checkpointer = asyncio.create_task(store._checkpoints())
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
        """Close the connections."""
        await self.close()

    async def close(self) -> None:
        """Close the connections (idempotent); the last one to close checkpoints the file."""
        if self._group is not None:
            async with self._lock:
                await self._commit_group()
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        self._conn.close()
        await self._background.close()

    async def _checkpoints(self) -> None:
        """Copy the log into the database file now and then, off the event loop's thread."""
        done = 0
        while True:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            if self._writes == done:
                continue
            done = self._writes
            try:
                # PASSIVE: never waits for, nor blocks, readers and writers of either process.
                await self._background.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                log.warning("checkpoint failed; the next one will retry", exc_info=True)

    # transactions, group commit, the write lock and the busy wait
    #
    # Each transaction() block, and each write outside one, is a unit: it runs with the lock
    # held, inside SAVEPOINT unit within one BEGIN IMMEDIATE … COMMIT shared by the units that
    # finished in the same turn of the event loop (group commit: one commit writes the pages
    # they all changed, once). A unit returns only after that COMMIT; a unit that fails rolls
    # back to its savepoint and leaves the others in the group alone.
    #
    # Reads outside a unit see finished units, even before their group's COMMIT: whatever a
    # reader does with them is committed after that COMMIT (on this connection, in order), and
    # should the COMMIT fail, `failed_groups` moves on so that a turn which read before it is
    # refused. A reader waits only for a unit that is still open in another task. What goes
    # out of the process (the outbox's sends) reads durably: `_durable_reads` commits first.

    def _joined(self) -> bool:
        return self._tx is not None and self._tx in _CURRENT_TX.get()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """A unit of atomic work (see above); nested use joins; raising undoes the block.

        Nothing is written until the block's first statement, so an empty block costs nothing.
        """
        if self._joined():
            yield
            return
        async with self._lock:
            token = object()
            self._tx = token
            reset = _CURRENT_TX.set((*_CURRENT_TX.get(), token))
            try:
                yield
            except BaseException as exc:
                self._undo_unit(exc)
                raise
            finally:
                _CURRENT_TX.reset(reset)
                self._tx = None
            group = self._end_unit()
        if group is not None:
            await asyncio.shield(group)

    def _start(self, ops: Sequence[rows.Op]) -> list[rows.Op]:
        """The statements that open the unit (and the group's transaction) before `ops`."""
        if self._in_unit:
            return list(ops)
        self._in_unit = True
        head = [rows.SAVEPOINT] if self._conn.in_transaction else [rows.BEGIN, rows.SAVEPOINT]
        return [*head, *ops]

    def _end_unit(self) -> asyncio.Future[None] | None:
        """Keep the unit's writes in the group; the future the group's COMMIT resolves."""
        if not self._in_unit:
            return None
        self._in_unit = False
        rows.run_ops(self._conn, [rows.RELEASE], False)
        return self._join_group()

    def _join_group(self) -> asyncio.Future[None]:
        """The future of the open group's COMMIT (scheduled for the loop's next turn)."""
        if self._group is None:
            self._group = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(self._schedule_commit)
        return self._group

    def _undo_unit(self, exc: BaseException) -> None:
        """Roll the unit back; if SQLite already rolled everything back, the group failed."""
        if not self._in_unit:
            return
        self._in_unit = False
        if self._conn.in_transaction:
            try:
                rows.run_ops(self._conn, [rows.ROLLBACK_UNIT, rows.RELEASE], False)
            except sqlite3.Error:
                rows.rollback_if_open(self._conn)
            else:
                return
        self._fail_group(exc)

    def _fail_group(self, exc: BaseException) -> None:
        self.failed_groups += 1
        group, self._group = self._group, None
        if group is not None and not group.done():
            group.set_exception(StoreError(f"the transaction was rolled back: {exc!r}"))
            group.exception()  # retrieved: a group nobody awaits any more must not warn

    def _schedule_commit(self) -> None:
        if self._group is not None and self._committer is None:
            self._committer = asyncio.create_task(self._commit_soon())

    async def _commit_soon(self) -> None:
        try:
            async with self._lock:
                await self._commit_group()
        finally:
            self._committer = None

    async def _commit_group(self) -> None:
        """COMMIT the open group (the lock held) and tell its units."""
        group = self._group
        if group is None:
            return
        try:
            await self._busy_wait(rows.run_ops, [rows.COMMIT], False)
        except BaseException as exc:
            rows.rollback_if_open(self._conn)
            self._fail_group(exc)
            if not isinstance(exc, Exception):
                raise
            log.error("commit failed: %s", exc)  # noqa: TRY400 (the units raise it)
            return
        self._group = None
        self._writes += 1
        if not group.done():
            group.set_result(None)

    async def _busy_wait(self, fn: Callable[..., _T], *args: object) -> _T:
        """fn(connection, *args), again after a pause while another process holds the lock."""
        try:
            return fn(self._conn, *args)
        except sqlite3.OperationalError as exc:
            if not rows.is_busy(exc):
                raise
        loop = asyncio.get_running_loop()
        delay, deadline = _BUSY_FIRST, loop.time() + _BUSY_PATIENCE
        while True:
            await asyncio.sleep(delay)
            delay = min(2 * delay, _BUSY_MAX)
            try:
                return fn(self._conn, *args)
            except sqlite3.OperationalError as exc:
                if not rows.is_busy(exc) or loop.time() >= deadline:
                    raise

    async def _send(self, ops: Sequence[rows.Op]) -> list[rows.Outcome]:
        """Inside the unit (opening it first if not yet): run ops; their outcomes."""
        opened = not self._in_unit
        batch = self._start(ops)
        done: list[rows.Outcome] = []
        # A statement that found the file busy did nothing: the retry resumes from it.
        await self._busy_wait(rows.run_into, batch, done)
        return done[len(batch) - len(ops) :] if opened else done

    async def _write(self, *ops: rows.Op) -> list[rows.Outcome]:
        """Run write statements as a unit of their own (or in the caller's), durably."""
        if self._joined():
            return await self._send(ops)
        if len(ops) == 1 and not self._lock.locked():
            return [await self._single(ops[0])]
        async with self.transaction():
            return await self._send(ops)

    async def _single(self, op: rows.Op) -> rows.Outcome:
        """One statement on its own: atomic by itself (SQLite undoes a failed statement alone),
        so it needs no savepoint; it joins the group's COMMIT like a unit."""
        async with self._lock:
            head = [] if self._conn.in_transaction else [rows.BEGIN]
            done: list[rows.Outcome] = []
            try:
                await self._busy_wait(rows.run_into, [*head, op], done)
            except BaseException as exc:
                if self._group is not None and not self._conn.in_transaction:
                    self._fail_group(exc)  # the error took the whole transaction with it
                raise
            group = self._join_group()
        await asyncio.shield(group)
        return done[-1]

    async def _defer(self, statement: str, params: rows.Args) -> None:
        """A write whose outcome nobody needs."""
        await self._write((statement, params))

    async def _reads(self, *ops: rows.Op) -> list[list[rows.Row]]:
        """Read; in a unit, see its own writes, else every finished unit's (see above)."""
        if self._joined():
            outcomes = await self._send(ops)
        elif self._in_unit:
            async with self._lock:  # another task's unit is half done: wait for its end
                outcomes = await self._busy_wait(rows.run_ops, ops, False)
        else:
            outcomes = await self._busy_wait(rows.run_ops, ops, False)
        return [outcome.rows for outcome in outcomes]

    async def _durable_reads(self, *ops: rows.Op) -> list[list[rows.Row]]:
        """Read only what is committed: commit the finished units first (for what is sent)."""
        if self._joined() or not self._conn.in_transaction:
            return await self._reads(*ops)
        async with self._lock:
            await self._commit_group()
            outcomes = await self._busy_wait(rows.run_ops, ops, False)
        return [outcome.rows for outcome in outcomes]

    async def _rows(self, statement: str, params: rows.Args = ()) -> list[rows.Row]:
        [found] = await self._reads((statement, params))
        return found

    async def _row(self, statement: str, params: rows.Args = ()) -> rows.Row | None:
        found = await self._rows(statement, params)
        return found[0] if found else None


async def _migrate(db: aiosqlite.Connection) -> None:
    """Set the file's PRAGMAs; apply the schema files it has not seen, each in a transaction."""
    for pragma in rows.BACKGROUND_PRAGMAS:
        await db.execute(pragma)
    scripts = rows.schema_scripts()
    latest = scripts[-1][0] if scripts else 0
    current = await _user_version(db)
    if current > latest:
        raise RuntimeError(f"database schema {current} is newer than this Kefu ({latest})")
    for version, script in scripts:
        if version <= current:
            continue
        await db.execute(rows.BEGIN[0])
        try:
            if await _user_version(db) < version:  # else another process migrated meanwhile
                for statement in rows.split_statements(script):
                    await db.execute(statement)
                # PRAGMA takes no parameters; `version` is an int parsed from a file name.
                await db.execute(f"PRAGMA user_version = {version:d}")
            await db.execute(rows.COMMIT[0])
        except BaseException:
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise


async def _user_version(db: aiosqlite.Connection) -> int:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return 0 if row is None else int(row[0])
