"""Moderator events from a topic, a thread or the desk: rights first, then a dispatch table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.actions import ActionError, Verb, unpack
from bot.flows import learning, move
from bot.flows import moderation as mod
from bot.flows.ticket_moves import make
from bot.flows.turn import Services, Turn
from bot.storage.records import OutboxStatus, Ticket
from bot.tickets import Move, Role
from bot.types import ButtonPressed, CommandReceived, IncomingEvent, Reply, TextReceived

DEAD_SHOWN = 50  # failed deliveries listed by /dead
NAMES_TICKET = frozenset({"open", "claim", "reopen"})  # commands that take a ticket number
# ... and commands that take a reason, when it starts with "#N" or is only a number ("/close
# 99" closed the ticket open at the desk with the reason "99")
NAMES_TICKET_TOO = frozenset({"close", "unclaim"})
VERB_COMMAND = {
    Verb.CLAIM: "claim",
    Verb.UNCLAIM: "unclaim",
    Verb.MOD_CLOSE: "close",
    Verb.MOD_REOPEN: "reopen",
}
MOVES = {"claim": Move.CLAIM, "unclaim": Move.UNCLAIM, "close": Move.CLOSE, "reopen": Move.REOPEN}

TicketCommand = Callable[[Turn, Ticket, str], Awaitable[None]]
Command = Callable[[Turn, str], Awaitable[None]]


def named(svc: Services, event: IncomingEvent) -> int | None:
    """The ticket number an event names itself: a button's, a command's argument, or the
    ticket a surface that names tickets (the desk) has open."""
    number = ""
    if isinstance(event, ButtonPressed):
        try:
            number = unpack(event.data).arg(0)
        except ActionError:
            return None
    elif isinstance(event, CommandReceived) and event.name in NAMES_TICKET:
        number = event.args.split(maxsplit=1)[0].lstrip("#") if event.args.strip() else ""
    elif isinstance(event, CommandReceived) and event.name in NAMES_TICKET_TOO:
        words = event.args.split()
        if words and (words[0].startswith("#") or len(words) == 1):
            number = words[0].lstrip("#")
    if not number.isdigit() and svc.can(event.chat.platform).names_tickets:
        number = event.chat.thread_id
    return int(number) if number.isdigit() else None


async def target(svc: Services, event: IncomingEvent) -> int | None:
    """The ticket a moderator's event is about: named by a button or a command, or the
    ticket whose topic it came from. The engine locks that ticket's conversation."""
    number = named(svc, event)
    chat = event.chat
    if number is not None or svc.can(chat.platform).names_tickets or not chat.thread_id:
        return number
    return await svc.store.ticket_by_thread(chat.platform, chat.id, chat.thread_id)


def _no_ticket(turn: Turn) -> None:
    """No such ticket (a number that names none), or no ticket here at all."""
    number = named(turn.svc, turn.event)
    if number is not None:
        turn.say(Reply(turn.mine("mod_ticket_missing", id=number)))
    else:
        turn.say(Reply(turn.mine("mod_no_ticket")))


async def handle(turn: Turn) -> None:
    """Check rights, then act on the ticket the engine found (`turn.target`)."""
    event = turn.event
    if not event.user.is_moderator:
        if isinstance(event, TextReceived) and not event.chat.thread_id:
            return  # chatter in a moderator group's general topic is none of our business
        turn.say(Reply(turn.mine("mod_only")))
        return
    if _elsewhere(turn):
        turn.say(Reply(turn.mine("mod_other_team", id=turn.target.id if turn.target else "?")))
        return
    if isinstance(event, ButtonPressed):
        await _button(turn, event)
    elif isinstance(event, CommandReceived):
        await _command(turn, event.name, event.args.strip())
    elif isinstance(event, TextReceived):
        await _text(turn, event)


