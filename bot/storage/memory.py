"""MemoryStore: the Store in plain dicts, for tests and a throwaway `kefu chat`."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, TypeVar

from bot.state import Conversation
from bot.storage.base import (
    Author,
    Loaded,
    OutboxItem,
    OutboxStatus,
    StoredFile,
    Ticket,
    TicketMessage,
    TicketStatus,
    UserRecord,
)

# See bot.storage.sqlite: the transactions the running task is in, so nested use joins.
_CURRENT_TX: ContextVar[tuple[object, ...]] = ContextVar("kefu_memory_tx", default=())

_ACTIVE = (TicketStatus.OPEN, TicketStatus.CLAIMED)
_R = TypeVar("_R")


def _copy(record: _R) -> _R:
    return copy.deepcopy(record)


def _json_copy(value: dict[str, Any]) -> dict[str, Any]:
    """A copy as SQLite would give it back (tuples become lists); rejects non-JSON data early."""
    copied: dict[str, Any] = json.loads(json.dumps(value, ensure_ascii=False))
    return copied


def _lane(item: OutboxItem) -> tuple[str, str, str]:
    """The delivery lane: "@ticket" is one lane per ticket (see bot.storage.sqlite_rows)."""
    thread = item.thread
    if thread == "@ticket":
        thread = f"@ticket:{item.ticket_id if item.ticket_id is not None else ''}"
    return (item.platform, item.chat_id, thread)


def _fold_query(query: str) -> str:
    return " ".join(query.lower().split())


@dataclass(slots=True)
class _Tables:
    """Everything a MemoryStore holds."""

    seen: set[tuple[str, str]] = field(default_factory=set)
    users: dict[str, UserRecord] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    messages: dict[int, TicketMessage] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    uploads: set[tuple[str, str]] = field(default_factory=set)
    threads: dict[tuple[int, str], tuple[str, str]] = field(default_factory=dict)
    outbox: dict[int, OutboxItem] = field(default_factory=dict)
    outbox_keys: dict[str, int] = field(default_factory=dict)
    snippets: dict[str, str] = field(default_factory=dict)
    feedback: list[tuple[str, str, bool, float]] = field(default_factory=list)
    misses: list[tuple[str, float]] = field(default_factory=list)
    next_ticket: int = 1
    next_message: int = 1
    next_outbox: int = 1


class MemoryStore:
    """The Store in memory. Records are copied in and out, so callers never share them.

    `transaction()` serialises writers like SqliteStore's (each write runs in one, so it waits
    for another task's), but rolls nothing back: a block that raises keeps its earlier writes.
    """

    def __init__(self) -> None:
        """An empty store."""
        self._t = _Tables()
        self._lock = asyncio.Lock()
        self._tx: object | None = None

    async def __aenter__(self) -> MemoryStore:
        """Use the store in `async with`."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        await self.close()

    async def close(self) -> None:
        """Nothing to release."""

    def _joined(self) -> bool:
        return self._tx is not None and self._tx in _CURRENT_TX.get()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Hold the write lock for the block (no rollback); nested use joins."""
        if self._joined():
            yield
            return
        async with self._lock:
            token = object()
            self._tx = token
            reset = _CURRENT_TX.set((*_CURRENT_TX.get(), token))
            try:
                yield
            finally:
                _CURRENT_TX.reset(reset)
                self._tx = None

    # inbound events

    async def mark_seen(self, platform: str, event_id: str, now: float) -> bool:
        """Record an event id; False when it was seen before (handle it only once)."""
        async with self.transaction():
            if (platform, event_id) in self._t.seen:
                return False
            self._t.seen.add((platform, event_id))
            return True

    async def begin_turn(
        self, platform: str, event_id: str, now: float, user_key: str, conversation: bool = True
    ) -> Loaded | None:
        """Mark an event seen and load its user, conversation (if asked) and open ticket."""
        async with self.transaction():
            if not await self.mark_seen(platform, event_id, now):
                return None
            conv = await self.load_conversation(user_key) if conversation else None
            user = await self.get_user(user_key)
            return Loaded(user, conv, await self.open_ticket_for(user_key))

    # users and conversations

    async def get_user(self, key: str) -> UserRecord | None:
        """The user, if known."""
        return _copy(self._t.users.get(key))

    async def upsert_user(self, user: UserRecord) -> None:
        """Insert or update a user (`created_at` is kept from the first insert)."""
        async with self.transaction():
            old = self._t.users.get(user.key)
            created_at = user.created_at if old is None else old.created_at
            self._t.users[user.key] = replace(user, created_at=created_at)

    async def load_conversation(self, user_key: str) -> Conversation | None:
        """The saved conversation, if any."""
        conv = self._t.conversations.get(user_key)
        return None if conv is None else replace(conv, data=_json_copy(conv.data))

    async def save_conversation(self, conv: Conversation) -> None:
        """Save the conversation (the caller bumps `version`)."""
        async with self.transaction():
            self._t.conversations[conv.user_key] = replace(conv, data=_json_copy(conv.data))

    # tickets

    async def create_ticket(self, ticket: Ticket) -> Ticket:
        """Insert a ticket and return a copy with its new id."""
        async with self.transaction():
            stored = replace(_copy(ticket), id=self._t.next_ticket)
            self._t.next_ticket += 1
            self._t.tickets[stored.id] = stored
            return _copy(stored)

    async def update_ticket(self, ticket: Ticket) -> None:
        """Save every field of an existing ticket; KeyError when there is none with its id."""
        async with self.transaction():
            if ticket.id not in self._t.tickets:
                raise KeyError(f"no ticket #{ticket.id}")
            self._t.tickets[ticket.id] = _copy(ticket)

    async def get_ticket(self, ticket_id: int) -> Ticket | None:
        """The ticket with that id."""
        return _copy(self._t.tickets.get(ticket_id))

    async def open_ticket_for(self, user_key: str) -> Ticket | None:
        """The user's ticket that is open or claimed, if any (the newest, should there be two)."""
        found = [t for t in self._t.tickets.values() if t.user_key == user_key]
        active = [t for t in found if t.status in _ACTIVE]
        return _copy(max(active, key=lambda t: t.id, default=None))

    async def latest_ticket_for(self, user_key: str) -> Ticket | None:
        """The user's most recent ticket in any state."""
        found = [t for t in self._t.tickets.values() if t.user_key == user_key]
        return _copy(max(found, key=lambda t: t.id, default=None))

    async def list_tickets(
        self, statuses: Sequence[TicketStatus] = (), limit: int = 100
    ) -> list[Ticket]:
        """Tickets in those states (all when empty), newest (highest id) first."""
        wanted = set(statuses)
        found = [t for t in self._t.tickets.values() if not wanted or t.status in wanted]
        return _copy(sorted(found, key=lambda t: -t.id)[:limit])

    async def queue(self) -> list[Ticket]:
        """Open and claimed tickets, by priority (high first), then oldest first."""
        found = [t for t in self._t.tickets.values() if t.status in _ACTIVE]
        return _copy(sorted(found, key=lambda t: (-t.priority, t.created_at, t.id)))

    async def queue_position(self, ticket: Ticket) -> int:
        """1 + how many open (unclaimed) tickets are served before this one."""
        mine = (-ticket.priority, ticket.created_at, ticket.id)
        return 1 + sum(
            1
            for t in self._t.tickets.values()
            if t.status == TicketStatus.OPEN
            and t.id != ticket.id
            and (-t.priority, t.created_at, t.id) < mine
        )

    async def add_message(self, message: TicketMessage) -> TicketMessage:
        """Append to a ticket's history and return a copy with its id."""
        async with self.transaction():
            if message.ticket_id not in self._t.tickets:
                raise KeyError(f"no ticket #{message.ticket_id}")
            stored = replace(_copy(message), id=self._t.next_message)
            self._t.next_message += 1
            self._t.messages[stored.id] = stored
            return _copy(stored)

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        """A ticket's history, oldest first."""
        return _copy([m for m in self._t.messages.values() if m.ticket_id == ticket_id])

    async def messages_after(self, after_id: int, limit: int = 500) -> list[TicketMessage]:
        """Every ticket message with id > after_id, oldest first (for the desk's live view)."""
        return _copy([m for m in self._t.messages.values() if m.id > after_id][:limit])

    async def recent_first_responses(self, limit: int = 20) -> list[float]:
        """Seconds from creation to first response, most recently answered tickets first."""
        answered = [t for t in self._t.tickets.values() if t.first_response_at is not None]
        answered.sort(key=lambda t: (t.first_response_at, t.id), reverse=True)
        return [(t.first_response_at or 0.0) - t.created_at for t in answered[:limit]]

    async def active_moderators(self, since: float) -> int:
        """How many distinct moderators wrote, claimed or closed since `since` (inclusive)."""
        who = {
            m.author_id
            for m in self._t.messages.values()
            if m.author in (Author.MODERATOR, Author.NOTE) and m.created_at >= since
        }
        for t in self._t.tickets.values():
            if t.claimed_at is not None and t.claimed_at >= since:
                who.add(t.claimed_by)
            # Moderators only: closed_by is "user:<key>" when the user closed the ticket.
            closed = t.closed_at is not None and t.closed_at >= since
            if closed and not t.closed_by.startswith("user:"):
                who.add(t.closed_by)
        who.discard("")
        return len(who)

    async def set_thread(self, ticket_id: int, platform: str, chat_id: str, thread: str) -> None:
        """Remember a ticket's topic/thread on a platform."""
        async with self.transaction():
            self._t.threads[ticket_id, platform] = (chat_id, thread)

    async def thread_of(self, ticket_id: int, platform: str) -> tuple[str, str] | None:
        """(chat_id, thread) of a ticket's topic on a platform."""
        return self._t.threads.get((ticket_id, platform))

    async def ticket_by_thread(self, platform: str, chat_id: str, thread: str) -> int | None:
        """The ticket whose topic/thread that is (the newest, should a topic be reused)."""
        found = [
            ticket_id
            for (ticket_id, on), place in self._t.threads.items()
            if on == platform and place == (chat_id, thread)
        ]
        return max(found, default=None)

    async def clear_thread(self, ticket_id: int, platform: str) -> None:
        """Forget a ticket's topic on a platform (it was deleted)."""
        async with self.transaction():
            self._t.threads.pop((ticket_id, platform), None)

    # attachments

    async def add_file(self, file: StoredFile, owner: str = "") -> None:
        """Record a stored file (idempotent by sha256: the first record stays) and its uploader."""
        async with self.transaction():
            self._t.files.setdefault(file.sha256, _copy(file))
            if owner:
                self._t.uploads.add((owner, file.sha256))

    async def get_file(self, sha256: str) -> StoredFile | None:
        """A stored file's record."""
        return _copy(self._t.files.get(sha256))

    # outbox

    async def enqueue(self, item: OutboxItem) -> int:
        """Add a delivery; returns its id (the existing one, unchanged, when the key was seen)."""
        async with self.transaction():
            if item.key in self._t.outbox_keys:
                return self._t.outbox_keys[item.key]
            stored = replace(item, id=self._t.next_outbox, payload=_json_copy(item.payload))
            self._t.next_outbox += 1
            self._t.outbox[stored.id] = stored
            self._t.outbox_keys[stored.key] = stored.id
            return stored.id

    async def due(self, platforms: Sequence[str], now: float, limit: int = 50) -> list[OutboxItem]:
        """Pending deliveries whose time has come, oldest first, only each lane's oldest."""
        wanted = set(platforms)
        heads: set[tuple[str, str, str]] = set()
        found: list[OutboxItem] = []
        for item in self._t.outbox.values():  # id order: dicts keep insertion order
            if item.status != OutboxStatus.PENDING or _lane(item) in heads:
                continue
            # A lane's head blocks the rest of the lane even while it waits for its retry time.
            heads.add(_lane(item))
            if item.platform in wanted and item.next_at <= now:
                found.append(item)
        loaded = _copy(found[:limit])
        for item in loaded:  # still in flight: its process died mid-send (see SqliteStore)
            item.maybe_doubled = item.maybe_doubled or item.inflight_at is not None
        return loaded

    async def mark_inflight(self, item_ids: Sequence[int], now: float) -> None:
        """Mark pending deliveries as being sent (kept at once: nothing here is deferred)."""
        async with self.transaction():
            for item_id in item_ids:
                item = self._t.outbox.get(item_id)
                if item is not None and item.status == OutboxStatus.PENDING:
                    self._change(item_id, inflight_at=now)

    async def mark_sent(self, item_id: int, now: float, maybe_doubled: bool = False) -> None:
        """The delivery succeeded; the in-flight mark is cleared."""
        async with self.transaction():
            self._change(
                item_id,
                status=OutboxStatus.SENT,
                sent_at=now,
                maybe_doubled=maybe_doubled,
                inflight_at=None,
            )

    async def mark_retry(
        self, item_id: int, next_at: float, error: str, maybe_delivered: bool = False
    ) -> None:
        """The delivery failed for now; count the attempt and try again at `next_at`.

        `maybe_delivered` (the platform may have acted before failing) sticks to the item; the
        in-flight mark is cleared.
        """
        async with self.transaction():
            item = self._t.outbox.get(item_id)
            attempts = 0 if item is None else item.attempts + 1
            doubled = maybe_delivered or (item is not None and item.maybe_doubled)
            self._change(
                item_id,
                attempts=attempts,
                next_at=next_at,
                last_error=error,
                maybe_doubled=doubled,
                inflight_at=None,
            )

    async def mark_dead(self, item_id: int, error: str) -> None:
        """The delivery will not succeed: dead-letter it (the in-flight mark is cleared)."""
        async with self.transaction():
            self._change(item_id, status=OutboxStatus.DEAD, last_error=error, inflight_at=None)

    async def retry_dead(self, item_id: int, now: float) -> bool:
        """Put a dead delivery back to pending, due now; False when there is none with that id."""
        async with self.transaction():
            item = self._t.outbox.get(item_id)
            if item is None or item.status != OutboxStatus.DEAD:
                return False
            self._change(item_id, status=OutboxStatus.PENDING, next_at=now)
            return True

    def _change(self, item_id: int, **changes: Any) -> None:
        item = self._t.outbox.get(item_id)
        if item is not None:
            self._t.outbox[item_id] = replace(item, **changes)

    async def outbox_items(
        self, statuses: Sequence[OutboxStatus] = (), limit: int = 100
    ) -> list[OutboxItem]:
        """Deliveries in those states (all when empty), oldest first."""
        wanted = set(statuses)
        found = [i for i in self._t.outbox.values() if not wanted or i.status in wanted]
        return _copy(found[:limit])

    # snippets, feedback, stats, privacy

    async def get_snippet(self, name: str) -> str | None:
        """A canned reply by name."""
        return self._t.snippets.get(name)

    async def set_snippet(self, name: str, text: str) -> None:
        """Create or replace a canned reply."""
        async with self.transaction():
            self._t.snippets[name] = text

    async def list_snippets(self) -> list[tuple[str, str]]:
        """Every canned reply, by name."""
        return sorted(self._t.snippets.items())

    async def add_feedback(self, article_id: str, query: str, solved: bool, now: float) -> None:
        """Record a Solved / Not solved click."""
        async with self.transaction():
            self._t.feedback.append((article_id, query, solved, now))

    async def add_search_miss(self, query: str, now: float) -> None:
        """Record a query that found nothing confident."""
        async with self.transaction():
            self._t.misses.append((query, now))

    async def article_stats(self, limit: int = 10) -> list[tuple[str, int, int]]:
        """(article id, solved, not solved), worst solve rate first, then most votes."""
        counts: dict[str, list[int]] = {}
        for article_id, _query, solved, _at in self._t.feedback:
            tally = counts.setdefault(article_id, [0, 0])
            tally[0 if solved else 1] += 1
        stats = [(article, yes, no) for article, (yes, no) in counts.items()]
        stats.sort(key=lambda s: (s[1] / (s[1] + s[2]), -(s[1] + s[2]), s[0]))
        return stats[:limit]

    async def top_misses(self, limit: int = 10) -> list[tuple[str, int]]:
        """The most frequent queries that found nothing (folded), with their counts."""
        counts: dict[str, int] = {}
        for query, _at in self._t.misses:
            counts[_fold_query(query)] = counts.get(_fold_query(query), 0) + 1
        return sorted(counts.items(), key=lambda c: (-c[1], c[0]))[:limit]

    async def expire_files(self, closed_before: float) -> list[str]:
        """Drop the attachments of tickets closed before then; paths of files now unused."""
        async with self.transaction():
            old = {
                t.id
                for t in self._t.tickets.values()
                if t.status == TicketStatus.CLOSED
                and t.closed_at is not None
                and t.closed_at < closed_before
            }
            candidates: set[str] = set()
            for t in self._t.tickets.values():
                if t.id in old:
                    candidates.update(t.images)
                    t.images = []
            for m in self._t.messages.values():
                if m.ticket_id in old:
                    candidates.update(m.attachments)
                    m.attachments = []
            self._t.uploads = {u for u in self._t.uploads if u[1] not in candidates}
            used = {sha for t in self._t.tickets.values() for sha in t.images}
            used.update(sha for m in self._t.messages.values() for sha in m.attachments)
            paths = []
            for sha in sorted(candidates - used):
                file = self._t.files.pop(sha, None)
                if file is not None:
                    paths.append(file.path)
            return sorted(paths)

    async def forget_user(self, user_key: str) -> list[str]:
        """Delete a user's data; return the paths of files nothing else uses any more."""
        async with self.transaction():
            candidates = self._blank_user_data(user_key)
            mine = {u for u in self._t.uploads if u[0] == user_key}
            candidates.update(sha for _, sha in mine)
            self._t.uploads -= mine
            used = {sha for t in self._t.tickets.values() for sha in t.images}
            used.update(sha for _, sha in self._t.uploads)
            used.update(sha for m in self._t.messages.values() for sha in m.attachments)
            paths: list[str] = []
            for sha in candidates - used:
                file = self._t.files.pop(sha, None)
                if file is not None:
                    paths.append(file.path)
            return sorted(paths)

    def _blank_user_data(self, user_key: str) -> set[str]:
        """Blank what the user wrote (see SqliteStore); return the file hashes it referred to."""
        tickets = [t for t in self._t.tickets.values() if t.user_key == user_key]
        ids = {t.id for t in tickets}
        user = self._t.users.pop(user_key, None)
        chats = {(t.platform, t.chat_id) for t in tickets}
        if user is not None:
            chats.add((user.platform, user.platform_id))
        self._t.conversations.pop(user_key, None)
        candidates: set[str] = set()
        for t in tickets:
            candidates.update(t.images)
            t.user_name, t.answers, t.images, t.summary = "", [], [], ""
        for m in self._t.messages.values():
            if m.ticket_id in ids and m.author == Author.USER:
                candidates.update(m.attachments)
                m.text, m.author_name, m.attachments = "", "", []
        for item in self._t.outbox.values():
            private = item.chat_kind == "private" and (item.platform, item.chat_id) in chats
            mine = item.ticket_id in ids or private
            if mine and item.status in (OutboxStatus.SENT, OutboxStatus.DEAD):
                item.payload = {}
        return candidates
