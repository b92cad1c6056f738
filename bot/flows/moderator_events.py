"""Moderator events from a topic, a thread or the desk: rights first, then a dispatch table."""

from __future__ import annotations

from bot.actions import ActionError, Verb, unpack
from bot.flows import moderation as mod
from bot.flows.turn import Turn
from bot.storage.base import OutboxStatus, Ticket
from bot.types import ButtonPressed, CommandReceived, Reply, TextReceived

NEEDS_TICKET = {
    "claim",
    "unclaim",
    "close",
    "reopen",
    "note",
    "block",
    "unblock",
    "snippet",
    "open",
}
VERB_COMMAND = {
    Verb.CLAIM: "claim",
    Verb.UNCLAIM: "unclaim",
    Verb.MOD_CLOSE: "close",
    Verb.MOD_REOPEN: "reopen",
}


async def handle(turn: Turn) -> None:
    """Check rights, find the ticket, act."""
    event = turn.event
    if not event.user.is_moderator:
        if isinstance(event, TextReceived) and not event.chat.thread_id:
            return  # chatter in a moderator group's general topic is none of our business
        turn.say(Reply(turn.mt("mod_only")))
        return
    if isinstance(event, ButtonPressed):
        await _button(turn, event)
    elif isinstance(event, CommandReceived):
        ticket = await _ticket_for_command(turn, event)
        await _command(turn, event.name, event.args.strip(), ticket)
    elif isinstance(event, TextReceived):
        ticket = await mod.ticket_of_chat(turn)
        if ticket is None:
            if event.chat.platform == mod.DESK:
                turn.say(Reply(turn.mt("mod_no_ticket")))
            return
        await mod.attachments_refused(turn, event.attachments)
        shas = [a.sha256 for a in event.attachments if a.sha256]
        if event.text.strip() or shas:
            await mod.reply(turn, ticket, event.text.strip(), shas)


async def _button(turn: Turn, event: ButtonPressed) -> None:
    try:
        action = unpack(event.data)
    except ActionError:
        turn.say(Reply(turn.mt("stale_button")))
        return
    name = VERB_COMMAND.get(action.verb)
    ticket_id = action.arg(0)
    ticket = await turn.svc.store.get_ticket(int(ticket_id)) if ticket_id.isdigit() else None
    if name is None or ticket is None:
        turn.say(Reply(turn.mt("stale_button")))
        return
    await _command(turn, name, "", ticket)


async def _ticket_for_command(turn: Turn, event: CommandReceived) -> Ticket | None:
    first = event.args.split(maxsplit=1)[0].lstrip("#") if event.args.strip() else ""
    if event.name in ("open", "claim", "reopen") and first.isdigit():
        return await turn.svc.store.get_ticket(int(first))
    return await mod.ticket_of_chat(turn)


async def _command(turn: Turn, name: str, args: str, ticket: Ticket | None) -> None:
    if name in ("queue", "list"):
        await mod.show_queue(turn)
    elif name == "snippets":
        names = await turn.svc.store.list_snippets()
        turn.say(Reply("\n".join(f"{n}: {t}" for n, t in names) or "—"))
    elif name == "dead":
        await _dead_letters(turn)
    elif name == "retry":
        await _retry(turn, args)
    elif name == "snippet-add":
        parts = args.split(maxsplit=1)
        if len(parts) == 2:
            await turn.svc.store.set_snippet(parts[0], parts[1])
        turn.say(Reply("ok" if len(parts) == 2 else "/snippet-add NAME TEXT"))
    elif name in NEEDS_TICKET:
        if ticket is None:
            turn.say(Reply(turn.mt("mod_no_ticket")))
            return
        await _ticket_command(turn, name, args, ticket)
    else:
        turn.say(Reply(turn.mt("mod_help")))


async def _ticket_command(turn: Turn, name: str, args: str, ticket: Ticket) -> None:
    if args.split(maxsplit=1)[:1] == [f"{ticket.id}"] or args.startswith(f"#{ticket.id}"):
        args = args.split(maxsplit=1)[1] if len(args.split(maxsplit=1)) > 1 else ""
    if name == "open":
        await mod.show_ticket(turn, ticket)
    elif name == "claim":
        await mod.claim(turn, ticket)
    elif name == "unclaim":
        await mod.unclaim(turn, ticket)
    elif name == "close":
        await mod.close(turn, ticket, args)
    elif name == "reopen":
        await mod.reopen(turn, ticket)
    elif name == "note":
        await mod.note(turn, ticket, args)
    elif name in ("block", "unblock"):
        await mod.block(turn, ticket, banned=name == "block")
    else:
        text = await turn.svc.store.get_snippet(args)
        if text is None:
            names = ", ".join(n for n, _ in await turn.svc.store.list_snippets()) or "—"
            turn.say(Reply(turn.mt("mod_snippet_missing", name=args, names=names)))
            return
        await mod.reply(turn, ticket, text, [])


async def _dead_letters(turn: Turn) -> None:
    """Deliveries that failed for good, newest last, with what went wrong."""
    dead = await turn.svc.store.outbox_items([OutboxStatus.DEAD], limit=50)
    if not dead:
        turn.say(Reply(turn.mt("mod_dead_none")))
        return
    lines = [turn.mt("mod_dead_title", n=len(dead))]
    for item in dead:
        ticket = f"#{item.ticket_id}" if item.ticket_id else "-"
        lines.append(
            f"{item.id}: {item.platform} {ticket} after {item.attempts} tries: "
            f"{item.last_error[:80]}"
        )
    turn.say(Reply("\n".join(lines)))


async def _retry(turn: Turn, args: str) -> None:
    """Send a dead delivery again (`/retry ID`)."""
    item_id = args.split(maxsplit=1)[0] if args.strip() else ""
    ok = item_id.isdigit() and await turn.svc.store.retry_dead(int(item_id), turn.now)
    turn.say(Reply(turn.mt("mod_retried" if ok else "mod_retry_unknown", id=item_id or "?")))