def _elsewhere(turn: Turn) -> bool:
    """A ticket of another route's group, acted on from this group: rights follow the group
    (an administrator of the orders group is not one of the safety group). Surfaces that are
    not paged (the desk, the web) see every route."""
    chat, ticket = turn.event.chat, turn.target
    if ticket is None or not turn.svc.can(chat.platform).paged:
        return False
    return not any(
        s.platform == chat.platform and s.id == chat.id for s in turn.svc.surfaces_of(ticket)
    )


async def _text(turn: Turn, event: TextReceived) -> None:
    ticket = turn.target
    if ticket is None:
        if not turn.svc.can(event.chat.platform).paged:
            _no_ticket(turn)
        return
    mod.attachments_refused(turn, event.attachments)
    shas = [a.sha256 for a in event.attachments if a.sha256]
    if event.text.strip() or shas:
        await mod.reply(turn, ticket, event.text.strip(), shas, edited=event.edited)


async def _button(turn: Turn, event: ButtonPressed) -> None:
    try:
        name = VERB_COMMAND.get(unpack(event.data).verb)
    except ActionError:
        name = None
    if name is None or turn.target is None:
        turn.say(Reply(turn.mine("stale_button")))
        return
    await _ticket_command(turn, name, "")


async def _command(turn: Turn, name: str, args: str) -> None:
    if name in COMMANDS:
        await COMMANDS[name](turn, args)
    elif name in TICKET_COMMANDS:
        if turn.target is None:
            _no_ticket(turn)
            return
        await _ticket_command(turn, name, args)
    else:
        turn.say(Reply(turn.mine("mod_help")))


async def _ticket_command(turn: Turn, name: str, args: str) -> None:
    ticket = turn.target
    assert ticket is not None
    first, _, rest = args.partition(" ")
    if first.lstrip("#") == str(ticket.id):
        args = rest.strip()
    await TICKET_COMMANDS[name](turn, ticket, args)


async def _move(turn: Turn, ticket: Ticket, name: str, reason: str = "") -> None:
    await make(turn, ticket, MOVES[name], Role.MODERATOR, reason=reason)


async def _open(turn: Turn, ticket: Ticket, _args: str) -> None:
    await mod.show_ticket(turn, ticket)


async def _claim(turn: Turn, ticket: Ticket, _args: str) -> None:
    await _move(turn, ticket, "claim")


async def _unclaim(turn: Turn, ticket: Ticket, _args: str) -> None:
    await _move(turn, ticket, "unclaim")


async def _close(turn: Turn, ticket: Ticket, args: str) -> None:
    first = args.split(maxsplit=1)[0] if args.strip() else ""
    named = isinstance(turn.event, CommandReceived) and turn.event.args != args  # "#2 …" said
    if first.isdigit() and first != str(ticket.id) and not named:
        # "/close 1 已解决" with #2 open: ticket 1 and a reason, or #2 with "1 已解决"? Asked,
        # not guessed: #2 was closed and its user told "Reason: 1 已解决"
        turn.say(Reply(turn.mine("mod_close_which", n=first, id=ticket.id, rest=args)))
        return
    await _move(turn, ticket, "close", args)


async def _reopen(turn: Turn, ticket: Ticket, _args: str) -> None:
    await _move(turn, ticket, "reopen")


async def _note(turn: Turn, ticket: Ticket, args: str) -> None:
    if not args.strip():  # an empty note was kept
        turn.say(Reply(turn.mine("mod_note_usage")))
        return
    mod.note(turn, ticket, args)


async def _block(turn: Turn, ticket: Ticket, _args: str) -> None:
    mod.block(turn, ticket, banned=True)


async def _unblock(turn: Turn, ticket: Ticket, _args: str) -> None:
    mod.block(turn, ticket, banned=False)


async def _snippet(turn: Turn, ticket: Ticket, args: str) -> None:
    text = await turn.svc.store.get_snippet(args)
    if text is None:
        names = ", ".join(n for n, _ in await turn.svc.store.list_snippets()) or "—"
        turn.say(Reply(turn.mine("mod_snippet_missing", name=args, names=names)))
        return
    await mod.reply(turn, ticket, text, [])


