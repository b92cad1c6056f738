"""Making a ticket move (bot.tickets) in a turn: refuse or apply, save, keep it in the history,
and tell the user and the moderators what bot.tickets.NOTICES says, with the buttons that fit."""

from __future__ import annotations

from bot import tickets
from bot.actions import Verb, act, owner_tag
from bot.flows.turn import Services, Turn
from bot.storage.records import Author, Ticket, TicketStatus
from bot.tickets import Move, Notice, Role
from bot.types import Button, Look, Reply


def mod_buttons(svc: Services, ticket: Ticket, lang: str = "") -> tuple[tuple[Button, ...], ...]:
    """Claim / Close, or Unclaim / Close, or Reopen, by the ticket's state (in `lang`, by
    default the moderators')."""
    lang = lang or svc.mod_lang
    close = Button(svc.texts(lang, "btn_close"), act(Verb.MOD_CLOSE, ticket.id), look=Look.DANGER)
    if ticket.status == TicketStatus.CLOSED:
        return ((Button(svc.texts(lang, "btn_reopen"), act(Verb.MOD_REOPEN, ticket.id)),),)
    if ticket.status == TicketStatus.CLAIMED:
        return ((Button(svc.texts(lang, "btn_unclaim"), act(Verb.UNCLAIM, ticket.id)), close),)
    claim = Button(svc.texts(lang, "btn_claim"), act(Verb.CLAIM, ticket.id), look=Look.POSITIVE)
    return ((claim, close),)


def _rating_rows(svc: Services, ticket: Ticket) -> tuple[tuple[Button, ...], ...]:
    """Stars, Reopen and a person, for the ticket's user (their buttons, in their language)."""
    owner, lang = owner_tag(ticket.user_key), ticket.lang
    stars = tuple(Button(str(n), act(Verb.RATE, ticket.id, n, owner=owner)) for n in range(1, 6))
    reopen = Button(svc.texts(lang, "btn_reopen"), act(Verb.REOPEN, ticket.id, owner=owner))
    human = Button(svc.texts(lang, "btn_human"), act(Verb.HUMAN, owner=owner), look=Look.PRIMARY)
    return (stars, (reopen, human))


def _refuse(turn: Turn, role: Role, why: str, ticket: Ticket) -> None:
    if role is Role.OWNER:
        turn.text(why, turn.human_row(), id=ticket.id)
        return
    buttons = mod_buttons(turn.svc, ticket, turn.actor_lang) if why != "ticket_exists" else ()
    turn.say(Reply(turn.mine(why, id=ticket.id), buttons=buttons))


async def _another_open(turn: Turn, ticket: Ticket, role: Role) -> bool:
    """A reopen would give the user a second open ticket (at most one is allowed)."""
    if role is Role.OWNER:
        other = turn.ticket
    else:
        other = await turn.svc.store.open_ticket_for(ticket.user_key)
    return other is not None and other.id != ticket.id


async def make(
    turn: Turn,
    ticket: Ticket,
    move: Move,
    role: Role,
    *,
    reason: str = "",
    rating: int = 0,
    notice: Notice | None = None,
) -> bool:
    """Make the move if it may be made (else say why); False when it was refused."""
    days = turn.svc.config.bot.reopen_days
    why = tickets.refusal(ticket, move, role, turn.now, days, rating)
    if not why and move is Move.REOPEN and await _another_open(turn, ticket, role):
        why = "ticket_exists"
    if why:
        _refuse(turn, role, why, ticket)
        return False
    was = await _taken_from(turn, ticket, move)
    tickets.apply(ticket, move, role, turn.actor, turn.now, reason, rating)
    turn.save(ticket)
    told = notice or (TAKEN[move] if was else tickets.NOTICES[(move, role)])
    if told.history:
        line = turn.mt(told.history, reason=ticket.close_reason, was=was).strip()
        turn.log(ticket, Author.SYSTEM, line)
    if told.to_moderators:
        values = {"id": ticket.id, "name": turn.actor_name, "rating": rating, "was": was}
        buttons = mod_buttons(turn.svc, ticket)
        shared = Reply(turn.mt(told.to_moderators, **values), buttons=buttons)
        mine = None  # the acting moderator's copy, when they read another language
        if turn.actor_lang != turn.svc.mod_lang:
            mine_buttons = mod_buttons(turn.svc, ticket, turn.actor_lang)
            mine = Reply(turn.mine(told.to_moderators, **values), buttons=mine_buttons)
        turn.to_moderators(ticket, shared, mine=mine)
    if told.to_user:
        _tell_user(turn, ticket, move, role, told.to_user)
    return True


# A claim or an unclaim of a ticket another moderator has: said so, naming them (the user
# is told of the unclaim as always; of a claim they know already, a moderator has it).
TAKEN = {
    Move.CLAIM: Notice("", "mod_taken_over", "log_taken_over"),
    Move.UNCLAIM: Notice("ticket_unclaimed", "mod_unclaimed_other", "log_unclaimed_other"),
}


async def _taken_from(turn: Turn, ticket: Ticket, move: Move) -> str:
    """The name of the moderator a claim or unclaim takes the ticket from ("" when it is
    nobody's or the actor's own)."""
    if move not in TAKEN or ticket.status is not TicketStatus.CLAIMED:
        return ""
    if not ticket.claimed_by or ticket.claimed_by == turn.actor:
        return ""
    names = await turn.svc.store.moderator_names({ticket.claimed_by})
    return names.get(ticket.claimed_by) or ticket.claimed_by.rpartition(":")[2]


def _tell_user(turn: Turn, ticket: Ticket, move: Move, role: Role, key: str) -> None:
    svc, lang = turn.svc, ticket.lang
    if move is Move.CLOSE and role is Role.MODERATOR:
        lines = [svc.texts(lang, key, id=ticket.id)]
        if ticket.close_reason:
            lines.append(svc.texts(lang, "close_reason", reason=ticket.close_reason))
        lines.append(svc.texts(lang, "rate_prompt", days=svc.config.bot.reopen_days))
        turn.to_user(ticket, Reply("\n".join(lines), buttons=_rating_rows(svc, ticket)))
    elif move is Move.CLOSE:
        rows = ((turn.button("btn_reopen", Verb.REOPEN, ticket.id),), turn.human_row())
        days = svc.config.bot.reopen_days
        turn.say(Reply(turn.t(key, id=ticket.id, days=days), buttons=rows))
    elif role is Role.MODERATOR:
        turn.to_user(ticket, Reply(svc.texts(lang, key, id=ticket.id)))
    # the user's own reopen and rating are answered by their flow (status, menu)
