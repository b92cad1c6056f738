"""The moderators' side: reply, note, block, snippets, the queue and one ticket in full.

Claim, unclaim, close and reopen are ticket moves (bot.tickets), made through
bot.flows.ticket_moves like the user's own.
"""

from __future__ import annotations

from bot.flows import handoff
from bot.flows.ticket_moves import make, mod_buttons
from bot.flows.turn import Turn
from bot.storage.records import Author, Ticket
from bot.tickets import Move, Role
from bot.types import Attachment, Reply

QUEUE_SHOWN = 20  # tickets listed by /queue


def say(turn: Turn, key: str, ticket: Ticket | None = None, **values: object) -> None:
    """Answer the moderator in their language, with the ticket's buttons when given."""
    buttons = mod_buttons(turn.svc, ticket, turn.actor_lang) if ticket is not None else ()
    turn.say(Reply(turn.mine(key, **values), buttons=buttons))


async def reply(
    turn: Turn, ticket: Ticket, text: str, files: list[str], *, edited: bool = False
) -> None:
    """A moderator's message: relayed to the user, logged, mirrored to other surfaces;
    `edited`: the new text of one they sent before, said to be a correction."""
    if not await make(turn, ticket, Move.REPLY, Role.MODERATOR):
        return
    turn.log(ticket, Author.MODERATOR, text, files)
    out_files = await handoff.stored_files(turn.svc, files)
    svc, lang = turn.svc, ticket.lang
    named, plain = (
        ("mod_reply_named_edited", "mod_reply_edited")
        if edited
        else ("mod_reply_named", "mod_reply")
    )
    if svc.config.handoff.moderator_names:
        body = svc.texts(lang, named, name=turn.actor_name, text=text)
    else:
        body = svc.texts(lang, plain, text=text)
    turn.to_user(ticket, Reply(body if text else "📎", files=out_files))
    mirror = turn.mt(named, name=turn.actor_name, text=text)
    turn.to_moderators(ticket, Reply(mirror, files=out_files), skip=turn.event.chat.platform)
    if not svc.can(turn.event.chat.platform).paged:
        say(turn, "mod_sent", id=ticket.id)


def note(turn: Turn, ticket: Ticket, text: str) -> None:
    """An internal note: kept on the ticket, never relayed to the user."""
    turn.log(ticket, Author.NOTE, text)
    mirror = turn.mt("mod_reply_named", name=f"📝 {turn.actor_name}", text=text)
    turn.to_moderators(ticket, Reply(mirror), skip=turn.event.chat.platform)
    say(turn, "mod_noted", id=ticket.id)


def block(turn: Turn, ticket: Ticket, banned: bool) -> None:
    """Block or unblock the ticket's user from opening tickets."""
    turn.writes.banned.append((ticket.user_key, banned))
    who = ticket.user_name or ticket.user_key
    say(turn, "mod_blocked" if banned else "mod_unblocked", user=who)


def _category(turn: Turn, category_id: str) -> str:
    """A category's label in the acting moderator's language (its id if it is gone)."""
    cat = turn.svc.kb.categories.get(category_id)
    return cat.label(turn.actor_lang) if cat else (category_id or "-")


async def show_queue(turn: Turn) -> None:
    """The queue by priority and waiting time."""
    tickets = await turn.svc.store.queue()
    if not tickets:
        say(turn, "mod_queue_empty")
        return
    lines = [turn.mine("mod_queue_title", n=len(tickets))]
    for t in tickets[:QUEUE_SHOWN]:
        lines.append(
            turn.mine(
                "mod_queue_line",
                id=t.id,
                state=turn.mine(f"state_{t.status.value}"),
                priority=t.priority,
                minutes=int((turn.now - t.created_at) // 60),
                category=_category(turn, t.category),
                user=t.user_name or t.user_key,
                summary=t.summary[:40],
            ).removesuffix(" · ")  # a form's ticket has no question to show
        )
    turn.say(Reply("\n".join(lines)))


async def show_ticket(turn: Turn, ticket: Ticket) -> None:
    """A ticket in full: card, attachments and history."""
    card = await handoff.card(turn.svc, ticket, lang=turn.actor_lang)
    now = turn.mine("mod_ticket_now", state=turn.mine(f"state_{ticket.status.value}"))
    lines = [card.text, now]  # the card says how it began; a closed one looked waiting
    if card.files:
        lines.append(turn.mine("mod_attachments"))
        lines += [f"  {f.path}" for f in card.files]
    for m in await turn.svc.store.messages(ticket.id):
        files = "".join(turn.mine("mod_file_ref", sha=sha[:12]) for sha in m.attachments)
        who = m.author_name or m.author_id
        author = turn.mine(f"author_{m.author.value}")
        system = m.author is Author.SYSTEM
        text = turn.svc.texts.reread(m.text, turn.actor_lang) if system else m.text
        lines.append(f"  {author} {who}: {text}{files}")
    turn.say(Reply("\n".join(lines), title=card.title, buttons=card.buttons))


def attachments_refused(turn: Turn, attachments: tuple[Attachment, ...]) -> None:
    """Tell the moderator which of their files were not accepted."""
    max_mb = turn.max_image_mb
    for a in attachments:
        if a.error:
            reason = turn.mine(a.error, max=max_mb)
            turn.say(Reply(turn.mine("mod_attachment_refused", reason=reason)))
