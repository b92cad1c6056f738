"""SqliteStore: the Store in one SQLite file (WAL), shared by `kefu chat` and `kefu desk`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import aiosqlite

from bot.state import Conversation
from bot.storage import sqlite_rows as rows
from bot.storage.base import (
    Loaded,
    OutboxItem,
    OutboxStatus,
    StoredFile,
    Ticket,
    TicketMessage,
    TicketStatus,
    UserRecord,
)

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


class SqliteStore:
    """The Store on SQLite: statements run on the event loop's own thread, writes serialised.

    A statement here takes microseconds (WAL, synchronous=NORMAL: a commit writes the log and
    does not fsync), while a trip to aiosqlite's worker thread and back costs ~100 µs of waiting
    with the write lock held (benchmarks/engine.py), so one connection is used directly, and
    nothing that can wait long runs on it: `busy_timeout` is 0 and a write lock held by another
    process is waited for with asyncio.sleep; checkpoints (they fsync, ~20 ms here) and schema
    migrations run on aiosqlite's thread, on a second connection.
    """

    def __init__(self, conn: sqlite3.Connection, background: aiosqlite.Connection) -> None:
        """Wrap open connections to one migrated file; use `SqliteStore.open` to get them."""
        self._conn = conn
        self._background = background
        self._lock = asyncio.Lock()
        self._tx: object | None = None
        self._in_unit = False  # a unit's SAVEPOINT is open
        self._group: asyncio.Future[None] | None = None  # finished units awaiting COMMIT
        self._committer: asyncio.Task[None] | None = None
        self._writes = 0  # commits so far, so the checkpointer knows when there is work
        self._checkpointer: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, path: Path) -> SqliteStore:
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

    async def __aenter__(self) -> SqliteStore:
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
    # back to its savepoint and leaves the others in the group alone. Reads outside a unit
    # commit the open group first, so nothing uncommitted (an outbox item, say) is ever seen.

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
        async with self._lock:
            try:
                outcomes = await self._send(ops)
            except BaseException as exc:
                self._undo_unit(exc)
                raise
            group = self._end_unit()
        if group is not None:
            await asyncio.shield(group)
        return outcomes

    async def _defer(self, statement: str, params: rows.Args) -> None:
        """A write whose outcome nobody needs."""
        await self._write((statement, params))

    async def _reads(self, *ops: rows.Op) -> list[list[rows.Row]]:
        """Read; in a unit, see its own writes, else only what is committed."""
        if self._joined():
            outcomes = await self._send(ops)
        elif self._conn.in_transaction:
            # A group waits for its COMMIT, or another task's unit is open: reading now would
            # see writes that are not yet durable. Take the lock and commit what is finished.
            async with self._lock:
                await self._commit_group()
                outcomes = await self._busy_wait(rows.run_ops, ops, False)
        else:
            outcomes = await self._busy_wait(rows.run_ops, ops, False)
        return [outcome.rows for outcome in outcomes]

    async def _rows(self, statement: str, params: rows.Args = ()) -> list[rows.Row]:
        [found] = await self._reads((statement, params))
        return found

    async def _row(self, statement: str, params: rows.Args = ()) -> rows.Row | None:
        found = await self._rows(statement, params)
        return found[0] if found else None

    # inbound events

    async def mark_seen(self, platform: str, event_id: str, now: float) -> bool:
        """Record an event id; False when it was seen before (handle it only once)."""
        [outcome] = await self._write((rows.MARK_SEEN, (platform, event_id, now)))
        return outcome.rowcount == 1

    async def begin_turn(
        self, platform: str, event_id: str, now: float, user_key: str, conversation: bool = True
    ) -> Loaded | None:
        """Mark an event seen and load its user, conversation and open ticket, in one batch."""
        ops: list[rows.Op] = [
            (rows.MARK_SEEN, (platform, event_id, now)),
            (rows.GET_USER, (user_key,)),
            (rows.OPEN_TICKET_FOR, (user_key,)),
        ]
        if conversation:
            ops.append((rows.LOAD_CONVERSATION, (user_key,)))
        outcomes = await self._write(*ops)
        if outcomes[0].rowcount != 1:
            return None
        user, ticket = outcomes[1].rows, outcomes[2].rows
        conv = outcomes[3].rows if conversation else []
        return Loaded(
            rows.user_from_row(user[0]) if user else None,
            rows.conversation_from_row(conv[0]) if conv else None,
            rows.ticket_from_row(ticket[0]) if ticket else None,
        )

    # users and conversations

    async def get_user(self, key: str) -> UserRecord | None:
        """The user, if known."""
        row = await self._row(rows.GET_USER, (key,))
        return None if row is None else rows.user_from_row(row)

    async def upsert_user(self, user: UserRecord) -> None:
        """Insert or update a user (`created_at` is kept from the first insert)."""
        await self._defer(rows.UPSERT_USER, rows.params_of(user))

    async def load_conversation(self, user_key: str) -> Conversation | None:
        """The saved conversation, if any."""
        row = await self._row(rows.LOAD_CONVERSATION, (user_key,))
        return None if row is None else rows.conversation_from_row(row)

    async def save_conversation(self, conv: Conversation) -> None:
        """Save the conversation (the caller bumps `version`)."""
        await self._defer(rows.UPSERT_CONVERSATION, rows.params_of(conv))

    # tickets

    async def create_ticket(self, ticket: Ticket) -> Ticket:
        """Insert a ticket and return a copy with its new id."""
        [outcome] = await self._write((rows.INSERT_TICKET, rows.params_of(ticket)))
        return replace(ticket, id=_new_id(outcome))

    async def update_ticket(self, ticket: Ticket) -> None:
        """Save every field of an existing ticket; KeyError when there is none with its id."""
        [outcome] = await self._write((rows.UPDATE_TICKET, rows.params_of(ticket)))
        if outcome.rowcount != 1:
            raise KeyError(f"no ticket #{ticket.id}")

    async def get_ticket(self, ticket_id: int) -> Ticket | None:
        """The ticket with that id."""
        row = await self._row("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
        return None if row is None else rows.ticket_from_row(row)

    async def open_ticket_for(self, user_key: str) -> Ticket | None:
        """The user's ticket that is open or claimed, if any (the newest, should there be two)."""
        row = await self._row(rows.OPEN_TICKET_FOR, (user_key,))
        return None if row is None else rows.ticket_from_row(row)

    async def latest_ticket_for(self, user_key: str) -> Ticket | None:
        """The user's most recent ticket in any state."""
        row = await self._row(rows.LATEST_TICKET_FOR, (user_key,))
        return None if row is None else rows.ticket_from_row(row)

    async def list_tickets(
        self, statuses: Sequence[TicketStatus] = (), limit: int = 100
    ) -> list[Ticket]:
        """Tickets in those states (all when empty), newest (highest id) first."""
        if statuses:
            wanted = rows.dump_json([TicketStatus(s).value for s in statuses])
            found = await self._rows(rows.LIST_TICKETS_IN, (wanted, limit))
        else:
            found = await self._rows(rows.LIST_TICKETS, (limit,))
        return [rows.ticket_from_row(row) for row in found]

    async def queue(self) -> list[Ticket]:
        """Open and claimed tickets, by priority (high first), then oldest first."""
        return [rows.ticket_from_row(row) for row in await self._rows(rows.QUEUE)]

    async def queue_position(self, ticket: Ticket) -> int:
        """1 + how many open (unclaimed) tickets are served before this one."""
        p, c = ticket.priority, ticket.created_at
        row = await self._row(rows.QUEUE_AHEAD, (ticket.id, p, p, c, c, ticket.id))
        return 1 + int(row[0]) if row else 1

    async def add_message(self, message: TicketMessage) -> TicketMessage:
        """Append to a ticket's history and return a copy with its id."""
        ops: list[rows.Op] = [(rows.INSERT_MESSAGE, rows.params_of(message))]
        if message.attachments:
            ops.append((rows.INSERT_ATTACHMENTS, (rows.dump_json(message.attachments),)))
        outcomes = await self._write(*ops)
        return replace(message, id=_new_id(outcomes[0]), attachments=list(message.attachments))

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        """A ticket's history, oldest first."""
        found, attached = await self._reads(
            (rows.MESSAGES, (ticket_id,)), (rows.ATTACHMENTS_OF_TICKET, (ticket_id,))
        )
        return rows.with_attachments(found, attached)

    async def messages_after(self, after_id: int, limit: int = 500) -> list[TicketMessage]:
        """Every ticket message with id > after_id, oldest first (for the desk's live view)."""
        found, attached = await self._reads(
            (rows.MESSAGES_AFTER, (after_id, limit)), (rows.ATTACHMENTS_AFTER, (after_id, limit))
        )
        return rows.with_attachments(found, attached)

    async def recent_first_responses(self, limit: int = 20) -> list[float]:
        """Seconds from creation to first response, most recently answered tickets first."""
        return [float(row[0]) for row in await self._rows(rows.FIRST_RESPONSES, (limit,))]

    async def active_moderators(self, since: float) -> int:
        """How many distinct moderators wrote, claimed or closed since `since` (inclusive)."""
        row = await self._row(rows.ACTIVE_MODERATORS, (since, since, since))
        return 0 if row is None else int(row[0])

    async def set_thread(self, ticket_id: int, platform: str, chat_id: str, thread: str) -> None:
        """Remember a ticket's topic/thread on a platform."""
        await self._defer(rows.SET_THREAD, (ticket_id, platform, chat_id, thread))

    async def thread_of(self, ticket_id: int, platform: str) -> tuple[str, str] | None:
        """(chat_id, thread) of a ticket's topic on a platform."""
        row = await self._row(rows.THREAD_OF, (ticket_id, platform))
        return None if row is None else (row["chat_id"], row["thread"])

    async def ticket_by_thread(self, platform: str, chat_id: str, thread: str) -> int | None:
        """The ticket whose topic/thread that is (the newest, should a topic be reused)."""
        row = await self._row(rows.TICKET_BY_THREAD, (platform, chat_id, thread))
        return None if row is None else int(row[0])

    async def clear_thread(self, ticket_id: int, platform: str) -> None:
        """Forget a ticket's topic on a platform (it was deleted)."""
        await self._defer(
            "DELETE FROM ticket_threads WHERE ticket_id = ? AND platform = ?",
            (ticket_id, platform),
        )

    # attachments

    async def add_file(self, file: StoredFile, owner: str = "") -> None:
        """Record a stored file (idempotent by sha256: the first record stays) and its uploader."""
        async with self.transaction():
            await self._defer(rows.INSERT_FILE, rows.params_of(file))
            if owner:
                await self._defer(rows.INSERT_UPLOAD, (owner, file.sha256))

    async def get_file(self, sha256: str) -> StoredFile | None:
        """A stored file's record."""
        row = await self._row("SELECT * FROM files WHERE sha256 = ?", (sha256,))
        return None if row is None else rows.file_from_row(row)

    # outbox

    async def enqueue(self, item: OutboxItem) -> int:
        """Add a delivery; returns its id (the existing one, unchanged, when the key was seen)."""
        [outcome] = await self._write((rows.INSERT_OUTBOX, rows.outbox_params(item)))
        if outcome.rowcount == 1:  # inserted; 0 when the key was seen
            return _new_id(outcome)
        row = await self._row(rows.OUTBOX_ID, (item.key,))
        if row is None:
            raise RuntimeError(f"outbox key {item.key!r} neither inserted nor found")
        return int(row[0])

    async def due(self, platforms: Sequence[str], now: float, limit: int = 50) -> list[OutboxItem]:
        """Pending deliveries whose time has come, oldest first, only each lane's oldest."""
        if not platforms:
            return []
        found = await self._rows(rows.DUE, (rows.dump_json(list(platforms)), now, limit))
        return [rows.due_from_row(row) for row in found]

    async def mark_inflight(self, item_ids: Sequence[int], now: float) -> None:
        """Mark pending deliveries as being sent, in one statement committed now (not deferred:
        it must be on disk before the first send goes out)."""
        if item_ids:
            await self._write((rows.MARK_INFLIGHT, (now, rows.dump_json(list(item_ids)))))

    async def mark_sent(self, item_id: int, now: float, maybe_doubled: bool = False) -> None:
        """The delivery succeeded; the in-flight mark is cleared."""
        await self._defer(rows.MARK_SENT, (now, int(maybe_doubled), item_id))

    async def mark_retry(
        self, item_id: int, next_at: float, error: str, maybe_delivered: bool = False
    ) -> None:
        """The delivery failed for now; count the attempt and try again at `next_at`.

        `maybe_delivered` (the platform may have acted before failing) sticks to the item; the
        in-flight mark is cleared.
        """
        await self._defer(rows.MARK_RETRY, (next_at, error, int(maybe_delivered), item_id))

    async def mark_dead(self, item_id: int, error: str) -> None:
        """The delivery will not succeed: dead-letter it (the in-flight mark is cleared)."""
        await self._defer(rows.MARK_DEAD, (error, item_id))

    async def retry_dead(self, item_id: int, now: float) -> bool:
        """Put a dead delivery back to pending, due now; False when there is none with that id."""
        [outcome] = await self._write((rows.RETRY_DEAD, (now, item_id)))
        return outcome.rowcount == 1

    async def outbox_items(
        self, statuses: Sequence[OutboxStatus] = (), limit: int = 100
    ) -> list[OutboxItem]:
        """Deliveries in those states (all when empty), oldest first."""
        if statuses:
            wanted = rows.dump_json([OutboxStatus(s).value for s in statuses])
            found = await self._rows(rows.OUTBOX_ITEMS_IN, (wanted, limit))
        else:
            found = await self._rows(rows.OUTBOX_ITEMS, (limit,))
        return [rows.outbox_from_row(row) for row in found]

    # snippets, feedback, stats, privacy

    async def get_snippet(self, name: str) -> str | None:
        """A canned reply by name."""
        row = await self._row("SELECT text FROM snippets WHERE name = ?", (name,))
        return None if row is None else str(row[0])

    async def set_snippet(self, name: str, text: str) -> None:
        """Create or replace a canned reply."""
        await self._defer(rows.SET_SNIPPET, (name, text))

    async def list_snippets(self) -> list[tuple[str, str]]:
        """Every canned reply, by name."""
        found = await self._rows("SELECT name, text FROM snippets ORDER BY name")
        return [(row[0], row[1]) for row in found]

    async def add_feedback(self, article_id: str, query: str, solved: bool, now: float) -> None:
        """Record a Solved / Not solved click."""
        await self._defer(rows.INSERT_FEEDBACK, (article_id, query, int(solved), now))

    async def add_search_miss(self, query: str, now: float) -> None:
        """Record a query that found nothing confident."""
        await self._defer(rows.INSERT_MISS, (query, rows.fold_query(query), now))

    async def article_stats(self, limit: int = 10) -> list[tuple[str, int, int]]:
        """(article id, solved, not solved), worst solve rate first, then most votes."""
        found = await self._rows(rows.ARTICLE_STATS, (limit,))
        return [(row[0], int(row[1]), int(row[2])) for row in found]

    async def top_misses(self, limit: int = 10) -> list[tuple[str, int]]:
        """The most frequent queries that found nothing (folded), with their counts."""
        found = await self._rows(rows.TOP_MISSES, (limit,))
        return [(row[0], int(row[1])) for row in found]

    async def expire_files(self, closed_before: float) -> list[str]:
        """Drop the attachments of tickets closed before then; paths of files now unused."""
        async with self.transaction():
            images, attached = await self._reads(
                (rows.EXPIRED_IMAGES, (closed_before,)),
                (rows.EXPIRED_ATTACHMENTS, (closed_before,)),
            )
            candidates = {sha for row in images for sha in rows.json_list(row[0])}
            candidates.update(row[0] for row in attached)
            if not candidates:
                return []
            await self._write(*[(statement, (closed_before,)) for statement in rows.EXPIRE_STEPS])
            shas = rows.dump_json(sorted(candidates))
            await self._defer(rows.DELETE_UPLOADS_OF, (shas,))
            orphans = await self._rows(rows.ORPHAN_FILES, (shas,))
            await self._defer(rows.DELETE_FILES, (rows.dump_json([row[0] for row in orphans]),))
            return [str(row[1]) for row in orphans]

    async def forget_user(self, user_key: str) -> list[str]:
        """Delete a user's data; return the paths of files nothing else uses any more."""
        async with self.transaction():
            tickets, attached = await self._reads(
                ("SELECT images FROM tickets WHERE user_key = ?", (user_key,)),
                (rows.FORGET_ATTACHMENTS, (user_key,)),
            )
            candidates = {sha for row in tickets for sha in rows.json_list(row[0])}
            candidates.update(row[0] for row in attached)
            uploads = await self._rows(
                "SELECT sha256 FROM uploads WHERE user_key = ?", (user_key,)
            )
            candidates.update(row[0] for row in uploads)
            await self._write(*[(statement, {"key": user_key}) for statement in rows.FORGET_STEPS])
            orphans = await self._rows(rows.ORPHAN_FILES, (rows.dump_json(sorted(candidates)),))
            await self._defer(rows.DELETE_FILES, (rows.dump_json([row[0] for row in orphans]),))
            return [str(row[1]) for row in orphans]


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


def _new_id(outcome: rows.Outcome) -> int:
    if outcome.lastrowid is None:
        raise RuntimeError("INSERT returned no row id")
    return outcome.lastrowid
