"""A hypothesis RuleBasedStateMachine over the engine: any sequence of user, moderator and
platform events keeps Kefu's promises.

Two people (alice in English, bai in Chinese) and a moderator on the harness's fake surfaces,
on a SqliteStore in a temporary directory. The machine runs the async runtime on an event loop
of its own, created in __init__ and closed in teardown (no pytest-asyncio here). Invariants:

- a person is one step away: the latest message with buttons offers "Talk to a person" (or
  the user has an open ticket), and /human always yields a ticket, its status or the offer
  whose other button is "Talk to a person now";
- no ticket is closed unless a user or a moderator acted (silence and time never close one);
- no event is handled twice: a redelivered event changes nothing and sends nothing;
- a restart (store and runtime closed and opened again) reloads every state unchanged;
- nothing is lost: after each step nothing is due and nothing is dead; one open ticket a user.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import shutil
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from bot.storage.records import OutboxStatus, TicketStatus
from bot.types import (
    Attachment,
    ButtonPressed,
    ChatKind,
    ChatRef,
    CommandReceived,
    IncomingEvent,
    MessageRef,
    TextReceived,
)
from tests.helpers.builders import DAY, MINUTE, config, exe, png
from tests.helpers.fakes import MODS, USERS, FakeUser, Harness, shared_knowledge

T = TypeVar("T")

TEXTS = [
    "忘记密码", "forgot password", "my order has not shipped", "账号被封了怎么办", "退款没到账",
    "xyzzy plugh", "转人工", "talk to a human", "客服", "客服态度太差", "this is useless!!!",
    "L12345678", "2025-03-14", "yesterday", "2027-01-01", "not_shipped", "13800138000",
    "The photo is mine; I have the original file", "", "\u200b\u202e", "1",
    "'; DROP TABLE tickets; --", "<b>hi</b> & *bye*",
]  # fmt: skip
COMMANDS = [
    ("start", ""), ("menu", ""), ("help", ""), ("status", ""), ("cancel", ""), ("lang", ""),
    ("lang", "en"), ("lang", "zh"), ("forget", ""), ("close", ""), ("queue", ""),
]  # fmt: skip
MOD_ACTIONS = ["claim", "unclaim", "close", "reopen", "note"]


@dataclasses.dataclass(frozen=True)
class State:
    """Everything a redelivery or a restart must leave as it was."""

    conversations: tuple[Any, ...]
    users: tuple[Any, ...]
    tickets: tuple[Any, ...]
    history: tuple[Any, ...]
    outbox: tuple[Any, ...]
    sent: tuple[int, int]


class EngineMachine(RuleBasedStateMachine):
    """Users, a moderator and the platform acting in any order on one runtime."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = Path(tempfile.mkdtemp(prefix="kefu-machine-"))
        kb, index = shared_knowledge()
        self.h = Harness(config(self.tmp / "data"), kb, index)
        self.run(self.h.open())
        self.people = {"alice": self.h.user("alice", "en"), "bai": self.h.user("bai", "zh-CN")}
        self.mod = self.h.moderator("mei")
        self.events: list[IncomingEvent] = []
        self.seen_buttons: dict[str, list[str]] = {name: [] for name in self.people}
        self.statuses: dict[int, TicketStatus] = {}
        self.may_close = False
        self.colors = itertools.count(1)
        self.human_labels = {
            self.h.t(lang, key)
            for lang in ("en", "zh-CN")
            for key in ("btn_human", "btn_handoff_now")
        }

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the machine's own loop."""
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        """Close the store and the loop; remove the data."""
        try:
            self.run(self.h.close())
            self.run(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---------------------------------------------------------------- plumbing

    async def _deliver(self, event: IncomingEvent) -> None:
        self.events.append(event)
        await self.h.deliver(event)
        self.h.clock.now += 2  # people take a moment between messages
        for name, user in self.people.items():
            for out in user.inbox[-3:]:
                for button in out.reply.flat_buttons:
                    if button.data not in self.seen_buttons[name]:
                        self.seen_buttons[name].append(button.data)

    def _user(self, name: str) -> FakeUser:
        return self.people[name]

    async def _state(self) -> State:
        store = self.h.store
        conversations = []
        users = []
        for user in self.people.values():
            conv = await store.load_conversation(user.key)
            conversations.append(dataclasses.astuple(conv) if conv else None)
            record = await store.get_user(user.key)
            users.append(dataclasses.astuple(record) if record else None)
        tickets = await store.list_tickets(limit=1000)
        history = [
            (t.id, [dataclasses.astuple(m) for m in await store.messages(t.id)]) for t in tickets
        ]
        outbox = [
            (i.id, i.key, i.status.value, i.attempts)
            for i in await store.outbox_items(limit=100_000)
        ]
        return State(
            tuple(conversations),
            tuple(users),
            tuple(dataclasses.astuple(t) for t in tickets),
            tuple(repr(h) for h in history),
            tuple(outbox),
            (len(self.h.users_adapter.sent), len(self.h.mods_adapter.sent)),
        )

    async def _tickets(self) -> list[int]:
        return [t.id for t in await self.h.store.list_tickets(limit=1000)]

    # ---------------------------------------------------------------- user rules

    @initialize(name=st.sampled_from(["alice", "bai"]))
    def greet(self, name: str) -> None:
        """Someone starts the conversation."""
        user = self._user(name)
        self.run(self._deliver(CommandReceived(user.ref, user.chat, self.h.next_id(), "start")))

    @rule(name=st.sampled_from(["alice", "bai"]), text=st.sampled_from(TEXTS))
    def says(self, name: str, text: str) -> None:
        """Types something: a question, an answer to a form, a request for a person, noise."""
        user = self._user(name)
        self.run(self._deliver(TextReceived(user.ref, user.chat, self.h.next_id(), text)))

    @rule(name=st.sampled_from(["alice", "bai"]), index=st.integers(0, 40))
    def presses_a_current_button(self, name: str, index: int) -> None:
        """Presses a button of the latest message that has buttons."""
        user = self._user(name)
        with_buttons = [o for o in user.inbox if o.reply.buttons]
        if not with_buttons:
            return
        buttons = with_buttons[-1].reply.flat_buttons
        self.may_close = True  # "Close my ticket" or "Yes, delete my data" may be among them
        self.run(self._press(user, buttons[index % len(buttons)].data))

    @rule(name=st.sampled_from(["alice", "bai"]), index=st.integers(0, 10_000))
    def presses_an_old_button(self, name: str, index: int) -> None:
        """Presses any button the user was ever shown."""
        seen = self.seen_buttons[name]
        if not seen:
            return
        self.may_close = True
        self.run(self._press(self._user(name), seen[index % len(seen)]))

    async def _press(self, user: FakeUser, data: str) -> None:
        ref = MessageRef(user.chat, "1")
        await self._deliver(ButtonPressed(user.ref, user.chat, self.h.next_id(), data, ref))

    @rule(name=st.sampled_from(["alice", "bai"]), good=st.booleans())
    def sends_a_file(self, name: str, good: bool) -> None:
        """Sends a screenshot, or an .exe named like one."""
        user = self._user(name)
        data = png(4, 4, (next(self.colors) % 256, 7, 7)) if good else exe()
        ref = f"file-{self.h.next_id()}"
        self.h.users_adapter.files[ref] = data
        attachment = Attachment(ref, "shot.png", "image/png", len(data))
        event = TextReceived(user.ref, user.chat, self.h.next_id(), "", (attachment,))
        self.run(self._deliver(event))

    @rule(name=st.sampled_from(["alice", "bai"]), command=st.sampled_from(COMMANDS))
    def sends_a_command(self, name: str, command: tuple[str, str]) -> None:
        """/start /menu /status /cancel /lang /forget /close ..."""
        user = self._user(name)
        self.may_close = command[0] == "close"
        event = CommandReceived(user.ref, user.chat, self.h.next_id(), *command)
        self.run(self._deliver(event))

    @rule(name=st.sampled_from(["alice", "bai"]))
    def asks_for_a_person(self, name: str) -> None:
        """/human works in every state: a ticket, its status, or the form offered beside
        "Talk to a person now"."""
        user = self._user(name)
        before = len(user.inbox)
        event = CommandReceived(user.ref, user.chat, self.h.next_id(), "human")
        self.run(self._deliver(event))
        replies = [o.reply for o in user.inbox[before:]]
        text = "\n".join(r.text for r in replies)
        labels = {b.label for r in replies for b in r.flat_buttons}
        assert "#" in text or labels & self.human_labels, (text, labels)

    # ---------------------------------------------------------------- moderator rules

    @precondition(lambda self: self.statuses)
    @rule(pick=st.integers(0, 100), action=st.sampled_from(MOD_ACTIONS))
    def moderator_acts(self, pick: int, action: str) -> None:
        """Claim, unclaim, close, reopen or note one of the tickets, in its thread."""
        self.may_close = action == "close"
        self.run(self._moderator(pick, action, "looks fine" if action == "note" else ""))

    @precondition(lambda self: self.statuses)
    @rule(pick=st.integers(0, 100), text=st.sampled_from(["收到", "please send a screenshot"]))
    def moderator_replies(self, pick: int, text: str) -> None:
        """Writes in a ticket's thread: relayed to the user."""
        self.run(self._moderator(pick, "", text))

    async def _moderator(self, pick: int, action: str, text: str) -> None:
        ids = sorted(self.statuses)
        found = await self.h.store.thread_of(ids[pick % len(ids)], MODS)
        if found is None:
            return
        chat = ChatRef(MODS, found[0], ChatKind.MODERATION, found[1])
        event: IncomingEvent
        if action:
            event = CommandReceived(self.mod.ref, chat, self.h.next_id(), action, text)
        else:
            event = TextReceived(self.mod.ref, chat, self.h.next_id(), text)
        await self._deliver(event)

    # ---------------------------------------------------------------- platform rules

    @precondition(lambda self: self.events)
    @rule(index=st.integers(0, 10_000))
    def an_event_is_delivered_again(self, index: int) -> None:
        """The platform redelivers an event already handled: nothing changes, nothing is sent."""
        event = self.events[index % len(self.events)]
        before = self.run(self._state())
        self.run(self.h.deliver(event))
        after = self.run(self._state())
        assert after == before, f"redelivered {event!r} changed something"

    @rule()
    def restart(self) -> None:
        """The process restarts: every state reloads exactly as it was."""
        before = self.run(self._state())
        self.run(self.h.restart())
        after = self.run(self._state())
        assert after == before

    @rule(seconds=st.sampled_from([MINUTE, 30 * MINUTE, 8 * DAY]))
    def time_passes(self, seconds: float) -> None:
        """Nobody says anything for a while; the SLA scheduler runs."""
        self.run(self.h.advance(seconds))
        self.run(self.h.tick())

    # ---------------------------------------------------------------- invariants

    @invariant()
    def a_person_is_one_step_away(self) -> None:
        """The latest message with buttons offers a person, unless a ticket is already open."""
        for user in self.people.values():
            with_buttons = [o for o in user.inbox if o.reply.buttons]
            if not with_buttons:
                continue
            if self.run(user.open_ticket()) is not None:
                continue
            labels = {b.label for b in with_buttons[-1].reply.flat_buttons}
            assert labels & self.human_labels, (with_buttons[-1].reply.text[:120], labels)

    @invariant()
    def no_ticket_is_closed_without_an_action(self) -> None:
        """Only a user's or a moderator's action closes a ticket."""
        tickets = self.run(self.h.store.list_tickets(limit=1000))
        for t in tickets:
            was = self.statuses.get(t.id)
            if t.status == TicketStatus.CLOSED and was not in (None, TicketStatus.CLOSED):
                assert self.may_close, f"#{t.id} closed without a user or moderator action"
        self.statuses = {t.id: t.status for t in tickets}
        self.may_close = False

    @invariant()
    def nothing_is_lost_and_one_ticket_each(self) -> None:
        """Every delivery went out; nobody holds two open tickets."""
        store = self.h.store
        waiting = self.run(store.due([USERS, MODS], self.h.clock.now))
        dead = self.run(store.outbox_items([OutboxStatus.DEAD]))
        assert waiting == [] and dead == [], (waiting, dead)
        open_by = [t.user_key for t in self.run(store.queue())]
        assert len(open_by) == len(set(open_by)), open_by


TestEngineMachine = EngineMachine.TestCase
TestEngineMachine.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,  # the same sequences on every run: CI stays stable
    database=None,  # and no .hypothesis directory in the checkout
    suppress_health_check=[HealthCheck.too_slow],
)
