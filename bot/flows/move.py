"""`/move CATEGORY`: a ticket goes to another route's moderators. It gets a new topic or thread
there with its card and its history; the old one gets a note pointing to the new one and is
closed; the user is told once (nothing else of the move reaches them)."""

from __future__ import annotations

from bot.deliveries import to_chat
from bot.flows import handoff
from bot.flows.ticket_moves import mod_buttons
from bot.flows.turn import Turn
from bot.storage.records import Author, Ticket, TicketStatus
from bot.types import ChatKind, ChatRef, Reply

HISTORY_SHOWN = 30  # messages of a moved ticket's history posted into its new topic
LINE_SHOWN = 300  # characters of each


async def move(turn: Turn, ticket: Ticket, category_id: str) -> None:
    """Move the ticket to the route of `category_id` (a category of the help center)."""
    svc = turn.svc
    category = svc.kb.categories.get(category_id.strip())
    if category is None or ticket.status == TicketStatus.CLOSED:
        tops = ", ".join(sorted(svc.kb.categories)[:40])
        why = "mod_already_closed" if category is not None else "mod_move_usage"
        turn.say(Reply(turn.mine(why, id=ticket.id, categories=tops)))
        return
    before = {(c.platform, c.id) for c in svc.surfaces_of(ticket)}
    route = svc.routes.route_for(category.id)
    ticket.category = category.id
    ticket.priority = svc.kb.priority_of(category.id) + (route.priority if route else 0)
    after = await handoff.least_busy(turn, route) if route is not None else ()
    ticket.surfaces = [(c.platform, c.id) for c in after]
    turn.save(ticket)
    label = category.label(svc.mod_lang)
    turn.log(ticket, Author.SYSTEM, turn.mt("log_moved", category=label))
    moved = {platform for platform, chat in before if (platform, chat) not in ticket.surfaces}
    for platform in sorted(moved):
        await _close_old_topic(turn, ticket, platform, label)
        turn.writes.moved_threads.append((ticket.id, platform))
    stayed = [c for c in after if c.platform not in moved]
    note = Reply(turn.mt("mod_moved_here", id=ticket.id, category=label))
    for chat in stayed:  # the same chat on this platform: its topic stays, with a note
        turn.to_moderators_on(ticket, chat, note)
    for chat in after:
        if chat.platform in moved:
            turn.to_moderators_on(ticket, chat, await handoff.card(svc, ticket), card=True)
            turn.to_moderators_on(ticket, chat, await _history(turn, ticket))
    turn.to_user(ticket, Reply(svc.texts(ticket.lang, "ticket_moved", id=ticket.id)))
    if not svc.can(turn.event.chat.platform).paged:
        turn.say(Reply(turn.mine("mod_moved", id=ticket.id, category=label)))


async def _close_old_topic(turn: Turn, ticket: Ticket, platform: str, label: str) -> None:
    """A note in the ticket's old topic on `platform`, after which the topic is closed."""
    known = await turn.svc.store.thread_of(ticket.id, platform)
    if known is None:
        return  # no topic was opened there yet: nothing to close
    chat = ChatRef(platform, known[0], ChatKind.MODERATION, known[1])
    note = turn.mt("mod_moved_away", id=ticket.id, category=label)
    reply = Reply(note, buttons=mod_buttons(turn.svc, ticket), close_thread=True)
    turn.writes.outbox.append(to_chat(chat, reply, turn.next_key(), turn.now, ticket.id))


async def _history(turn: Turn, ticket: Ticket) -> Reply:
    """The ticket's history so far, for its new topic."""
    lines = [turn.mt("mod_history_title", id=ticket.id)]
    for m in (await turn.svc.store.messages(ticket.id))[-HISTORY_SHOWN:]:
        who = m.author_name or m.author_id
        author = turn.mt(f"author_{m.author.value}")
        files = turn.mt("mod_file_ref", sha=f"×{len(m.attachments)}") if m.attachments else ""
        lines.append(f"{author} {who}: {m.text[:LINE_SHOWN]}{files}")
    return Reply("\n".join(lines))
