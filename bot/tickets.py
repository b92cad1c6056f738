"""A ticket's life, in one place: its states, the moves between them, who may make each, and
what each move says to whom.

    open ──claim / reply──► claimed ──unclaim──► open
      │                        │
      └────────close───────────┴──► closed ──reopen──► open (by its user: back in the queue)
                                        └─────reopen──► claimed (by a moderator: they have it)

The functions here are pure: `refusal` says why a move cannot be made now (a catalog key),
`apply` changes the record, `NOTICES` names the catalog keys each side is told. The ticket
flow (bot.flows.ticket_moves) does the saving and the telling; flows, the desk and the
scheduler go through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.storage.records import Ticket, TicketStatus

OPEN, CLAIMED, CLOSED = TicketStatus.OPEN, TicketStatus.CLAIMED, TicketStatus.CLOSED
ACTIVE = frozenset({OPEN, CLAIMED})
RATINGS = frozenset(range(1, 6))
REASON_MAX = 500  # characters of a close reason kept and shown
DAY = 86400.0


class Move(StrEnum):
    """What can happen to a ticket."""

    CLAIM = "claim"  # a moderator takes it
    UNCLAIM = "unclaim"  # and puts it back in the queue
    REPLY = "reply"  # a moderator writes to the user (an open ticket becomes theirs)
    CLOSE = "close"  # a moderator or the user ends it
    REOPEN = "reopen"  # its user (within the window) or a moderator brings it back
    RATE = "rate"  # its user rates a closed ticket 1-5


class Role(StrEnum):
    """Who makes a move."""

    OWNER = "owner"  # the ticket's user
    MODERATOR = "moderator"


@dataclass(frozen=True, slots=True)
class Rule:
    """Where a move may start, who may make it, and where it leads for each of them."""

    sources: frozenset[TicketStatus]
    targets: dict[Role, TicketStatus | None]  # None: the status stays as it was


RULES: dict[Move, Rule] = {
    Move.CLAIM: Rule(ACTIVE, {Role.MODERATOR: CLAIMED}),
    Move.UNCLAIM: Rule(frozenset({CLAIMED}), {Role.MODERATOR: OPEN}),
    Move.REPLY: Rule(ACTIVE, {Role.MODERATOR: CLAIMED}),
    Move.CLOSE: Rule(ACTIVE, {Role.MODERATOR: CLOSED, Role.OWNER: CLOSED}),
    Move.REOPEN: Rule(frozenset({CLOSED}), {Role.MODERATOR: CLAIMED, Role.OWNER: OPEN}),
    Move.RATE: Rule(frozenset({CLOSED}), {Role.OWNER: None}),
}


@dataclass(frozen=True, slots=True)
class Notice:
    """The catalog keys a move is announced with: to the user, to the moderators, and the
    line kept in the ticket's history ("" = nobody is told / nothing is kept)."""

    to_user: str
    to_moderators: str
    history: str


NOTICES: dict[tuple[Move, Role], Notice] = {
    (Move.CLAIM, Role.MODERATOR): Notice("ticket_claimed", "mod_claimed", "log_claimed"),
    (Move.UNCLAIM, Role.MODERATOR): Notice("ticket_unclaimed", "mod_unclaimed", "log_unclaimed"),
    (Move.REPLY, Role.MODERATOR): Notice("", "", ""),
    (Move.CLOSE, Role.MODERATOR): Notice("ticket_closed_by_mod", "mod_closed", "log_closed"),
    (Move.CLOSE, Role.OWNER): Notice(
        "ticket_closed_by_user", "mod_closed_by_user", "log_closed_by_user"
    ),
    (Move.REOPEN, Role.MODERATOR): Notice("reopened", "mod_reopened", "log_reopened"),
    (Move.REOPEN, Role.OWNER): Notice("reopened", "mod_reopened_by_user", "log_reopened"),
    (Move.RATE, Role.OWNER): Notice("rated", "mod_rated", ""),
}

# Why a move is refused, by role, when the ticket is not in one of its source states.
_WRONG_STATE: dict[tuple[Move, Role], str] = {
    (Move.CLAIM, Role.MODERATOR): "mod_already_closed",
    (Move.UNCLAIM, Role.MODERATOR): "mod_not_claimed",
    (Move.REPLY, Role.MODERATOR): "mod_reply_closed",
    (Move.CLOSE, Role.MODERATOR): "mod_already_closed",
    (Move.CLOSE, Role.OWNER): "no_ticket",
    (Move.REOPEN, Role.MODERATOR): "mod_not_closed",
    (Move.REOPEN, Role.OWNER): "ticket_exists",
    (Move.RATE, Role.OWNER): "stale_button",
}


def may(move: Move, role: Role) -> bool:
    """Whether `role` may ever make `move`."""
    return role in RULES[move].targets


def refusal(
    ticket: Ticket, move: Move, role: Role, now: float, reopen_days: int, rating: int = 0
) -> str:
    """Why the move cannot be made now (a catalog key), or "" when it can."""
    if not may(move, role):
        return "mod_only" if role is Role.OWNER else "not_your_button"
    if ticket.status not in RULES[move].sources:
        return _WRONG_STATE[(move, role)]
    closed_at = ticket.closed_at
    late = closed_at is not None and now - closed_at > reopen_days * DAY
    if move is Move.REOPEN and role is Role.OWNER and late:
        return "reopen_expired"
    if move is Move.RATE and rating not in RATINGS:
        return "stale_button"
    return ""


def apply(
    ticket: Ticket, move: Move, role: Role, who: str, now: float, reason: str = "", rating: int = 0
) -> None:
    """Make the move on the record (after `refusal` said it may be made).

    `who` is the actor's key: a moderator's `platform:id`, or the user's key.
    """
    target = RULES[move].targets[role]
    if target is not None:
        ticket.status = target
    if move is Move.CLAIM or (move is Move.REPLY and ticket.claimed_by == ""):
        ticket.claimed_by, ticket.claimed_at = who, now
    elif move is Move.UNCLAIM:
        ticket.claimed_by = ""
    elif move is Move.CLOSE:
        ticket.closed_at = now
        ticket.closed_by = who if role is Role.MODERATOR else f"user:{who}"
        ticket.close_reason = reason[:REASON_MAX]
    elif move is Move.REOPEN:
        ticket.closed_at, ticket.closed_by, ticket.close_reason = None, "", ""
        ticket.claimed_by = who if role is Role.MODERATOR else ""
        if role is Role.OWNER:
            ticket.last_paged_at = now  # back in the queue: the SLA clock starts again
    elif move is Move.RATE:
        ticket.rating = rating
    if role is Role.MODERATOR and move is not Move.UNCLAIM and ticket.first_response_at is None:
        ticket.first_response_at = now
