"""The dialog engine: per conversation, lock → load → decide → save, each event once."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace

from bot.actions import MODERATOR_VERBS, ActionError, unpack
from bot.flows import appeal, buttons, commands, handoff, menu, moderator_events, search
from bot.flows.intent import clean, guess_lang, wants_human
from bot.flows.search import MAX_QUERY
from bot.flows.turn import Services, Turn
from bot.ratelimit import RateLimiter
from bot.state import Conversation, Step
from bot.storage.base import Author, Loaded, OutboxItem, TicketMessage, TicketStatus, UserRecord
from bot.texts import normalize_lang
from bot.types import (
    ButtonPressed,
    ChatKind,
    CommandReceived,
    FormSubmitted,
    IncomingEvent,
    Reply,
    TextReceived,
)

log = logging.getLogger(__name__)


class KeyedLocks:
    """One asyncio.Lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: defaultdict[str, int] = defaultdict(int)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the lock of `key`."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                self._locks.pop(key, None)


class Engine:
    """Turns inbound events into state changes and outbox items, atomically."""

    def __init__(self, svc: Services, delete_file: Callable[[str], None] = lambda _p: None):
        self.svc = svc
        self._locks = KeyedLocks()
        self._rate = RateLimiter(svc.config.bot.user_rate_limit)
        self._delete_file = delete_file

    async def handle(self, event: IncomingEvent) -> bool:
        """Handle one event; False when it was handled before (a redelivery)."""
        key = (
            event.user.key
            if event.chat.kind == ChatKind.PRIVATE
            else (f"mod:{event.chat.platform}:{event.chat.id}:{event.chat.thread_id}")
        )
        store = self.svc.store
        private = event.chat.kind == ChatKind.PRIVATE
        async with self._locks.hold(key):
            now = self.svc.clock()
            async with store.transaction():
                loaded = await store.begin_turn(
                    event.chat.platform, event.event_id, now, event.user.key, private
                )
                if loaded is None:
                    return False
                turn = self._turn(event, now, loaded)
                if private:
                    await self._user_event(turn)
                else:
                    await moderator_events.handle(turn)
                forgotten = await self._save(turn, loaded.user)
        for path in forgotten:
            self._delete_file(path)
        return True

    def _turn(self, event: IncomingEvent, now: float, loaded: Loaded) -> Turn:
        ref, user = event.user, loaded.user
        if user is None:
            user = UserRecord(
                ref.key,
                ref.platform,
                ref.id,
                clean(ref.display_name)[:128],
                normalize_lang(ref.locale),
                created_at=now,
            )
        else:
            user = replace(user)  # the loaded one stays as it was: unchanged, it is not saved
            if ref.display_name:
                user.display_name = clean(ref.display_name)[:128]
        conv = loaded.conversation or Conversation(ref.key, lang=user.lang)
        return Turn(self.svc, event, now, user, conv, loaded.ticket)

    async def _save(self, turn: Turn, loaded: UserRecord | None) -> list[str]:
        store = self.svc.store
        paths = turn.forgotten
        if turn.event.chat.kind == ChatKind.PRIVATE and paths is None:
            if turn.user != loaded:
                await store.upsert_user(turn.user)
            turn.conv.version += 1
            turn.conv.updated_at = turn.now
            await store.save_conversation(turn.conv)
        for item in turn.items:
            await store.enqueue(item)
        return paths or []

    async def _user_event(self, turn: Turn) -> None:
        event = turn.event
        if self._rate.hit(turn.user.key, turn.now):
            turn.text("rate_limited")
        if turn.user.blocked_bot:
            await self._reachable_again(turn)
        if not turn.conv.lang:
            text = event.text if isinstance(event, TextReceived) else ""
            turn.conv.lang = turn.user.lang or guess_lang(text) or self.svc.config.bot.default_lang
            turn.user.lang = turn.conv.lang
        if isinstance(event, ButtonPressed):
            await self._button(turn, event)
        elif isinstance(event, CommandReceived):
            await self._command(turn, event)
        elif isinstance(event, FormSubmitted):
            appeal.on_modal(turn, event.form_id, event.values, event.attachments)
        else:
            await self._text(turn, event)

    async def _text(self, turn: Turn, event: TextReceived) -> None:
        text = clean(event.text)
        first = turn.conv.step == Step.START
        if turn.ticket is not None:
            # An open ticket takes everything the user sends; asking again shows its status.
            await handoff.relay_from_user(turn, text, event.attachments)
            if wants_human(text):
                await handoff.show_status(turn)
        elif wants_human(text) and not appeal.is_answer(turn, text):
            if first:
                menu.greet(turn)
            turn.data["query"] = text[:MAX_QUERY]
            await handoff.request_human(turn)
        elif turn.conv.step == Step.FORM:
            appeal.on_message(turn, text, event.attachments)
        elif not text:
            turn.text("bad_input", turn.human_row())
        elif first:
            menu.greet(turn)
            await search.answer_text(turn, text, quiet=True)
        elif turn.conv.step == Step.REVIEW:
            appeal.review(turn)
        else:
            await search.answer_text(turn, text)

    async def _command(self, turn: Turn, event: CommandReceived) -> None:
        if event.name in commands.HANDLERS:
            await commands.HANDLERS[event.name](turn, clean(event.args))
            return
        text = f"/{event.name} {event.args}".strip()
        fallback = TextReceived(event.user, event.chat, event.event_id, text, event.attachments)
        await self._text(turn, fallback)

    async def _button(self, turn: Turn, event: ButtonPressed) -> None:
        try:
            action = unpack(event.data)
        except ActionError:
            turn.text("stale_button", turn.human_row())
            return
        if action.verb in MODERATOR_VERBS:
            turn.text("mod_only", turn.human_row())
            return
        if action.owner and action.owner != turn.owner:
            turn.text("not_your_button", turn.human_row())
            return
        await buttons.press(turn, action.verb, action.arg(0), action.arg(1))

    async def _reachable_again(self, turn: Turn) -> None:
        """They wrote to us: whatever blocked deliveries to them is over."""
        turn.user.blocked_bot = False
        ticket = turn.ticket
        if ticket is not None and ticket.user_unreachable:
            ticket.user_unreachable = False
            await self.svc.store.update_ticket(ticket)

    async def card_for(self, ticket_id: int, platform: str) -> Reply | None:
        """The current card of a ticket (for a new or recreated topic)."""
        ticket = await self.svc.store.get_ticket(ticket_id)
        return await handoff.card(self.svc, ticket) if ticket else None

    async def note_late(self, item: OutboxItem) -> None:
        """A page or relay to the moderators keeps failing: tell the ticket's user, once."""
        if item.chat_kind != ChatKind.MODERATION.value or not item.ticket_id:
            return
        store = self.svc.store
        async with store.transaction():
            ticket = await store.get_ticket(item.ticket_id)
            if ticket is None or ticket.status == TicketStatus.CLOSED:
                return
            text = self.svc.texts(ticket.lang, "delivery_late")
            await store.enqueue(
                OutboxItem(
                    ticket.platform,
                    ticket.chat_id,
                    {"text": text, "buttons": [], "files": []},
                    f"late:{ticket.id}:{item.platform}",
                    "",
                    "private",
                    ticket.id,
                    created_at=self.svc.clock(),
                )
            )

    async def note_delivery_problem(
        self, item: OutboxItem, reason: str, unreachable: bool
    ) -> None:
        """A delivery failed for good or arrived degraded: note it on the ticket, page mods."""
        store = self.svc.store
        async with store.transaction():
            ticket = await store.get_ticket(item.ticket_id) if item.ticket_id else None
            to_user = item.chat_kind == ChatKind.PRIVATE.value
            if unreachable and to_user:
                key = ticket.user_key if ticket else f"{item.platform}:{item.chat_id}"
                user = await store.get_user(key)
                if user is not None:
                    user.blocked_bot = True
                    await store.upsert_user(user)
            if ticket is None:
                return
            if unreachable and to_user:
                if ticket.user_unreachable:
                    return  # the moderators were told already; no notice per failed reply
                ticket.user_unreachable = True
                await store.update_ticket(ticket)
            now = self.svc.clock()
            await store.add_message(
                TicketMessage(
                    ticket.id, Author.SYSTEM, "", "", f"delivery problem: {reason}", created_at=now
                )
            )
            lang = self.svc.mod_lang
            text = (
                self.svc.texts(lang, "mod_card_unreachable", platform=ticket.platform)
                if unreachable and to_user
                else self.svc.texts(lang, "mod_delivery_failed", reason=reason[:200])
            )
            for chat in self.svc.surfaces:
                if chat.platform == item.platform and not to_user:
                    continue  # that surface is the one failing: tell the others
                await store.enqueue(
                    OutboxItem(
                        chat.platform,
                        chat.id,
                        {"text": text, "buttons": [], "files": []},
                        f"problem:{item.id}:{chat.platform}",
                        f"@ticket:{ticket.id}",
                        "moderation",
                        ticket.id,
                        created_at=now,
                    )
                )
