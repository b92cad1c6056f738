"""The moderators' side: claim, reply, note, close, reopen, block, snippets, the queue."""

from __future__ import annotations

import time

from bot.actions import Verb, act, owner_tag
from bot.flows import handoff
from bot.flows.turn import Turn
from bot.storage.base import Author, Ticket, TicketMessage, TicketStatus
from bot.types import (
    Attachment,
    Button,
    ButtonPressed,
    CommandReceived,
    OutFile,
    Reply,
    TextReceived,
)

DESK = "desk"


async def ticket_of_chat(turn: Turn) -> Ticket | None:
    """The ticket whose topic/thread the event came from (the desk names it directly)."""
    chat = turn.event.chat
    if chat.platform == DESK:
        ticket_id = int(chat.thread_id) if chat.thread_id.isdigit() else None
    else:
        ticket_id = await turn.svc.store.ticket_by_thread(chat.platform, chat.id, chat.thread_id)
    return await turn.svc.store.get_ticket(ticket_id) if ticket_id else None


def _name(turn: Turn) -> str:
    user = turn.event.user
    return user.display_name or user.id


def _mod_key(turn: Turn) -> str:
    return turn.event.user.key


def _say(turn: Turn, key: str, ticket: Ticket | None = None, **values: object) -> None:
    buttons = handoff.mod_buttons(turn.svc, ticket) if ticket is not None else ()
    turn.say(Reply(turn.mt(key, **values), buttons=buttons))


async def _log(
    turn: Turn, ticket: Ticket, author: Author, text: str, files: list[str] | None = None
) -> None:
    await turn.svc.store.add_message(
        TicketMessage(ticket.id, author, _mod_key(turn), _name(turn), text, files or [], turn.now)
    )


def _first_response(turn: Turn, ticket: Ticket) -> None:
    if ticket.first_response_at is None:
        ticket.first_response_at = turn.now


async def claim(turn: Turn, ticket: Ticket) -> None:
    """Take a ticket: the user is told someone is on it."""
    if ticket.status == TicketStatus.CLOSED:
        _say(turn, "mod_already_closed", ticket, id=ticket.id)
        return
    ticket.status = TicketStatus.CLAIMED
    ticket.claimed_by = _mod_key(turn)
    ticket.claimed_at = turn.now
    _first_response(turn, ticket)
    await turn.svc.store.update_ticket(ticket)
    await _log(turn, ticket, Author.SYSTEM, "claimed")
    note = Reply(
        turn.mt("mod_claimed", id=ticket.id, name=_name(turn)),
        buttons=handoff.mod_buttons(turn.svc, ticket),
    )
    turn.to_moderators(ticket, note)
    turn.to_user(ticket, Reply(turn.svc.texts(ticket.lang, "ticket_claimed", id=ticket.id)))


async def unclaim(turn: Turn, ticket: Ticket) -> None:
    """Put a claimed ticket back in the queue."""
    if ticket.status != TicketStatus.CLAIMED:
        _say(turn, "mod_unclaimed", ticket, id=ticket.id, name=_name(turn))
        return
    ticket.status = TicketStatus.OPEN
    ticket.claimed_by = ""
    await turn.svc.store.update_ticket(ticket)
    await _log(turn, ticket, Author.SYSTEM, "unclaimed")
    note = Reply(
        turn.mt("mod_unclaimed", id=ticket.id, name=_name(turn)),
        buttons=handoff.mod_buttons(turn.svc, ticket),
    )
    turn.to_moderators(ticket, note)
    turn.to_user(ticket, Reply(turn.svc.texts(ticket.lang, "ticket_unclaimed", id=ticket.id)))


def _rating_rows(turn: Turn, ticket: Ticket) -> tuple[tuple[Button, ...], ...]:
    owner = owner_tag(ticket.user_key)
    stars = tuple(Button(str(n), act(Verb.RATE, ticket.id, n, owner=owner)) for n in range(1, 6))
    lang = ticket.lang
    reopen = Button(turn.svc.texts(lang, "btn_reopen"), act(Verb.REOPEN, ticket.id, owner=owner))
    human = Button(turn.svc.texts(lang, "btn_human"), act(Verb.HUMAN, owner=owner))
    return (stars, (reopen, human))


async def close(turn: Turn, ticket: Ticket, reason: str) -> None:
    """Close a ticket: the user is told why, asked to rate, and may reopen."""
    if ticket.status == TicketStatus.CLOSED:
        _say(turn, "mod_already_closed", ticket, id=ticket.id)
        return
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = turn.now
    ticket.closed_by = _mod_key(turn)
    ticket.close_reason = reason[:500]
    _first_response(turn, ticket)
    await turn.svc.store.update_ticket(ticket)
    await _log(turn, ticket, Author.SYSTEM, f"closed: {reason}" if reason else "closed")
    turn.to_moderators(
        ticket,
        Reply(
            turn.mt("mod_closed", id=ticket.id, name=_name(turn)),
            buttons=handoff.mod_buttons(turn.svc, ticket),
        ),
    )
    lang = ticket.lang
    lines = [turn.svc.texts(lang, "ticket_closed_by_mod", id=ticket.id)]
    if reason:
        lines.append(turn.svc.texts(lang, "close_reason", reason=reason[:500]))
    lines.append(turn.svc.texts(lang, "rate_prompt", days=turn.svc.config.bot.reopen_days))
    turn.to_user(ticket, Reply("\n".join(lines), buttons=_rating_rows(turn, ticket)))