async def _move_to(turn: Turn, ticket: Ticket, args: str) -> None:
    await move.move(turn, ticket, args)


async def _queue(turn: Turn, _args: str) -> None:
    await mod.show_queue(turn)


async def _snippets(turn: Turn, _args: str) -> None:
    names = await turn.svc.store.list_snippets()
    turn.say(Reply("\n".join(f"{n}: {t}" for n, t in names) or turn.mine("mod_snippets_none")))


async def _snippet_add(turn: Turn, args: str) -> None:
    parts = args.split(maxsplit=1)
    if len(parts) != 2:
        turn.say(Reply(turn.mine("mod_snippet_usage")))
        return
    turn.writes.snippets.append((parts[0], parts[1]))
    turn.say(Reply(turn.mine("mod_snippet_saved", name=parts[0])))


async def _dead_letters(turn: Turn, _args: str) -> None:
    """Deliveries that failed for good, newest last, with what went wrong."""
    dead = await turn.svc.store.outbox_items([OutboxStatus.DEAD], limit=DEAD_SHOWN)
    if not dead:
        turn.say(Reply(turn.mine("mod_dead_none")))
        return
    lines = [turn.mine("mod_dead_title", n=len(dead))]
    for item in dead:
        lines.append(
            turn.mine(
                "mod_dead_line",
                id=item.id,
                platform=item.platform,
                ticket=f"#{item.ticket_id}" if item.ticket_id else "-",
                attempts=item.attempts,
                error=item.last_error[:80],
            )
        )
    turn.say(Reply("\n".join(lines)))


async def _backlog(turn: Turn, _args: str) -> None:
    """What waits to be sent (a group's budget spent): every moderator surface of every route,
    with how long its oldest delivery has waited, then the users' chats together."""
    waiting = await turn.svc.store.backlog()
    if not waiting:
        turn.say(Reply(turn.mine("mod_backlog_none")))
        return
    told = turn.svc.routes.backlog(waiting)
    lines = [turn.mine("mod_backlog_title", n=sum(n for _, _, n, _ in waiting))]
    for chat, n, oldest in told.surfaces:
        where = {"platform": chat.platform, "chat": chat.id}
        if oldest is None:
            lines.append(turn.mine("mod_backlog_clear", **where))
        else:
            age = int(turn.now - oldest)
            lines.append(turn.mine("mod_backlog_line", **where, n=n, age=age))
    if told.others_oldest is not None:
        age = int(turn.now - told.others_oldest)
        users = {"n": told.others, "chats": told.other_chats, "age": age}
        lines.append(turn.mine("mod_backlog_users", **users))
    turn.say(Reply("\n".join(lines)))


async def _retry(turn: Turn, args: str) -> None:
    """Send a dead delivery again (`/retry ID`)."""
    item_id = args.split(maxsplit=1)[0] if args.strip() else ""
    item = await turn.svc.store.outbox_item(int(item_id)) if item_id.isdigit() else None
    known = item is not None and item.status is OutboxStatus.DEAD
    if known:
        turn.writes.retry_dead.append(int(item_id))
    turn.say(Reply(turn.mine("mod_retried" if known else "mod_retry_unknown", id=item_id or "?")))


COMMANDS: dict[str, Command] = {
    "misses": learning.show_misses_command,
    "teach": learning.teach,
    "queue": _queue,
    "list": _queue,
    "snippets": _snippets,
    "snippet-add": _snippet_add,
    "dead": _dead_letters,
    "backlog": _backlog,
    "retry": _retry,
}
TICKET_COMMANDS: dict[str, TicketCommand] = {
    "open": _open,
    "claim": _claim,
    "unclaim": _unclaim,
    "close": _close,
    "reopen": _reopen,
    "note": _note,
    "block": _block,
    "unblock": _unblock,
    "snippet": _snippet,
    "move": _move_to,
}
NAMES = frozenset(COMMANDS) | frozenset(TICKET_COMMANDS)  # what only moderators may type
