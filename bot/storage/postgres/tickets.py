"""PostgresTicketStore: users, tickets and their history, topics, files, snippets and stats."""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import replace

from bot.state import Conversation
from bot.storage.postgres import rows, sql
from bot.storage.postgres.conn import PostgresConnection
from bot.storage.records import (
    Miss,
    StoredFile,
    TaughtExample,
    Ticket,
    TicketMessage,
    TicketStatus,
    UserRecord,
)
from bot.storage.writes import Conflict

# A ticket read outside a turn, which the task's next turn reads again under its lock (with its
# load: kefu_lock_and_load's p_ticket). A hint: a turn that does not ask for it wastes one read.
TICKET_AGAIN: ContextVar[int | None] = ContextVar("kefu_pg_ticket_again", default=None)


class PostgresTicketStore(PostgresConnection):
    """The user, ticket, file, snippet and stats roles of the PostgreSQL store."""

    # users and conversations

    async def get_user(self, key: str) -> UserRecord | None:
        """The user, if known."""
        row = await self._row(sql.GET_USER, (key,))
        return None if row is None else rows.user_from_row(row)

    async def upsert_user(self, user: UserRecord) -> None:
        """Insert a user, or update their own fields (`created_at` is kept from the first)."""
        await self._one(sql.UPSERT_USER, rows.user_params(user))

    async def set_banned(self, user_key: str, banned: bool) -> None:
        """Block or unblock a user from opening tickets."""
        await self._one(sql.SET_BANNED, (banned, user_key))

    async def set_blocked_bot(self, user_key: str, blocked: bool) -> None:
        """Record that deliveries to the user fail, or work again."""
        await self._one(sql.SET_BLOCKED_BOT, (blocked, user_key))

    async def load_conversation(self, user_key: str) -> Conversation | None:
        """The saved conversation, if any."""
        row = await self._row(sql.LOAD_CONVERSATION, (user_key,))
        return None if row is None else rows.conversation_from_row(row)

    async def save_conversation(self, conv: Conversation) -> None:
        """Save a conversation as it is, version included."""
        await self._one(sql.UPSERT_CONVERSATION, rows.conversation_params(conv))

    async def forget_user(self, user_key: str) -> list[str]:
        """Delete a user's data; return the paths of files nothing else uses any more."""
        async with self.transaction():
            return await self._forget(user_key)

    async def _forget(self, user_key: str) -> list[str]:
        """Delete a user's data inside the running transaction; the paths of files now unused."""
        tickets, attached, uploads = await self._reads(
            (sql.TICKET_IMAGES_OF_USER, (user_key,)),
            (sql.FORGET_ATTACHMENTS, (user_key,)),
            (sql.UPLOADS_OF_USER, (user_key,)),
        )
        candidates = {str(sha) for row in tickets for sha in row["images"]}
        candidates.update(rows.strings(attached, "sha256"))
        candidates.update(rows.strings(uploads, "sha256"))
        await self._batch([(statement, {"key": user_key}) for statement in sql.FORGET_STEPS])
        return await self._drop_orphans(sorted(candidates))

    async def _drop_orphans(self, candidates: list[str]) -> list[str]:
        """Forget the records of candidate files nothing refers to; their paths."""
        orphans = await self._rows(sql.ORPHAN_FILES, (candidates,))
        await self._one(sql.DELETE_FILES, (rows.strings(orphans, "sha256"),))
        return rows.strings(orphans, "path")

    # tickets

    async def create_ticket(self, ticket: Ticket) -> Ticket:
        """Insert a ticket (allocating its number when it has none); a copy with its id."""
        if not ticket.id:
            ticket = replace(ticket, id=await self.next_ticket_id())
        await self._one(sql.INSERT_TICKET, rows.ticket_params(ticket))
        return replace(ticket)

    async def next_ticket_id(self) -> int:
        """The next ticket number (a sequence: never handed out twice)."""
        row = await self._row(sql.NEXT_TICKET_ID)
        if row is None:
            raise RuntimeError("nextval returned nothing")
        return int(row["nextval"])

    async def update_ticket(self, ticket: Ticket) -> Ticket:
        """Save every field of a ticket loaded at `ticket.version`; the saved copy."""
        done = await self._one(sql.UPDATE_TICKET, rows.ticket_params(ticket))
        if done.rowcount != 1:
            if await self._row(sql.TICKET_EXISTS, (ticket.id,)) is None:
                raise KeyError(f"no ticket #{ticket.id}")
            raise Conflict(f"ticket #{ticket.id} changed since it was loaded")
        return replace(ticket, version=ticket.version + 1)

    async def set_user_unreachable(self, ticket_id: int, unreachable: bool) -> bool:
        """Mark whether the ticket's user can be reached; False when it was so already."""
        done = await self._one(sql.SET_UNREACHABLE, (unreachable, ticket_id, unreachable))
        return done.rowcount == 1

    async def touch_paged(self, ticket_id: int, now: float) -> None:
        """Remember when the moderators were last paged for the ticket."""
        await self._one(sql.TOUCH_PAGED, (now, ticket_id))

    async def get_ticket(self, ticket_id: int) -> Ticket | None:
        """The ticket with that id. Asked for before a turn (the engine finds the conversation
        a moderator's event locks), the turn's load reads it again under the lock, and the
        turn's own get_ticket of it takes that copy (a round trip less)."""
        held = self._held()
        if held is None:
            TICKET_AGAIN.set(ticket_id)
        elif held.target is not None and held.target["id"] == ticket_id:
            read, held.target = held.target, None
            return rows.ticket_from_row(read)
        row = await self._row(sql.GET_TICKET, (ticket_id,))
        return None if row is None else rows.ticket_from_row(row)

    async def open_ticket_for(self, user_key: str) -> Ticket | None:
        """The user's ticket that is open or claimed, if any (the newest, should there be two)."""
        row = await self._row(sql.OPEN_TICKET_FOR, (user_key,))
        return None if row is None else rows.ticket_from_row(row)

    async def latest_ticket_for(self, user_key: str) -> Ticket | None:
        """The user's most recent ticket in any state."""
        row = await self._row(sql.LATEST_TICKET_FOR, (user_key,))
        return None if row is None else rows.ticket_from_row(row)

    async def list_tickets(
        self, statuses: Sequence[TicketStatus] = (), limit: int = 100
    ) -> list[Ticket]:
        """Tickets in those states (all when empty), newest (highest id) first."""
        if statuses:
            wanted = [TicketStatus(s).value for s in statuses]
            found = await self._rows(sql.LIST_TICKETS_IN, (wanted, limit))
        else:
            found = await self._rows(sql.LIST_TICKETS, (limit,))
        return [rows.ticket_from_row(row) for row in found]

    async def queue(self) -> list[Ticket]:
        """Open and claimed tickets, by priority (high first), then oldest first."""
        return [rows.ticket_from_row(row) for row in await self._rows(sql.QUEUE)]

    async def queue_position(self, ticket: Ticket) -> int:
        """1 + how many open (unclaimed) tickets are served before this one."""
        params = {"id": ticket.id, "p": ticket.priority, "c": ticket.created_at}
        row = await self._row(sql.QUEUE_AHEAD, params)
        return 1 + int(row["count"]) if row else 1

    async def add_message(self, message: TicketMessage) -> TicketMessage:
        """Append to a ticket's history and return a copy with its id."""
        row = await self._row(sql.INSERT_MESSAGE, rows.message_params(message))
        if row is None:
            raise RuntimeError("INSERT returned no id")
        return replace(message, id=int(row["id"]), attachments=list(message.attachments))

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        """A ticket's history, oldest first."""
        found, attached = await self._reads(
            (sql.MESSAGES, (ticket_id,)), (sql.ATTACHMENTS_OF_TICKET, (ticket_id,))
        )
        return rows.with_attachments(found, attached)

    async def messages_after(self, after_id: int, limit: int = 500) -> list[TicketMessage]:
        """Every ticket message with id > after_id, oldest first (for live views)."""
        found, attached = await self._reads(
            (sql.MESSAGES_AFTER, (after_id, limit)), (sql.ATTACHMENTS_AFTER, (after_id, limit))
        )
        return rows.with_attachments(found, attached)

    async def recent_first_responses(self, limit: int = 20) -> list[float]:
        """Seconds from creation to first response, most recently answered tickets first."""
        found = await self._rows(sql.FIRST_RESPONSES, (limit,))
        return [float(row["waited"]) for row in found]

    async def active_moderators(self, since: float) -> int:
        """How many distinct moderators wrote, claimed or closed since `since` (inclusive)."""
        row = await self._row(sql.ACTIVE_MODERATORS, {"t": since})
        return 0 if row is None else int(row["count"])

    async def set_thread(self, ticket_id: int, platform: str, chat_id: str, thread: str) -> None:
        """Remember a ticket's topic/thread on a platform."""
        self._topics.pop((ticket_id, platform), None)
        await self._one(sql.SET_THREAD, (ticket_id, platform, chat_id, thread))

    async def thread_of(self, ticket_id: int, platform: str) -> tuple[str, str] | None:
        """(chat_id, thread) of a ticket's topic on a platform: as a claim of a delivery to it
        just read it (once), else read now."""
        known = self._topics.pop((ticket_id, platform), None)
        if known is not None:
            return known
        row = await self._row(sql.THREAD_OF, (ticket_id, platform))
        return None if row is None else (row["chat_id"], row["thread"])

    async def ticket_by_thread(self, platform: str, chat_id: str, thread: str) -> int | None:
        """The ticket whose topic/thread that is (the newest, should a topic be reused)."""
        row = await self._row(sql.TICKET_BY_THREAD, (platform, chat_id, thread))
        return None if row is None else int(row["ticket_id"])

    async def clear_thread(self, ticket_id: int, platform: str) -> None:
        """Forget a ticket's topic on a platform (it was deleted)."""
        self._topics.pop((ticket_id, platform), None)
        await self._one(sql.CLEAR_THREAD, (ticket_id, platform))

    # attachments

    async def add_file(self, file: StoredFile, owner: str = "") -> None:
        """Record a stored file (idempotent by sha256: the first record stays) and its uploader."""
        ops: list[tuple[str, rows.Named | tuple[str, str]]] = [
            (sql.INSERT_FILE, rows.file_params(file))
        ]
        if owner:
            ops.append((sql.INSERT_UPLOAD, (owner, file.sha256)))
        await self._batch(ops)

    async def get_file(self, sha256: str) -> StoredFile | None:
        """A stored file's record."""
        row = await self._row(sql.GET_FILE, (sha256,))
        return None if row is None else rows.file_from_row(row)

    async def expire_files(self, closed_before: float) -> list[str]:
        """Drop the attachments of tickets closed before then; paths of files now unused."""
        before = {"before": closed_before}
        async with self.transaction():
            images, attached = await self._reads(
                (sql.EXPIRED_IMAGES, before), (sql.EXPIRED_ATTACHMENTS, before)
            )
            candidates = {str(sha) for row in images for sha in row["images"]}
            candidates.update(rows.strings(attached, "sha256"))
            if not candidates:
                return []
            await self._batch([(statement, before) for statement in sql.EXPIRE_STEPS])
            shas = sorted(candidates)
            await self._one(sql.DELETE_UPLOADS_OF, (shas,))
            return await self._drop_orphans(shas)

    # snippets, feedback, stats

    async def get_snippet(self, name: str) -> str | None:
        """A canned reply by name."""
        row = await self._row(sql.GET_SNIPPET, (name,))
        return None if row is None else str(row["text"])

    async def set_snippet(self, name: str, text: str) -> None:
        """Create or replace a canned reply."""
        await self._one(sql.SET_SNIPPET, (name, text))

    async def list_snippets(self) -> list[tuple[str, str]]:
        """Every canned reply, by name."""
        found = await self._rows(sql.LIST_SNIPPETS)
        return sorted(((row["name"], row["text"]) for row in found), key=_bytes_first)

    async def add_feedback(self, article_id: str, query: str, solved: bool, now: float) -> None:
        """Record a Solved / Not solved click."""
        await self._one(sql.INSERT_FEEDBACK, (article_id, query, solved, now))

    async def add_search_miss(self, miss: Miss) -> None:
        """Record a query the help center did not answer."""
        await self._one(sql.INSERT_MISS, rows.miss_params(miss, miss.created_at))

    async def article_stats(self, limit: int = 10) -> list[tuple[str, int, int]]:
        """(article id, solved, not solved), worst solve rate first, then most votes."""
        found = await self._rows(sql.ARTICLE_STATS, (limit,))
        return [(str(r["article_id"]), int(r["solved"]), int(r["unsolved"])) for r in found]

    async def top_misses(self, limit: int = 10) -> list[tuple[str, int]]:
        """The most frequent queries that found nothing (folded), with their counts."""
        found = await self._rows(sql.TOP_MISSES, (limit,))
        return [(str(row["norm"]), int(row["n"])) for row in found]

    # learning from use

    async def recent_misses(self, kb: str, limit: int = 20) -> list[Miss]:
        """A knowledge base's latest misses, newest first, without queries already taught."""
        return [
            rows.miss_from_row(row) for row in await self._rows(sql.RECENT_MISSES, (kb, limit))
        ]

    async def get_miss(self, miss_id: int) -> Miss | None:
        """One miss by id."""
        row = await self._row(sql.GET_MISS, (miss_id,))
        return None if row is None else rows.miss_from_row(row)

    async def add_example(self, example: TaughtExample) -> bool:
        """Attach a query to an article; False when that pair was attached already."""
        done = await self._one(sql.INSERT_EXAMPLE, rows.example_params(example))
        return done.rowcount == 1

    async def examples(self, kb: str, after_id: int = 0) -> list[TaughtExample]:
        """A knowledge base's attached queries with id > after_id, oldest first."""
        found = await self._rows(sql.EXAMPLES_AFTER, (kb, after_id))
        return [rows.example_from_row(row) for row in found]


def _bytes_first(pair: tuple[str, str]) -> bytes:
    """Names sorted as SQLite sorts them (by their UTF-8 bytes), whatever the database locale."""
    return pair[0].encode()
