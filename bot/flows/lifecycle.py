"""The user's side of a ticket's life: close it, rate it, reopen it, and /forget."""

from __future__ import annotations

from bot.actions import Verb
from bot.flows import handoff, menu
from bot.flows.turn import Turn
from bot.state import Step
from bot.storage.base import Author, Ticket, TicketMessage, TicketStatus
from bot.types import Reply

DAY = 86400.0


async def _own_ticket(turn: Turn, ticket_id: str) -> Ticket | None:
    """The user's own ticket with that id; None (after a short answer) otherwise."""
    ticket = await turn.svc.store.get_ticket(int(ticket_id)) if ticket_id.isdigit() else None
    if ticket is None or ticket.user_key != turn.user.key:
        turn.text("not_your_button", turn.human_row())
        return None
    return ticket


async def close_by_user(turn: Turn, ticket_id: str) -> None:
    """The user closes their ticket; the moderators are told."""
    ticket = await _own_ticket(turn, ticket_id)
    if ticket is None:
        return
    if ticket.status == TicketStatus.CLOSED:
        turn.text("no_ticket", turn.human_row())
        return
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = turn.now
    ticket.closed_by = f"user:{turn.user.key}"
    await turn.svc.store.update_ticket(ticket)
    await turn.svc.store.add_message(
        TicketMessage(
            ticket.id, Author.SYSTEM, turn.user.key, "", "closed by user", created_at=turn.now
        )
    )
    turn.ticket = None
    turn.to_moderators(
        ticket,
        Reply(
            turn.mt("mod_closed_by_user", id=ticket.id),
            buttons=handoff.mod_buttons(turn.svc, ticket),
        ),
    )
    days = turn.svc.config.bot.reopen_days
    rows = (
        (turn.button("btn_reopen", Verb.REOPEN, ticket.id),),
        turn.human_row(),
    )
    turn.say(Reply(turn.t("ticket_closed_by_user", id=ticket.id, days=days), buttons=rows))


async def reopen_by_user(turn: Turn, ticket_id: str) -> None:
    """Reopen a closed ticket within the window."""
    ticket = await _own_ticket(turn, ticket_id)
    if ticket is None:
        return
    if turn.ticket is not None:
        await handoff.show_status(turn)
        return
    if ticket.status != TicketStatus.CLOSED:
        turn.ticket = ticket
        await handoff.show_status(turn)
        return
    window = turn.svc.config.bot.reopen_days * DAY
    if ticket.closed_at is not None and turn.now - ticket.closed_at > window:
        turn.text("reopen_expired", turn.human_row(), id=ticket.id)
        return
    ticket.status = TicketStatus.OPEN
    ticket.closed_at = None
    ticket.closed_by = ""
    ticket.claimed_by = ""
    ticket.last_paged_at = turn.now
    await turn.svc.store.update_ticket(ticket)
    turn.ticket = ticket
    turn.to_moderators(
        ticket,
        Reply(
            turn.mt("mod_reopened_by_user", id=ticket.id),
            buttons=handoff.mod_buttons(turn.svc, ticket),
        ),
    )
    await handoff.show_status(turn, turn.t("reopened", id=ticket.id))


async def rate(turn: Turn, ticket_id: str, stars: str) -> None:
    """A 1–5 rating of a closed ticket."""
    ticket = await _own_ticket(turn, ticket_id)
    if ticket is None:
        return
    if ticket.status != TicketStatus.CLOSED or stars not in {"1", "2", "3", "4", "5"}:
        turn.text("stale_button", turn.human_row())
        return
    ticket.rating = int(stars)
    await turn.svc.store.update_ticket(ticket)
    turn.to_moderators(ticket, Reply(turn.mt("mod_rated", id=ticket.id, rating=stars)))
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


async def forget(turn: Turn, confirmed: bool) -> None:
    """Delete the user's data once confirmed; the engine then removes the stored files."""
    if turn.conv.step != Step.FORGET:
        turn.text("stale_button", turn.human_row())
        return
    if not confirmed:
        menu.show_menu(turn, "", turn.t("forget_kept"))
        return
    ticket = turn.ticket
    if ticket is not None:
        ticket.status = TicketStatus.CLOSED
        ticket.closed_at = turn.now
        ticket.closed_by = f"user:{turn.user.key}"
        await turn.svc.store.update_ticket(ticket)
        turn.to_moderators(ticket, Reply(turn.mt("mod_forgot", id=ticket.id)))
    turn.forgotten = await turn.svc.store.forget_user(turn.user.key)
    turn.ticket = None
    turn.text("forget_done")
