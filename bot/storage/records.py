"""The records Kefu keeps, as the stores hand them out. Times are UTC epoch seconds (float)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.state import Conversation
from bot.types import ChatKind


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
    surfaces: list[tuple[str, str]] = field(default_factory=list)  # (platform, chat) it pages
    id: int = 0
    version: int = 0  # bumped by every save; a save from an older version is a Conflict


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
    """A delivery to make: `payload` is a serialised Reply (see bot.payload).

    Build them with bot.deliveries, not by hand. `key` is unique: enqueueing the same key
    twice keeps the first. Deliveries to one lane go out in id order: a lane is
    (platform, chat_id, thread), except that `to_ticket` items go to the ticket's topic or
    thread on that platform (`ticket_id`), resolved and opened if needed at delivery, and
    each ticket's topic is a lane of its own. `card` marks a ticket's card: the topic it
    opens needs no other card first. `pack` marks a delivery that may be joined into one
    message with the packable ones queued right behind it in its lane (a user's text-only
    relays: see `Outbox` and `bot.deliveries.pack_prefix`).

    `inflight_at` is set (see `OutboxStore.mark_inflight`) while a send is under way and
    cleared when its outcome is recorded. `maybe_doubled`: the platform may have received it
    more than once.
    """

    platform: str
    chat_id: str
    payload: dict[str, Any]
    key: str
    thread: str = ""
    chat_kind: ChatKind = ChatKind.PRIVATE
    ticket_id: int | None = None
    to_ticket: bool = False
    card: bool = False
    pack: bool = False
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    next_at: float = 0.0
    last_error: str = ""
    created_at: float = 0.0
    sent_at: float | None = None
    maybe_doubled: bool = False
    inflight_at: float | None = None
    id: int = 0

    @property
    def lane(self) -> str:
        """The destination within the chat: the thread, or the ticket's own topic."""
        return f"@ticket:{self.ticket_id}" if self.to_ticket else self.thread


@dataclass(slots=True)
class Loaded:
    """What the handling of one event starts from (see `TurnStore.load_turn`)."""

    user: UserRecord | None
    conversation: Conversation | None
    ticket: Ticket | None  # the user's open or claimed ticket
    seen: bool = False  # the event asked about was handled already


@dataclass(frozen=True, slots=True)
class TicketQuery:
    """What the desk's Find looks for; every criterion given must match (empty: any).

    `user` matches the user's key or name, `text` the summary, the form answers and the
    history; `category` matches the category or any below it ("account" finds
    "account/banned"); `since`/`until` bound the creation time, `until` excluded.
    """

    number: int | None = None
    user: str = ""
    text: str = ""
    category: str = ""
    status: TicketStatus | None = None
    since: float | None = None
    until: float | None = None
    limit: int = 100

    def params(self) -> dict[str, Any]:
        """The criteria as a statement's named parameters, trimmed ("" and None: any)."""
        return {
            "number": self.number,
            "user": self.user.strip(),
            "text": self.text.strip(),
            "category": self.category.strip().strip("/"),
            "status": TicketStatus(self.status).value if self.status else "",
            "since": self.since,
            "until": self.until,
            "limit": max(0, self.limit),
        }


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """The figures of one ticket that reports count: times, where it came from, who
    handled it (the moderator who claimed it, else the one who closed it) and its rating."""

    id: int
    platform: str
    category: str
    status: TicketStatus
    created_at: float
    first_response_at: float | None
    closed_at: float | None
    handler: str
    rating: int | None


@dataclass(frozen=True, slots=True)
class FeedbackCount:
    """Solved / Not solved clicks on one article after one query, within a period."""

    article_id: str
    query: str
    solved: int
    not_solved: int


@dataclass(frozen=True, slots=True)
class OpsSnapshot:
    """The state of the service right now, for /metrics: all counts over every process."""

    queue_open: int
    queue_claimed: int
    outbox_pending: int
    oldest_pending_at: float | None  # creation time of the oldest pending delivery
    dead_letters: int
    opened: dict[str, int]  # tickets ever opened, by platform
    closed: dict[str, int]  # tickets closed now, by platform
    sla_breaches: int  # tickets answered after the SLA, or waiting past it unanswered


class MissKind(StrEnum):
    """How a search ended without helping."""

    NOTHING = "nothing"  # nothing confident was found
    NOT_SOLVED = "not_solved"  # the user said the article shown did not solve it
    HANDOFF = "handoff"  # the user asked for a person right after an article


@dataclass(slots=True)
class Miss:
    """A query the help center did not answer, kept so a moderator can teach the search."""

    query: str
    kind: MissKind = MissKind.NOTHING
    article_id: str = ""  # the article shown, if any
    kb: str = ""  # the knowledge base it was asked of
    created_at: float = 0.0
    id: int = 0


@dataclass(slots=True)
class TaughtExample:
    """A query a moderator attached to the article that answers it."""

    query: str
    article_id: str
    kb: str = ""
    added_by: str = ""
    created_at: float = 0.0
    id: int = 0
