"""SqliteStore: the Store in one SQLite file (WAL), shared by `kefu chat` and `kefu desk`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

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
from bot.storage.sqlite_conn import SqliteConnection, StoreError

__all__ = ["SqliteStore", "StoreError"]


class SqliteStore(SqliteConnection):
    """The Store on SQLite (the connection's discipline is in sqlite_conn.py)."""

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


def _new_id(outcome: rows.Outcome) -> int:
    if outcome.lastrowid is None:
        raise RuntimeError("INSERT returned no row id")
    return outcome.lastrowid
