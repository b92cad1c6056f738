"""SqliteTicketStore: users, tickets and their history, topics, files, snippets and stats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.state import Conversation
from bot.storage.records import (
    Miss,
    StoredFile,
    TaughtExample,
    Ticket,
    TicketMessage,
    TicketStatus,
    UserRecord,
)
from bot.storage.sqlite import rows, sql
from bot.storage.sqlite.conn import SqliteConnection
from bot.storage.writes import Conflict


class SqliteTicketStore(SqliteConnection):
    """The user, ticket, file, snippet and stats roles of the SQLite store."""

    # users and conversations

    async def get_user(self, key: str) -> UserRecord | None:
        """The user, if known."""
        row = await self._row(sql.GET_USER, (key,))
        return None if row is None else rows.user_from_row(row)

    async def upsert_user(self, user: UserRecord) -> None:
        """Insert a user, or update their own fields (`created_at` is kept from the first)."""
        await self._defer(sql.UPSERT_USER, rows.params_of(user))

    async def set_banned(self, user_key: str, banned: bool) -> None:
        """Block or unblock a user from opening tickets."""
        await self._defer(sql.SET_BANNED, (int(banned), user_key))

    async def set_blocked_bot(self, user_key: str, blocked: bool) -> None:
        """Record that deliveries to the user fail, or work again."""
        await self._defer(sql.SET_BLOCKED_BOT, (int(blocked), user_key))

    async def load_conversation(self, user_key: str) -> Conversation | None:
        """The saved conversation, if any."""
        row = await self._row(sql.LOAD_CONVERSATION, (user_key,))
        return None if row is None else rows.conversation_from_row(row)

    async def save_conversation(self, conv: Conversation) -> None:
        """Save a conversation as it is, version included."""
        await self._defer(sql.UPSERT_CONVERSATION, rows.params_of(conv))

    async def forget_user(self, user_key: str) -> list[str]:
        """Delete a user's data; return the paths of files nothing else uses any more."""
        async with self.transaction():
            return await self._forget(user_key)

    async def _forget(self, user_key: str) -> list[str]:
        """Delete a user's data inside the running unit; the paths of files now unused."""
        tickets, attached, uploads = await self._reads(
            (sql.TICKET_IMAGES_OF_USER, (user_key,)),
            (sql.FORGET_ATTACHMENTS, (user_key,)),
            (sql.UPLOADS_OF_USER, (user_key,)),
        )
        candidates = {sha for row in tickets for sha in rows.json_list(row[0])}
        candidates.update(row[0] for row in attached)
        candidates.update(row[0] for row in uploads)
        await self._write(*[(statement, {"key": user_key}) for statement in sql.FORGET_STEPS])
        orphans = await self._rows(sql.ORPHAN_FILES, (rows.dump_json(sorted(candidates)),))
        await self._defer(sql.DELETE_FILES, (rows.dump_json([row[0] for row in orphans]),))
        return [str(row[1]) for row in orphans]

    # tickets

    async def create_ticket(self, ticket: Ticket) -> Ticket:
        """Insert a ticket (allocating its number when it has none); a copy with its id."""
        async with self.transaction():
            if not ticket.id:
                [counted] = await self._write((sql.NEXT_TICKET_ID, ()))
                ticket = replace(ticket, id=int(counted.rows[0][0]))
            await self._write((sql.INSERT_TICKET, rows.params_of(ticket)))
        return replace(ticket)

    async def update_ticket(self, ticket: Ticket) -> Ticket:
        """Save every field of a ticket loaded at `ticket.version`; the saved copy."""
        async with self.transaction():
            [outcome] = await self._write((sql.UPDATE_TICKET, rows.params_of(ticket)))
            if outcome.rowcount != 1:
                if await self._row(sql.TICKET_EXISTS, (ticket.id,)) is None:
                    raise KeyError(f"no ticket #{ticket.id}")
                raise Conflict(f"ticket #{ticket.id} changed since it was loaded")
        return replace(ticket, version=ticket.version + 1)

    async def set_user_unreachable(self, ticket_id: int, unreachable: bool) -> bool:
        """Mark whether the ticket's user can be reached; False when it was so already."""
        flag = int(unreachable)
        [outcome] = await self._write((sql.SET_UNREACHABLE, (flag, ticket_id, flag)))
        return outcome.rowcount == 1

    async def touch_paged(self, ticket_id: int, now: float) -> None:
        """Remember when the moderators were last paged for the ticket."""
        await self._defer(sql.TOUCH_PAGED, (now, ticket_id))

    async def get_ticket(self, ticket_id: int) -> Ticket | None:
        """The ticket with that id."""
        row = await self._row("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
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
            wanted = rows.dump_json([TicketStatus(s).value for s in statuses])
            found = await self._rows(sql.LIST_TICKETS_IN, (wanted, limit))
        else:
            found = await self._rows(sql.LIST_TICKETS, (limit,))
        return [rows.ticket_from_row(row) for row in found]

    async def queue(self) -> list[Ticket]:
        """Open and claimed tickets, by priority (high first), then oldest first."""
        return [rows.ticket_from_row(row) for row in await self._rows(sql.QUEUE)]

    async def queue_position(self, ticket: Ticket) -> int:
        """1 + how many open (unclaimed) tickets are served before this one."""
        p, c = ticket.priority, ticket.created_at
        row = await self._row(sql.QUEUE_AHEAD, (ticket.id, p, p, c, c, ticket.id))
        return 1 + int(row[0]) if row else 1

    async def add_message(self, message: TicketMessage) -> TicketMessage:
        """Append to a ticket's history and return a copy with its id."""
        ops: list[rows.Op] = [(sql.INSERT_MESSAGE, rows.params_of(message))]
        if message.attachments:
            ops.append((sql.INSERT_ATTACHMENTS, (rows.dump_json(message.attachments),)))
        outcomes = await self._write(*ops)
        return replace(message, id=new_id(outcomes[0]), attachments=list(message.attachments))

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
        return [float(row[0]) for row in await self._rows(sql.FIRST_RESPONSES, (limit,))]

    async def active_moderators(self, since: float) -> int:
        """How many distinct moderators wrote, claimed or closed since `since` (inclusive)."""
        row = await self._row(sql.ACTIVE_MODERATORS, (since, since, since))
        return 0 if row is None else int(row[0])

    async def set_thread(self, ticket_id: int, platform: str, chat_id: str, thread: str) -> None:
        """Remember a ticket's topic/thread on a platform."""
        await self._defer(sql.SET_THREAD, (ticket_id, platform, chat_id, thread))

    async def thread_of(self, ticket_id: int, platform: str) -> tuple[str, str] | None:
        """(chat_id, thread) of a ticket's topic on a platform."""
        row = await self._row(sql.THREAD_OF, (ticket_id, platform))
        return None if row is None else (row["chat_id"], row["thread"])

    async def ticket_by_thread(self, platform: str, chat_id: str, thread: str) -> int | None:
        """The ticket whose topic/thread that is (the newest, should a topic be reused)."""
        row = await self._row(sql.TICKET_BY_THREAD, (platform, chat_id, thread))
        return None if row is None else int(row[0])

    async def clear_thread(self, ticket_id: int, platform: str) -> None:
        """Forget a ticket's topic on a platform (it was deleted)."""
        await self._defer(sql.CLEAR_THREAD, (ticket_id, platform))

    # attachments

    async def add_file(self, file: StoredFile, owner: str = "") -> None:
        """Record a stored file (idempotent by sha256: the first record stays) and its uploader."""
        async with self.transaction():
            await self._defer(sql.INSERT_FILE, rows.params_of(file))
            if owner:
                await self._defer(sql.INSERT_UPLOAD, (owner, file.sha256))

    async def get_file(self, sha256: str) -> StoredFile | None:
        """A stored file's record."""
        row = await self._row("SELECT * FROM files WHERE sha256 = ?", (sha256,))
        return None if row is None else rows.file_from_row(row)

    async def expire_files(self, closed_before: float) -> list[str]:
        """Drop the attachments of tickets closed before then; paths of files now unused."""
        async with self.transaction():
            images, attached = await self._reads(
                (sql.EXPIRED_IMAGES, (closed_before,)),
                (sql.EXPIRED_ATTACHMENTS, (closed_before,)),
            )
            candidates = {sha for row in images for sha in rows.json_list(row[0])}
            candidates.update(row[0] for row in attached)
            if not candidates:
                return []
            await self._write(*[(statement, (closed_before,)) for statement in sql.EXPIRE_STEPS])
            shas = rows.dump_json(sorted(candidates))
            await self._defer(sql.DELETE_UPLOADS_OF, (shas,))
            orphans = await self._rows(sql.ORPHAN_FILES, (shas,))
            await self._defer(sql.DELETE_FILES, (rows.dump_json([row[0] for row in orphans]),))
            return [str(row[1]) for row in orphans]

    # snippets, feedback, stats

    async def get_snippet(self, name: str) -> str | None:
        """A canned reply by name."""
        row = await self._row("SELECT text FROM snippets WHERE name = ?", (name,))
        return None if row is None else str(row[0])

    async def set_snippet(self, name: str, text: str) -> None:
        """Create or replace a canned reply."""
        await self._defer(sql.SET_SNIPPET, (name, text))

    async def list_snippets(self) -> list[tuple[str, str]]:
        """Every canned reply, by name."""
        found = await self._rows("SELECT name, text FROM snippets ORDER BY name")
        return [(row[0], row[1]) for row in found]

    async def add_feedback(self, article_id: str, query: str, solved: bool, now: float) -> None:
        """Record a Solved / Not solved click."""
        await self._defer(sql.INSERT_FEEDBACK, (article_id, query, int(solved), now))

    async def add_search_miss(self, miss: Miss) -> None:
        """Record a query the help center did not answer."""
        await self._defer(sql.INSERT_MISS, rows.miss_params(miss, miss.created_at))

    async def article_stats(self, limit: int = 10) -> list[tuple[str, int, int]]:
        """(article id, solved, not solved), worst solve rate first, then most votes."""
        found = await self._rows(sql.ARTICLE_STATS, (limit,))
        return [(row[0], int(row[1]), int(row[2])) for row in found]

    async def top_misses(self, limit: int = 10) -> list[tuple[str, int]]:
        """The most frequent queries that found nothing (folded), with their counts."""
        found = await self._rows(sql.TOP_MISSES, (limit,))
        return [(row[0], int(row[1])) for row in found]

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
        params = rows.params_of(example)
        del params["id"]
        [outcome] = await self._write((sql.INSERT_EXAMPLE, params))
        return outcome.rowcount == 1

    async def examples(self, kb: str, after_id: int = 0) -> list[TaughtExample]:
        """A knowledge base's attached queries with id > after_id, oldest first."""
        found = await self._rows(sql.EXAMPLES_AFTER, (kb, after_id))
        return [rows.example_from_row(row) for row in found]


def new_id(outcome: rows.Outcome) -> int:
    """The row id an INSERT gave."""
    if outcome.lastrowid is None:
        raise RuntimeError("INSERT returned no row id")
    return outcome.lastrowid