async def reopen(turn: Turn, ticket: Ticket) -> None:
    """Reopen a closed ticket from the moderator side."""
    if ticket.status != TicketStatus.CLOSED:
        _say(turn, "mod_reopened", ticket, id=ticket.id, name=_name(turn))
        return
    if await turn.svc.store.open_ticket_for(ticket.user_key) is not None:
        _say(turn, "ticket_exists", None, id=ticket.id)
        return
    ticket.status = TicketStatus.CLAIMED
    ticket.claimed_by = _mod_key(turn)
    ticket.closed_at = None
    ticket.closed_by = ""
    await turn.svc.store.update_ticket(ticket)
    await _log(turn, ticket, Author.SYSTEM, "reopened")
    turn.to_moderators(
        ticket,
        Reply(
            turn.mt("mod_reopened", id=ticket.id, name=_name(turn)),
            buttons=handoff.mod_buttons(turn.svc, ticket),
        ),
    )
    turn.to_user(ticket, Reply(turn.svc.texts(ticket.lang, "reopened", id=ticket.id)))


async def reply(turn: Turn, ticket: Ticket, text: str, files: list[str]) -> None:
    """A moderator's message: relayed to the user, logged, mirrored to other surfaces."""
    if ticket.status == TicketStatus.CLOSED:
        _say(turn, "mod_already_closed", ticket, id=ticket.id)
        return
    if ticket.status == TicketStatus.OPEN:
        ticket.status = TicketStatus.CLAIMED
        ticket.claimed_by = _mod_key(turn)
        ticket.claimed_at = turn.now
    _first_response(turn, ticket)
    await turn.svc.store.update_ticket(ticket)
    await _log(turn, ticket, Author.MODERATOR, text, files)
    out_files = []
    for sha in files:
        stored = await turn.svc.store.get_file(sha)
        if stored is not None:
            out_files.append(
                OutFile(
                    turn.svc.file_path(stored.path), stored.path.split("/")[-1], stored.mime, sha
                )
            )
    lang = ticket.lang
    if turn.svc.config.handoff.moderator_names:
        body = turn.svc.texts(lang, "mod_reply_named", name=_name(turn), text=text)
    else:
        body = turn.svc.texts(lang, "mod_reply", text=text)
    turn.to_user(ticket, Reply(body if text else "📎", files=tuple(out_files)))
    mirror = turn.mt("mod_reply_named", name=_name(turn), text=text)
    turn.to_moderators(
        ticket, Reply(mirror, files=tuple(out_files)), skip=turn.event.chat.platform
    )
    if turn.event.chat.platform == DESK:
        _say(turn, "mod_sent", None, id=ticket.id)


async def note(turn: Turn, ticket: Ticket, text: str) -> None:
    """An internal note: kept on the ticket, never relayed to the user."""
    await _log(turn, ticket, Author.NOTE, text)
    mirror = turn.mt("mod_reply_named", name=f"📝 {_name(turn)}", text=text)
    turn.to_moderators(ticket, Reply(mirror), skip=turn.event.chat.platform)
    _say(turn, "mod_noted", None, id=ticket.id)


async def block(turn: Turn, ticket: Ticket, banned: bool) -> None:
    """Block or unblock the ticket's user from opening tickets."""
    user = await turn.svc.store.get_user(ticket.user_key)
    if user is not None:
        user.banned = banned
        await turn.svc.store.upsert_user(user)
    who = ticket.user_name or ticket.user_key
    _say(turn, "mod_blocked" if banned else "mod_unblocked", None, user=who)


async def show_queue(turn: Turn) -> None:
    """The queue by priority and waiting time, each ticket a button."""
    tickets = await turn.svc.store.queue()
    if not tickets:
        _say(turn, "mod_queue_empty")
        return
    lines = [turn.mt("mod_queue_title", n=len(tickets))]
    now = turn.now or time.time()
    for t in tickets[:20]:
        waited = int((now - t.created_at) // 60)
        lines.append(
            f"#{t.id} [{t.status.value}] P{t.priority} {waited} min · "
            f"{t.category or '-'} · {t.user_name or t.user_key} · {t.summary[:40]}"
        )
    turn.say(Reply("\n".join(lines)))


async def show_ticket(turn: Turn, ticket: Ticket) -> None:
    """A ticket in full: card, attachments and history."""
    card = await handoff.card(turn.svc, ticket)
    history = []
    for m in await turn.svc.store.messages(ticket.id):
        files = "".join(f" [file {sha[:12]}]" for sha in m.attachments)
        history.append(f"  {m.author.value} {m.author_name or m.author_id}: {m.text}{files}")
    paths = [f"  {f.path}" for f in card.files]
    text = "\n".join([card.text, *(["Attachments:", *paths] if paths else []), *history])
    turn.say(Reply(text, title=card.title, buttons=card.buttons))


async def attachments_refused(turn: Turn, attachments: tuple[Attachment, ...]) -> None:
    """Tell the moderator which of their files were not accepted."""
    for a in attachments:
        if a.error:
            max_mb = max(1, turn.svc.config.bot.max_image_bytes // (1024 * 1024))
            reason = turn.mt(a.error, max=max_mb)
            turn.say(Reply(turn.mt("mod_attachment_refused", reason=reason)))


def event_kind(turn: Turn) -> str:
    """A name for the moderator event, for dispatch."""
    event = turn.event
    if isinstance(event, CommandReceived):
        return f"/{event.name}"
    if isinstance(event, ButtonPressed):
        return "button"
    if isinstance(event, TextReceived):
        return "text"
    return "other"
