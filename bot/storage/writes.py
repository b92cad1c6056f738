"""A turn's writes, collected while it decides and committed at its end as one unit.

A turn loads and decides without holding the store's write lock: what it wants written is
recorded here, and `TurnStore.commit_turn` writes all of it atomically, together with the mark
that its event was handled. Saves of records the turn loaded carry the version they were
loaded at; a version that moved on meanwhile (another turn, another process) makes the commit
raise `Conflict` and write nothing, and the engine handles the event again from a fresh load.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.state import Conversation
from bot.storage.records import Miss, OutboxItem, Ticket, TicketMessage, UserRecord


class Conflict(Exception):
    """A record the turn saves changed since it was loaded: nothing was written."""


class AlreadyHandled(Exception):
    """The turn's event was handled before (a redelivery): nothing was written."""


@dataclass(slots=True)
class Feedback:
    """A Solved / Not solved click on an article."""

    article_id: str
    query: str
    solved: bool


@dataclass(slots=True)
class TurnWrites:
    """Everything one turn writes, in the order the store applies it.

    `tickets` holds each ticket once (the last state the turn gave it) and saves it with the
    version it was loaded at; `new_tickets` already carry the id the store allocated.
    """

    seen: tuple[str, str] | None = None  # (platform, event id): handled once
    user: UserRecord | None = None  # the user's own fields (never `banned`)
    moderator: tuple[str, str] | None = None  # (key, display name) of the moderator who acted
    reachable: str = ""  # a user key whose deliveries work again (they wrote to us)
    conversation: Conversation | None = None  # saved if its version is still the loaded one
    new_tickets: list[Ticket] = field(default_factory=list)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    messages: list[TicketMessage] = field(default_factory=list)
    outbox: list[OutboxItem] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)  # queries the help center did not answer
    snippets: list[tuple[str, str]] = field(default_factory=list)  # (name, text)
    banned: list[tuple[str, bool]] = field(default_factory=list)  # (user key, banned)
    retry_dead: list[int] = field(default_factory=list)  # dead deliveries to send again
    moved_threads: list[tuple[int, str]] = field(default_factory=list)  # (ticket, platform)
    forget: str = ""  # a user key whose data is deleted (after everything else)
    now: float = 0.0

    def save_ticket(self, ticket: Ticket) -> None:
        """Save a ticket's current state at commit (a new one is created instead)."""
        if any(t.id == ticket.id for t in self.new_tickets):
            self.new_tickets = [ticket if t.id == ticket.id else t for t in self.new_tickets]
            return
        self.tickets[ticket.id] = ticket


@dataclass(slots=True)
class Committed:
    """What a committed turn leaves to do: stored files nothing refers to any more."""

    orphan_files: list[str] = field(default_factory=list)
