"""The user's side of a ticket's life: close it, rate it, reopen it, and /forget."""

from __future__ import annotations

from bot.actions import Verb, act, owner_tag
from bot.flows import handoff, menu
from bot.flows.ticket_moves import make
from bot.flows.turn import Turn, typed_label
from bot.state import Step
from bot.storage.records import Ticket, TicketStatus
from bot.texts import LANGS
from bot.tickets import Move, Notice, Role
from bot.types import Reply


async def _own_ticket(turn: Turn, ticket_id: str) -> Ticket | None:
    """The user's own ticket with that id; None (after a short answer) otherwise."""
    if turn.ticket is not None and ticket_id == str(turn.ticket.id):
        return turn.ticket
    ticket = await turn.svc.store.get_ticket(int(ticket_id)) if ticket_id.isdigit() else None
    if ticket is None or ticket.user_key != turn.user.key:
        turn.text("not_your_button", turn.human_row())
        return None
    return ticket


async def close_by_user(turn: Turn, ticket_id: str) -> None:
    """The user closes their ticket; the moderators are told."""
    ticket = await _own_ticket(turn, ticket_id)
    if ticket is not None and await make(turn, ticket, Move.CLOSE, Role.OWNER):
        turn.ticket = None


async def reopen_by_user(turn: Turn, ticket_id: str) -> None:
    """Reopen a closed ticket within the window (an open one: its status)."""
    ticket = await _own_ticket(turn, ticket_id)
    if ticket is None:
        return
    if turn.ticket is not None and turn.ticket.id == ticket.id:
        await handoff.show_status(turn)
        return
    if turn.user.banned:  # blocked from opening tickets: reopening one is opening one
        turn.text("banned", (turn.button("btn_menu", Verb.MENU),))
        return
    if await make(turn, ticket, Move.REOPEN, Role.OWNER):
        turn.ticket = ticket
        await handoff.show_status(turn, turn.t("reopened", id=ticket.id))
        follow = turn.data.pop("follow_up", None)
        if isinstance(follow, dict) and follow.get("id") == ticket.id and follow.get("text"):
            # what they wrote after it was closed, the reason they reopen it
            await handoff.relay_from_user(turn, str(follow["text"]), ())


async def typed_reopen(turn: Turn, said: str) -> str | None:
    """ "重新打开" / "Reopen" typed under the message that closed their ticket (sent from the
    moderator's turn, so not among this conversation's buttons): that ticket's Reopen."""
    labels = {typed_label(turn.svc.texts(lang, "btn_reopen")) for lang in LANGS}
    if typed_label(said) not in labels:
        return None
    ticket = await latest_closed(turn)
    return act(Verb.REOPEN, ticket.id, owner=owner_tag(ticket.user_key)) if ticket else None


async def latest_closed(turn: Turn) -> Ticket | None:
    """The user's latest ticket, if it is closed (what a typed "Reopen" or rating is for)."""
    ticket = await turn.svc.store.latest_ticket_for(turn.user.key)
    return ticket if ticket is not None and ticket.status == TicketStatus.CLOSED else None


async def rate(turn: Turn, ticket_id: str, stars: str) -> None:
    """A 1–5 rating of a closed ticket."""
    ticket = await _own_ticket(turn, ticket_id)
    rating = int(stars) if stars.isdigit() and len(stars) == 1 else 0
    if ticket is not None and await make(turn, ticket, Move.RATE, Role.OWNER, rating=rating):
        menu.show_menu(turn, "", turn.t("rated"))


def ask_forget(turn: Turn) -> None:
    """/forget asks for a confirmation first."""
    turn.conv.step = Step.FORGET
    rows = (
        (
            turn.button("btn_forget_yes", Verb.FORGET_YES),
            turn.button("btn_forget_no", Verb.FORGET_NO),
        ),
    )
    turn.say(Reply(turn.t("forget_confirm"), buttons=(*rows, turn.human_row())))


FORGOTTEN = Notice("", "mod_forgot", "log_forgotten")


async def forget(turn: Turn, confirmed: bool) -> None:
    """Delete the user's data once confirmed (their open ticket is closed first)."""
    if turn.conv.step != Step.FORGET:
        turn.text("stale_button", turn.human_row())
        return
    if not confirmed:
        menu.show_menu(turn, "", turn.t("forget_kept"))
        return
    if turn.ticket is not None:
        await make(turn, turn.ticket, Move.CLOSE, Role.OWNER, notice=FORGOTTEN)
    turn.forget = True
    turn.ticket = None
    turn.text("forget_done")
