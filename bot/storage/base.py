"""Storage Protocols and the records they hold. Times are UTC epoch seconds (float)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from bot.state import Conversation


class TicketStatus(StrEnum):
    """A ticket's life: open (waiting), claimed (a moderator has it), closed."""

    OPEN = "open"
    CLAIMED = "claimed"
    CLOSED = "closed"


class Author(StrEnum):
    """Who wrote a ticket message."""

    USER = "user"
    MODERATOR = "moderator"
    NOTE = "note"  # internal moderator note, never relayed to the user
    SYSTEM = "system"  # claimed, closed, delivery failed, ...


class OutboxStatus(StrEnum):
    """A delivery's state."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


@dataclass(slots=True)
class UserRecord:
    """A person on one platform, keyed `platform:id`."""

    key: str
    platform: str
    platform_id: str
    display_name: str = ""
    lang: str = ""
    blocked_bot: bool = False  # they blocked the bot / closed DMs: deliveries fail
    banned: bool = False  # a moderator blocked them from opening tickets
    created_at: float = 0.0


@dataclass(slots=True)
class Ticket:
    """A handoff to a person. `id` is assigned by the store (shown as #id)."""

    user_key: str
    platform: str
    chat_id: str  # where the user's replies go
    user_name: str = ""
    category: str = ""
    form_id: str = ""
    answers: list[tuple[str, str]] = field(default_factory=list)  # (field label, answer)
    images: list[str] = field(default_factory=list)  # sha256 of form screenshots
    status: TicketStatus = TicketStatus.OPEN
    priority: int = 0
    lang: str = ""
    summary: str = ""  # what the user asked, for the queue listing
    created_at: float = 0.0
    claimed_by: str = ""
    claimed_at: float | None = None
    first_response_at: float | None = None
    closed_at: float | None = None
    closed_by: str = ""
    close_reason: str = ""
    rating: int | None = None
    user_unreachable: bool = False
    last_paged_at: float | None = None
    id: int = 0


@dataclass(slots=True)
class TicketMessage:
    """One message in a ticket's history, with the sha256 of its attachments."""

    ticket_id: int
    author: Author
    author_id: str
    author_name: str
    text: str
    attachments: list[str] = field(default_factory=list)
    created_at: float = 0.0
    id: int = 0


@dataclass(slots=True)
class StoredFile:
    """An attachment stored by content hash under the data directory."""

    sha256: str
    mime: str
    size: int
    width: int
    height: int
    path: str  # relative to the data directory
    created_at: float = 0.0


@dataclass(slots=True)
class OutboxItem:
    """A delivery to make: `payload` is a serialised Reply (see bot.outbox).

    `key` is unique: enqueueing the same key twice keeps the first. Deliveries to one
    (platform, chat_id, thread) go out in id order. `thread` may be "@ticket" to mean the
    ticket's topic/thread on that platform, resolved (and created if needed) at delivery.

    `inflight_at` is set (see `Store.mark_inflight`) while a send is under way and cleared when
    its outcome is recorded. `maybe_doubled`: the platform may have received it more than once.
    """

    platform: str
    chat_id: str
    payload: dict[str, Any]
    key: str
    thread: str = ""
    chat_kind: str = "private"
    ticket_id: int | None = None
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    next_at: float = 0.0
    last_error: str = ""
    created_at: float = 0.0
    sent_at: float | None = None
    maybe_doubled: bool = False
    inflight_at: float | None = None
    id: int = 0


@dataclass(slots=True)
class Loaded:
    """What the handling of one event starts from (see `Store.begin_turn`)."""

    user: UserRecord | None
    conversation: Conversation | None
    ticket: Ticket | None  # the user's open or claimed ticket


class Store(Protocol):
    """Everything Kefu keeps. One implementation per technology: SqliteStore, MemoryStore."""

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """Group writes atomically; nested use in the same task joins the outer one."""
        ...

    async def close(self) -> None:
        """Release the underlying resources."""
        ...

    # inbound events
    async def mark_seen(self, platform: str, event_id: str, now: float) -> bool:
        """Record an event id; False when it was seen before (handle it only once)."""
        ...

    async def begin_turn(
        self, platform: str, event_id: str, now: float, user_key: str, conversation: bool = True
    ) -> Loaded | None:
        """Mark an event seen and load its user, conversation (if asked) and open ticket.

        None when the event was seen before. Call it inside `transaction()`, which the turn's
        saves then join: the mark, the loads and the saves are one atomic unit.
        """
        ...

    # users and conversations
    async def get_user(self, key: str) -> UserRecord | None:
        """The user, if known."""
        ...

    async def upsert_user(self, user: UserRecord) -> None:
        """Insert or update a user."""
        ...

    async def load_conversation(self, user_key: str) -> Conversation | None:
        """The saved conversation, if any."""
        ...

    async def save_conversation(self, conv: Conversation) -> None:
        """Save the conversation (the caller bumps `version`)."""
        ...

    # tickets
    async def create_ticket(self, ticket: Ticket) -> Ticket:
        """Insert a ticket and return it with its new id."""
        ...

    async def update_ticket(self, ticket: Ticket) -> None:
        """Save every field of an existing ticket."""
        ...

    async def get_ticket(self, ticket_id: int) -> Ticket | None:
        """The ticket with that id."""
        ...

    async def open_ticket_for(self, user_key: str) -> Ticket | None:
        """The user's ticket that is open or claimed, if any (at most one exists)."""
        ...

    async def latest_ticket_for(self, user_key: str) -> Ticket | None:
        """The user's most recent ticket in any state."""
        ...

    async def list_tickets(
        self, statuses: Sequence[TicketStatus] = (), limit: int = 100
    ) -> list[Ticket]:
        """Tickets in those states (all when empty), newest first."""
        ...

    async def queue(self) -> list[Ticket]:
        """Open and claimed tickets, by priority (high first), then oldest first."""
        ...

    async def queue_position(self, ticket: Ticket) -> int:
        """1 + how many open (unclaimed) tickets are served before this one."""
        ...

    async def add_message(self, message: TicketMessage) -> TicketMessage:
        """Append to a ticket's history and return the message with its id."""
        ...

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        """A ticket's history, oldest first."""
        ...

    async def messages_after(self, after_id: int, limit: int = 500) -> list[TicketMessage]:
        """Every ticket message with id > after_id, oldest first (for the desk's live view)."""
        ...

    async def recent_first_responses(self, limit: int = 20) -> list[float]:
        """Seconds from creation to first moderator response, of the latest answered tickets."""
        ...

    async def active_moderators(self, since: float) -> int:
        """How many distinct moderators wrote, claimed or closed since `since`."""
        ...

    async def set_thread(self, ticket_id: int, platform: str, chat_id: str, thread: str) -> None:
        """Remember a ticket's topic/thread on a platform."""
        ...

    async def thread_of(self, ticket_id: int, platform: str) -> tuple[str, str] | None:
        """(chat_id, thread) of a ticket's topic on a platform."""
        ...

    async def ticket_by_thread(self, platform: str, chat_id: str, thread: str) -> int | None:
        """The ticket whose topic/thread that is."""
        ...

    async def clear_thread(self, ticket_id: int, platform: str) -> None:
        """Forget a ticket's topic on a platform (it was deleted)."""
        ...

    # attachments
    async def add_file(self, file: StoredFile, owner: str = "") -> None:
        """Record a stored file (idempotent by sha256) and, if given, who uploaded it."""
        ...

    async def get_file(self, sha256: str) -> StoredFile | None:
        """A stored file's record."""
        ...

    # outbox
    async def enqueue(self, item: OutboxItem) -> int:
        """Add a delivery; returns its id (the existing one when the key was seen)."""
        ...

    async def due(self, platforms: Sequence[str], now: float, limit: int = 50) -> list[OutboxItem]:
        """Pending deliveries whose time has come, for those platforms, oldest first.

        Only the oldest pending item of each (platform, chat_id, thread) is returned, so a
        destination's messages are never reordered by retries. An item still marked in flight
        (a process died between `mark_inflight` and recording the outcome: the platform may
        have taken it) comes back with `maybe_doubled = True`.
        """
        ...

    async def mark_inflight(self, item_ids: Sequence[int], now: float) -> None:
        """Mark pending deliveries as being sent (`inflight_at = now`), before the sends.

        One write for the whole batch, committed before it returns (inside `transaction()` it
        joins that instead), so a process killed mid-send leaves the mark for the next one to
        find. Recording the outcome (`mark_sent`, `mark_retry`, `mark_dead`) clears it.
        """
        ...

    async def mark_sent(self, item_id: int, now: float, maybe_doubled: bool = False) -> None:
        """The delivery succeeded: store `maybe_doubled` as given, clear the in-flight mark."""
        ...

    async def mark_retry(
        self, item_id: int, next_at: float, error: str, maybe_delivered: bool = False
    ) -> None:
        """The delivery failed for now; count the attempt and try again at `next_at`.

        `maybe_delivered` (the platform may have acted before failing) sticks to the item. The
        in-flight mark is cleared: the outcome of this try is known.
        """
        ...

    async def mark_dead(self, item_id: int, error: str) -> None:
        """The delivery will not succeed: dead-letter it (the in-flight mark is cleared)."""
        ...

    async def retry_dead(self, item_id: int, now: float) -> bool:
        """Put a dead delivery back to pending; False when there is none with that id."""
        ...

    async def outbox_items(
        self, statuses: Sequence[OutboxStatus] = (), limit: int = 100
    ) -> list[OutboxItem]:
        """Deliveries in those states (all when empty), oldest first."""
        ...

    # snippets, feedback, stats, privacy
    async def get_snippet(self, name: str) -> str | None:
        """A canned reply by name."""
        ...

    async def set_snippet(self, name: str, text: str) -> None:
        """Create or replace a canned reply."""
        ...

    async def list_snippets(self) -> list[tuple[str, str]]:
        """Every canned reply, by name."""
        ...

    async def add_feedback(self, article_id: str, query: str, solved: bool, now: float) -> None:
        """Record a Solved / Not solved click."""
        ...

    async def add_search_miss(self, query: str, now: float) -> None:
        """Record a query that found nothing confident."""
        ...

    async def article_stats(self, limit: int = 10) -> list[tuple[str, int, int]]:
        """(article id, solved, not solved), worst solve rate first."""
        ...

    async def top_misses(self, limit: int = 10) -> list[tuple[str, int]]:
        """The most frequent queries that found nothing, with their counts."""
        ...

    async def expire_files(self, closed_before: float) -> list[str]:
        """Drop the attachments of tickets closed before then; paths of files now unused."""
        ...

    async def forget_user(self, user_key: str) -> list[str]:
        """Delete a user's data; return the paths of files no other ticket still uses."""
        ...
