"""Reaching a person: tickets, queue position, wait estimate, relay, close, rate, reopen."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import PurePosixPath

from bot.actions import Verb
from bot.flows.formbutton import form_button
from bot.flows.learning import missed
from bot.flows.ticket_moves import mod_buttons
from bot.flows.turn import HELD, MAX_HELD, Services, Turn
from bot.routes import Route, Routes
from bot.state import Step
from bot.storage.records import Author, MissKind, Ticket, TicketStatus
from bot.types import Attachment, Button, ChatRef, Look, OutFile, Reply

ESTIMATE_SAMPLES = 20
MIN_SAMPLES = 5
LAST_TICKET = "last_ticket"  # conversation data: the id of the ticket opened last


def form_row(turn: Turn) -> tuple[Button, ...] | None:
    """A "Fill in the form" button when the current category has a form."""
    category = str(turn.data.get("category", ""))
    button = form_button(turn, category) if category else None
    return (button,) if button is not None else None


async def offer_person(turn: Turn, intro_key: str) -> None:
    """Offer a person at once (frustration, repeat, two Not solved); the form if there is one."""
    if turn.ticket is not None:
        await show_status(turn)
        return
    rows: list[tuple[Button, ...]] = []
    form = form_row(turn)
    if form is not None and intro_key == "not_solved_form":
        rows.append(form)
    elif intro_key == "not_solved_form":
        intro_key = "not_solved_none"
    rows.append((turn.button("btn_handoff_now", Verb.HANDOFF_NOW, look=Look.PRIMARY),))
    rows.append((turn.button("btn_menu", Verb.MENU),))
    turn.say(Reply(turn.t(intro_key), buttons=tuple(rows)))


async def request_human(turn: Turn) -> None:
    """ "Talk to a person" from any state: offer the form as the fast path, never block."""
    if turn.ticket is not None:
        await show_status(turn, turn.t("ticket_exists", id=turn.ticket.id))
        return
    if turn.user.banned:
        turn.text("banned", (turn.button("btn_menu", Verb.MENU),))
        return
    if turn.conv.step == Step.ARTICLE:  # the article did not help: the search should learn
        query, article = str(turn.data.get("query", "")), str(turn.data.get("article", ""))
        missed(turn, query, MissKind.HANDOFF, article)
    if turn.conv.step in (Step.FORM, Step.REVIEW, Step.OFFER):
        await create_ticket(turn)
        return
    form = form_row(turn)
    if form is None:
        await create_ticket(turn)
        return
    turn.conv.step = Step.OFFER
    rows = (form, (turn.button("btn_handoff_now", Verb.HANDOFF_NOW, look=Look.PRIMARY),))
    turn.say(Reply(turn.t("offer_form"), buttons=rows))


def _answers(turn: Turn) -> tuple[str, list[tuple[str, str]], list[str]]:
    """The form answers collected so far: (form id, (label, answer) pairs, image hashes)."""
    state = turn.data.get("form") or {}
    form = turn.svc.kb.forms.get(str(state.get("id", "")))
    if form is None:
        return "", [], []
    answers: dict[str, str] = state.get("answers", {})
    images: dict[str, list[str]] = state.get("images", {})
    pairs = [
        (f.label_in(turn.svc.mod_lang), answers[f.id]) for f in form.fields if answers.get(f.id)
    ]
    added = turn.svc.texts(turn.svc.mod_lang, "review_added_label")
    pairs += [(added, said) for said in state.get("added", [])]  # typed at the review
    shas = list(dict.fromkeys(sha for f in form.fields for sha in images.get(f.id, [])))
    return form.id, pairs, shas


async def create_ticket(turn: Turn) -> None:
    """Open a ticket, page the moderators, tell the user number, position and wait."""
    if turn.user.banned:
        turn.text("banned", (turn.button("btn_menu", Verb.MENU),))
        return
    form_id, pairs, shas = _answers(turn)
    shas = list(dict.fromkeys([*shas, *turn.held()]))
    category = str(turn.data.get("category", ""))
    route = turn.svc.routes.route_for(category)
    surfaces = await least_busy(turn, route) if route is not None else ()
    ticket = Ticket(
        id=await turn.svc.store.next_ticket_id(),
        user_key=turn.user.key,
        platform=turn.event.chat.platform,
        chat_id=turn.event.chat.id,
        user_name=turn.user.display_name,
        category=category,
        form_id=form_id,
        answers=pairs,
        images=shas,
        priority=turn.svc.kb.priority_of(category) + (route.priority if route else 0),
        lang=turn.lang,
        summary=str(turn.data.get("query", ""))[:200],
        created_at=turn.now,
        last_paged_at=turn.now,
        surfaces=[(chat.platform, chat.id) for chat in surfaces],
    )
    turn.writes.new_tickets.append(ticket)
    turn.ticket = ticket
    turn.conv.step = Step.MENU
    turn.data.clear()
    turn.data["category"] = category
    turn.data[LAST_TICKET] = ticket.id  # a message after it is closed may be about it
    held = await _held_back(turn, surfaces)
    turn.to_moderators(ticket, await card(turn.svc, ticket, held), card=True)
    await show_status(turn, turn.t("ticket_created", id=ticket.id))


def hold(turn: Turn, attachments: tuple[Attachment, ...], *, quiet: bool = False) -> None:
    """Screenshots sent outside a form or a ticket: held for the ticket (a form's screenshot
    question gets them, or the ticket itself), each refused one explained. `quiet`: their
    words are answered too, so the screenshots are not the subject of the reply."""
    max_mb = turn.max_image_mb
    held = turn.held()
    fresh = [a.sha256 for a in attachments if a.sha256 and a.sha256 not in held]
    refused = [a.error for a in attachments if a.error]
    for n, error in enumerate(refused, 1):
        last = n == len(refused) and not fresh and not quiet  # the step's last word
        turn.text(error, *([turn.human_row()] if last else []), max=max_mb)
    room = max(0, MAX_HELD - len(held))
    if fresh:
        turn.data[HELD] = [*held, *fresh[:room]]
    if len(fresh) > room:
        turn.text("held_full", turn.human_row(), max=MAX_HELD)
    elif fresh and not quiet:
        turn.text("screenshot_held", turn.human_row())


async def least_busy(turn: Turn, route: Route) -> tuple[ChatRef, ...]:
    """One chat per platform of the route: where fewest messages went out in the group's
    budget period (Telegram: a minute; [telegram] group_period) and fewest wait, so a route
    with several groups spreads its tickets over their budgets."""
    sent: dict[tuple[str, str], int] = {}
    since = turn.now - turn.svc.config.telegram.group_period
    for platform, chats in route.chats:
        if len(chats) > 1:
            busy = await turn.svc.store.recent_sends(platform, chats, since)
            sent.update({(platform, chat): n for chat, n in busy.items()})
    return Routes.pick(route, sent)


async def _held_back(turn: Turn, surfaces: Sequence[ChatRef]) -> int:
    """How many deliveries wait for these moderator chats right now."""
    held = 0
    for chat in surfaces:
        held += sum((await turn.svc.store.waiting(chat.platform, [chat.id])).values())
    return held


def _answers_in(svc: Services, ticket: Ticket, lang: str) -> list[tuple[str, str]]:
    """The form's answers with their labels (and chosen options) in `lang`: they are stored in
    the moderators' language, and a moderator reading in another (`kefu desk --lang en` on a
    Chinese deployment) read Chinese labels under an English card."""
    form = svc.kb.forms.get(ticket.form_id)
    if form is None or lang == svc.mod_lang:
        return list(ticket.answers)
    fields = {f.label_in(svc.mod_lang): f for f in form.fields}
    out = []
    for label, answer in ticket.answers:
        f = fields.get(label)
        if f is None:  # the form changed since: as stored
            out.append((label, answer))
            continue
        chosen = {c.label(svc.mod_lang): c.label(lang) for c in f.choices}
        out.append((f.label_in(lang), chosen.get(answer, answer)))
    return out


async def card(svc: Services, ticket: Ticket, held: int = 0, lang: str = "") -> Reply:
    """The moderators' card: who, what, the form answers (once) and the screenshots.

    `held`: messages for the ticket's moderator chats that were waiting to be sent when it
    came in (a group's send budget spent): said plainly, so nobody wonders why it is late.
    `lang`: by default the moderators' (a card shown to one moderator alone is in theirs).
    """
    lang = lang or svc.mod_lang
    cat = svc.kb.categories.get(ticket.category)
    cat_label = cat.label(lang) if cat else (ticket.category or "—")
    user = ticket.user_name or ticket.user_key
    lines = [
        svc.texts(
            lang,
            "mod_card_header",
            id=ticket.id,
            user=user,
            platform=ticket.platform,
            lang=ticket.lang,
            priority=ticket.priority,
        ),
    ]
    if ticket.summary:
        lines.append(svc.texts(lang, "mod_card_asked", summary=ticket.summary))
    lines += [f"• {label}: {answer}" for label, answer in _answers_in(svc, ticket, lang)]
    if ticket.user_unreachable:
        lines.append(svc.texts(lang, "mod_card_unreachable", platform=ticket.platform))
    if held:
        lines.append(svc.texts(lang, "mod_card_held", n=held))
    files = []
    for sha in ticket.images:
        stored = await svc.store.get_file(sha)
        if stored is not None:
            files.append(
                OutFile(
                    svc.file_path(stored.path),
                    f"{sha[:12]}{PurePosixPath(stored.path).suffix}",
                    stored.mime,
                    sha,
                )
            )
    title = svc.texts(lang, "mod_card_title", id=ticket.id, category=cat_label, user=user)
    return Reply(
        "\n".join(lines),
        buttons=mod_buttons(svc, ticket, lang),
        files=tuple(files),
        title=title[:120],
    )


async def estimate_line(turn: Turn, position: int) -> str:
    """An honest wait estimate from the last first-response times."""
    hours = turn.svc.hours
    if hours is not None and not hours.is_open(turn.now):
        when = hours.next_open(turn.now).strftime("%a %H:%M %Z")
        return turn.t("out_of_hours", when=when)
    samples = await turn.svc.store.recent_first_responses(ESTIMATE_SAMPLES)
    if len(samples) < MIN_SAMPLES:
        return turn.t("estimate_unknown")
    mods = await turn.svc.staffing.active(turn.svc.store, turn.now)
    minutes = max(1, math.ceil(statistics.median(samples) * position / mods / 60))
    return turn.t("estimate", minutes=minutes, samples=len(samples), mods=mods)


async def show_status(turn: Turn, intro: str = "") -> None:
    """Ticket number, state, place in the queue and the estimate; or "no open ticket"."""
    ticket = turn.ticket
    if ticket is None:
        turn.say(Reply(turn.t("no_ticket"), buttons=(turn.human_row(),)))
        return
    lines = [intro] if intro else []
    state = turn.t("state_claimed" if ticket.status == TicketStatus.CLAIMED else "state_open")
    lines.append(turn.t("ticket_status", id=ticket.id, state=state))
    if ticket.status == TicketStatus.OPEN:
        position = await turn.svc.store.queue_position(ticket)
        lines.append(turn.t("queue_position", pos=position))
        lines.append(await estimate_line(turn, position))
    rows = (
        (
            turn.button("btn_status", Verb.STATUS),
            turn.button("btn_close_ticket", Verb.CLOSE, ticket.id, look=Look.DANGER),
        ),
    )
    turn.say(Reply("\n".join(lines), buttons=rows))


async def _within_limit(turn: Turn, ticket: Ticket, shas: list[str]) -> list[str]:
    """Keep a ticket's attachments under `[bot] max_attachments_per_ticket`."""
    limit = turn.svc.config.bot.max_attachments_per_ticket
    held = len(ticket.images) + sum(
        len(m.attachments) for m in await turn.svc.store.messages(ticket.id)
    )
    room = max(0, limit - held)
    if len(shas) > room:
        turn.text("attach_limit", max=limit)
    return shas[:room]


async def stored_files(svc: Services, shas: list[str]) -> tuple[OutFile, ...]:
    """The stored files with those hashes, to upload again (unknown ones are left out)."""
    files = []
    for sha in shas:
        stored = await svc.store.get_file(sha)
        if stored is not None:
            name = PurePosixPath(stored.path).name
            files.append(OutFile(svc.file_path(stored.path), name, stored.mime, sha))
    return tuple(files)


async def relay_from_user(
    turn: Turn, text: str, attachments: tuple[Attachment, ...], *, edited: bool = False
) -> None:
    """What the user sends while a ticket is open joins it and reaches the moderators;
    `edited`: the new text of a message they sent before, said to be so."""
    ticket = turn.ticket
    assert ticket is not None
    shas = [a.sha256 for a in attachments if a.sha256]
    for a in attachments:
        if a.error:
            turn.text(a.error, max=turn.max_image_mb)
    if shas:
        shas = await _within_limit(turn, ticket, shas)
    if not text and not shas:
        return
    turn.log(ticket, Author.USER, text, shas)
    files = await stored_files(turn.svc, shas)
    body = turn.mt("mod_user_edited" if edited else "mod_user_says", text=text) if text else ""
    # Text alone may be packed with the user's next lines into one message per send slot of
    # the group (Telegram: 20 a minute); photos still go as photos.
    turn.to_moderators(ticket, Reply(body or "📎", files=files), pack=True)
    if turn.data.get("acked") != ticket.id:
        turn.data["acked"] = ticket.id
        turn.say(Reply(turn.t("relay_ack", id=ticket.id), silent=True))
