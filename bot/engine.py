"""The dialog engine: per conversation, lock → load → decide → commit, each event once.

The lock is the conversation's own (bot.storage.base.ConversationLocks): a user's private
chat, or, for a moderator's event about a ticket, the conversation of that ticket's user, so
that a user and the moderators never change one ticket at the same time. Loading and
deciding hold no store-wide lock; what the turn decided is committed at the end as one unit
(bot.storage.writes), which is refused if something it loaded changed meanwhile: then the
event is handled again from a fresh load.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from bot.actions import MODERATOR_VERBS, ActionError, unpack
from bot.flows import (
    appeal,
    buttons,
    commands,
    handoff,
    lifecycle,
    menu,
    moderator_events,
    search,
)
from bot.flows.intent import as_typed, clean, guess_lang
from bot.flows.search import MAX_QUERY
from bot.flows.turn import Services, Turn
from bot.ratelimit import RateLimiter
from bot.state import Conversation, Step
from bot.storage.base import ConversationLocks
from bot.storage.records import Loaded, UserRecord
from bot.storage.writes import AlreadyHandled, Conflict
from bot.texts import normalize_lang
from bot.types import (
    ButtonPressed,
    ChatKind,
    CommandReceived,
    FormSubmitted,
    IncomingEvent,
    TextReceived,
)
from knowledge.intents import asks_status, only_person, verdict, wants_human

log = logging.getLogger(__name__)

TRIES = 5  # a turn whose commit conflicts is handled again, from a fresh load, this often
NAME_MAX = 128  # characters of a display name kept


class Engine:
    """Turns inbound events into state changes and outbox items, atomically."""

    def __init__(
        self,
        svc: Services,
        locks: ConversationLocks,
        delete_file: Callable[[str], None] = lambda _p: None,
    ) -> None:
        self.svc = svc
        self._locks = locks
        self._rate = RateLimiter(svc.config.bot.user_rate_limit)
        self._delete_file = delete_file
        self.conflicts = 0  # turns handled again after a conflicting commit

    async def handle(self, event: IncomingEvent) -> bool:
        """Handle one event; False when it was handled before (a redelivery)."""
        for _ in range(TRIES - 1):
            try:
                return await self._once(event)
            except Conflict:
                self.conflicts += 1
        return await self._once(event)

    async def _once(self, event: IncomingEvent) -> bool:
        svc, store = self.svc, self.svc.store
        private = event.chat.kind == ChatKind.PRIVATE
        target = None if private else await moderator_events.target(svc, event)
        subject = await store.get_ticket(target) if target is not None else None
        key = event.user.key if private or subject is None else subject.user_key
        async with self._locks.hold(key):
            mark = (event.chat.platform, event.event_id)
            loaded = await store.load_turn(event.user.key, private, mark)
            if loaded.seen:
                return False
            now = svc.clock()
            turn = self._turn(event, now, loaded)
            if private:
                await self._user_event(turn)
            else:
                turn.target = await store.get_ticket(target) if target is not None else None
                await moderator_events.handle(turn)
            self._collect(turn, loaded.user)
            try:
                committed = await store.commit_turn(turn.writes)
            except AlreadyHandled:
                return False
        for path in committed.orphan_files:
            self._delete_file(path)
        return True

    def _turn(self, event: IncomingEvent, now: float, loaded: Loaded) -> Turn:
        ref, user = event.user, loaded.user
        if user is None:
            user = UserRecord(
                ref.key,
                ref.platform,
                ref.id,
                clean(ref.display_name)[:NAME_MAX],
                normalize_lang(ref.locale),
                created_at=now,
            )
        else:
            user = replace(user)  # the loaded one stays as it was: unchanged, it is not saved
            if ref.display_name:
                user.display_name = clean(ref.display_name)[:NAME_MAX]
        conv = loaded.conversation or Conversation(ref.key, lang=user.lang)
        turn = Turn(self.svc, event, now, user, conv, loaded.ticket)
        chosen = normalize_lang(ref.locale) if ref.locale_chosen else ""
        if chosen and chosen != conv.lang:
            menu.switch_lang(turn, chosen)
        return turn

    def _collect(self, turn: Turn, loaded: UserRecord | None) -> None:
        """What the turn writes besides what its flows recorded: the mark, user and state."""
        writes = turn.writes
        writes.seen = (turn.event.chat.platform, turn.event.event_id)
        writes.now = turn.now
        if turn.event.chat.kind != ChatKind.PRIVATE:
            # the name the desk and the reports show for this moderator's key, kept current
            ref = turn.event.user
            name = clean(ref.display_name)[:NAME_MAX]
            if ref.is_moderator and name:
                writes.moderator = (ref.key, name)
            return
        if turn.forget:
            writes.forget = turn.user.key
            return
        if turn.user != loaded:
            writes.user = turn.user
        writes.conversation = turn.conv

    async def _user_event(self, turn: Turn) -> None:
        event = turn.event
        if self._rate.hit(turn.user.key, turn.now):
            turn.text("rate_limited")
        if turn.user.blocked_bot:
            turn.user.blocked_bot = False  # they wrote to us: deliveries work again
            turn.writes.reachable = turn.user.key
        if not turn.user.lang:  # neither the platform nor their words said it yet
            text = event.text if isinstance(event, TextReceived) else ""
            turn.user.lang = guess_lang(text)  # "" for a screenshot or a number: asked again
            turn.conv.lang = turn.user.lang or turn.conv.lang or self.svc.config.bot.default_lang
        elif not turn.conv.lang:
            turn.conv.lang = turn.user.lang
        if isinstance(event, ButtonPressed):
            await self._button(turn, event)
        elif isinstance(event, CommandReceived):
            await self._command(turn, event)
        elif isinstance(event, FormSubmitted):
            appeal.on_modal(turn, event.form_id, event.values, event.attachments)
        else:
            await self._text(turn, event)

    async def _text(self, turn: Turn, event: TextReceived) -> None:
        text = as_typed(event.text)
        said = clean(text)  # for matching only: what is kept and relayed is `text`
        if event.edited:
            # a correction (an order number fixed) reaches the ticket's moderators; outside a
            # ticket the bot has answered the message already, and a form has its Edit buttons
            if turn.ticket is not None and said:
                await handoff.relay_from_user(turn, text, (), edited=True)
            return
        if turn.ticket is not None:
            await self._to_ticket(turn, text, said, event)
            return
        first = turn.conv.step == Step.START
        if event.attachments and turn.conv.step not in (Step.FORM, Step.OFFER, Step.REVIEW):
            if first and not said:
                menu.greet(turn)
            handoff.hold(turn, event.attachments, quiet=bool(said))  # for the ticket
        if wants_human(said) and not appeal.is_answer(turn, said):
            if first:
                menu.greet(turn)
            if not (only_person(said) and turn.data.get("query")):  # keep what they asked
                turn.data["query"] = text[:MAX_QUERY]
            await handoff.request_human(turn)
        elif not await self._typed_press(turn, said, event):
            await self._at_step(turn, text, said, event, first=first)

    async def _at_step(
        self, turn: Turn, text: str, said: str, event: TextReceived, *, first: bool
    ) -> None:
        """A message that neither asks for a person nor presses a button: what the step makes
        of it (a form's answer, the details for the ticket asked for, a question)."""
        if turn.conv.step == Step.FORM:
            appeal.on_message(turn, text, event.attachments)
        elif turn.conv.step == Step.OFFER:  # the form, when named, was pressed (form_offered)
            await search.at_offer(turn, text, event.attachments)
        elif turn.conv.step == Step.REVIEW:  # kept with the form, said back in the summary
            appeal.at_review(turn, text, event.attachments)
        elif not said:
            if not event.attachments:  # screenshots were held and said so
                turn.text("bad_input", turn.human_row())
        elif first:
            menu.greet(turn)
            await search.answer_text(turn, text, quiet=True)
        else:
            await search.answer_text(turn, text)

    async def _to_ticket(self, turn: Turn, text: str, said: str, event: TextReceived) -> None:
        """An open ticket takes everything the user sends; asking again shows its status.
        Only the label of one of the last message's buttons, typed ("关闭工单", "Ticket
        status"), presses it instead (checked like any press)."""
        if turn.conv.step == Step.FORGET and (yes := verdict(said)) is not None:
            await lifecycle.forget(turn, yes)  # "yes" to "delete your data?" asked in a ticket
            return
        pressed = None if event.attachments else turn.offered(said)
        if pressed is not None:
            await self._press_typed(turn, event, pressed)
            return
        await handoff.relay_from_user(turn, text, event.attachments)
        if wants_human(said) or asks_status(said):  # "人工！", "还要等多久？": where they stand
            await handoff.show_status(turn)

    async def _typed_press(self, turn: Turn, said: str, event: TextReceived) -> bool:
        """Whether the message was a button typed rather than pressed, and was pressed: "没有解决"
        or "yes, thanks" under "did this solve it?", "完成", "skip" or "提交" in a form, and
        outside a form what any button of the last message says ("填写表单", "Account")."""
        if event.attachments or not said:
            return False
        if turn.conv.step == Step.ARTICLE and (solved := verdict(said)) is not None:
            await search.feedback(turn, str(turn.data.get("article", "")), solved)
            return True
        if turn.conv.step == Step.CANDIDATES and (fits := verdict(said)) is not None:
            if fits:  # "yes" under the articles that may fit: which one, then?
                search.ask_which(turn)
            else:  # "no" / "都不是": none did, so the next step
                await handoff.offer_person(turn, "not_solved_form")
            return True
        if turn.conv.step == Step.FORGET and (yes := verdict(said)) is not None:
            await lifecycle.forget(turn, yes)  # "yes" / "否" to "delete your data?"
            return True
        typed = appeal.typed_button(turn, said)
        if typed is not None:
            await buttons.press(turn, typed[0], typed[1], "")
            return True
        if turn.conv.step in (Step.FORM, Step.REVIEW):
            return False
        data = turn.offered(said, loose=True) or turn.form_offered(said)
        data = data or await lifecycle.typed_reopen(turn, said)
        if data is None:
            return False
        await self._press_typed(turn, event, data)
        return True

    async def _press_typed(self, turn: Turn, event: TextReceived, data: str) -> None:
        """What a button of their last message says, typed: that button (checked like any
        press)."""
        await self._button(turn, ButtonPressed(event.user, event.chat, event.event_id, data))

    async def _command(self, turn: Turn, event: CommandReceived) -> None:
        if event.name in commands.HANDLERS:
            await commands.HANDLERS[event.name](turn, clean(event.args))
            return
        if event.name in moderator_events.NAMES:  # "/claim 3" from a user: said, not searched
            turn.text("mod_only_command", turn.human_row())
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
