"""The soak's side of the wire: a fake Bot API that indexes deliveries, and the ledger of them.

`SoakTelegram` is tests/helpers/fake_telegram.FakeTelegram with hooks where a message is stored
or edited and a topic created: every delivery goes at once to `Ledger.delivered`, which routes
it by chat id (a user's private chat) or by topic (a moderator group's; a topic belongs to the
user whose card opened it), so nothing ever scans an inbox. A relay message that packs several
of a user's lines meets each of their expectations; what a group's General topic receives (the
answer to /backlog) is kept in `general`. It also times how long each update
waits until a getUpdates call takes it. The fake's own records that only grow (`calls`, `sent`,
answered callback queries) are trimmed by `trim()`, and it keeps only the last KEEP messages of
each chat or topic.

An expectation is one delivery the bot owes for one action: (kind, where, test). A delivery is
matched to the first open expectation of its user and place that it passes; one that matches
none is `doubled` when the same text reached the same place within the user's last 8
deliveries, else `unexpected`. What is still open at the end is `lost`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from tests.helpers.fake_telegram import FakeTelegram, FakeUser, Sent

Test = Callable[[Sent], bool]
CARD = re.compile(r"New ticket #(\d+) from (\S+) ")  # mod_card_header, moderators read English
TOPIC = re.compile(r"#(\d+) ")  # mod_card_title: "#N · category · user"
KEEP = 4  # messages kept per private chat or topic (the soak saw the bot edit none of them)
RECENT = 8  # deliveries per user remembered to tell a second copy from a stray message
SAMPLES = 12  # stray deliveries quoted in the report


@dataclass(slots=True, eq=False)
class Step:
    """One action (a user's message or press, or a moderator's message) and what it awaits."""

    at: float  # when the update was put in the fake's queue
    left: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True, eq=False)
class Expect:
    """One delivery owed for a step."""

    kind: str  # reply | more | page | relay | modreply | notice
    where: str  # "user" (the private chat) or "topic" (the ticket's topic)
    test: Test
    label: str  # what it is, for the report of lost deliveries
    step: Step


@dataclass(slots=True, eq=False)
class SimUser:
    """A simulated Telegram user as the ledger sees them."""

    tg: FakeUser
    lang: str  # "en" or "zh-CN"
    open: list[Expect] = field(default_factory=list)
    recent: deque[int] = field(default_factory=lambda: deque(maxlen=RECENT))  # hash(place, text)
    last_kb: Sent | None = None  # the latest message with buttons in their chat
    ticket: int | None = None
    group: int | None = None  # the moderator group of the ticket's topic
    thread: int | None = None
    acked: int | None = None  # the ticket whose relay was acknowledged
    talked: bool = False
    actions: int = 0  # updates injected for this user (the moderator's messages included)
    searches: int = 0
    stalled: bool = False
    sent_at: deque[float] = field(default_factory=deque)  # own messages, last minute

    @property
    def name(self) -> str:
        """The first name, unique: the card names the user by it."""
        return self.tg.first_name


class Ledger:
    """Every expected delivery, every delivery seen, and the figures made of them."""

    def __init__(self, mod_chats: Collection[int], limited_texts: set[str]) -> None:
        self.mod_chats = frozenset(mod_chats)
        self.limited_texts = limited_texts
        self.by_chat: dict[int, SimUser] = {}
        self.by_name: dict[str, SimUser] = {}
        self.by_thread: dict[tuple[int, int], SimUser] = {}  # (group, topic) → its user
        self.general: list[str] = []  # what the groups' General topics received
        self.expected: Counter[str] = Counter()
        self.matched: Counter[str] = Counter()
        self.latency: defaultdict[str, list[float]] = defaultdict(list)
        self.window: list[float] = []  # reply latencies since the last progress line
        self.cards: Counter[int] = Counter()
        self.topics: Counter[int] = Counter()
        self.actions = 0  # updates injected (user messages, presses, moderator messages)
        self.deliveries = 0  # messages the bot created (sendMessage and the like)
        self.edits = 0
        self.completed = 0  # actions whose every owed delivery arrived
        self.doubled = 0
        self.unexpected = 0
        self.limited = 0  # the per-user limiter's notice
        self.stalled = 0  # steps whose deliveries did not come within the step timeout
        self.script_errors = 0  # a button the script wanted was not on the message
        self.samples: list[str] = []

    def add(self, user: SimUser) -> None:
        """Know a user by chat id and name."""
        self.by_chat[user.tg.id] = user
        self.by_name[user.name] = user

    def expect(
        self, user: SimUser, step: Step, kind: str, where: str, test: Test, label: str
    ) -> None:
        """Register one delivery `step` owes."""
        user.open.append(Expect(kind, where, test, label, step))
        self.expected[kind] += 1
        step.left += 1

    def open_count(self) -> int:
        """Expectations not met yet (across users)."""
        return sum(self.expected.values()) - sum(self.matched.values())

    # ------------------------------------------------------------------ deliveries

    def delivered(self, sent: Sent, edit: bool) -> None:
        """A message the bot created (or edited), as the fake stores it."""
        if edit:
            self.edits += 1
            return
        self.deliveries += 1
        now = time.monotonic()
        if sent.chat_id in self.mod_chats:
            if sent.thread_id is None:
                self.general.append(sent.text)
            else:
                self._topic(sent, now)
            return
        user = self.by_chat.get(sent.chat_id)
        if user is None:
            self._stray(None, "user", sent.text, f"chat {sent.chat_id}")
            return
        if sent.buttons:
            user.last_kb = sent
        if sent.text in self.limited_texts:
            self.limited += 1
        elif not self._match(user, "user", sent, now):
            self._stray(user, "user", sent.text, user.name)

    def topic_created(self, name: str) -> None:
        """createForumTopic: a second topic for one ticket is a doubled delivery."""
        m = TOPIC.match(name)
        if m:
            ticket = int(m.group(1))
            self.topics[ticket] += 1
            if self.topics[ticket] > 1:
                self._note("doubled", f"second topic for #{ticket}: {name!r}")

    def _topic(self, sent: Sent, now: float) -> None:
        text = sent.text
        card = CARD.search(text)
        if card:
            ticket = int(card.group(1))
            self.cards[ticket] += 1
            user = self.by_name.get(card.group(2))
            if user is not None and sent.thread_id is not None and self.cards[ticket] == 1:
                self.by_thread[(sent.chat_id, sent.thread_id)] = user
                user.group, user.thread = sent.chat_id, sent.thread_id
        else:
            user = self.by_thread.get((sent.chat_id, sent.thread_id or 0))
        if user is None or not self._match(user, "topic", sent, now):
            self._stray(user, "topic", text, f"topic {sent.thread_id}")
            return
        while self._match(user, "topic", sent, now):  # the other lines of a packed relay
            pass

    def _match(self, user: SimUser, where: str, sent: Sent, now: float) -> bool:
        for e in user.open:
            if e.where == where and e.test(sent):
                user.open.remove(e)
                self.matched[e.kind] += 1
                self.latency[e.kind].append(now - e.step.at)
                if e.kind == "reply":
                    self.window.append(now - e.step.at)
                user.recent.append(hash((where, sent.text)))
                e.step.left -= 1
                if not e.step.left:
                    self.completed += 1
                    e.step.done.set()
                return True
        return False

    def _stray(self, user: SimUser | None, where: str, text: str, to: str) -> None:
        if user is not None and hash((where, text)) in user.recent:
            self._note("doubled", f"to {to} again: {text[:90]!r}")
        else:
            self._note("unexpected", f"to {to}: {text[:90]!r}")
        if user is not None:
            user.recent.append(hash((where, text)))

    def _note(self, what: str, sample: str) -> None:
        if what == "doubled":
            self.doubled += 1
        else:
            self.unexpected += 1
        if len(self.samples) < SAMPLES:
            self.samples.append(f"{what} {sample}")

    def lost(self) -> list[tuple[SimUser, Expect]]:
        """Every expectation still open."""
        return [(u, e) for u in self.by_chat.values() for e in u.open]


class SoakTelegram(FakeTelegram):
    """The fake Bot API, handing each delivery to a ledger as it is stored."""

    def __init__(self, ledger: Ledger, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ledger = ledger
        self.methods: Counter[str] = Counter()  # requests by method, kept after trim()
        self._kept: defaultdict[tuple[int, int | None], deque[int]] = defaultdict(deque)
        self._pushed: dict[int, float] = {}  # update id → when it was queued, until fetched
        self.intake: list[float] = []  # seconds each update waited until getUpdates took it

    def _push(self, kind: str, obj: dict[str, Any]) -> int:
        update_id = super()._push(kind, obj)
        self._pushed[update_id] = time.monotonic()
        return update_id

    async def _m_getUpdates(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        batch = await super()._m_getUpdates(p, f)
        now = time.monotonic()
        for update in batch:
            queued = self._pushed.pop(update["update_id"], None)
            if queued is not None:
                self.intake.append(now - queued)
        return batch

    def _store(self, sent: Sent) -> dict[str, Any]:
        wire = super()._store(sent)
        ids = self._kept[(sent.chat_id, sent.thread_id)]  # forget old messages of each chat
        ids.append(sent.message_id)
        if len(ids) > KEEP:
            self.messages.pop((sent.chat_id, ids.popleft()), None)
        self.ledger.delivered(sent, edit=False)
        return wire

    def _apply_edit(self, sent: Sent, html: str | None, p: dict[str, Any]) -> dict[str, Any]:
        wire = super()._apply_edit(sent, html, p)
        self.ledger.delivered(sent, edit=True)
        return wire

    async def _m_createForumTopic(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        result = await super()._m_createForumTopic(p, f)
        self.ledger.topic_created(str(result["name"]))
        return result

    def trim(self) -> int:
        """Drop the records only tests read; returns callback queries left unanswered."""
        self.methods.update(c.method for c in self.calls)
        self.calls.clear()
        self.sent.clear()
        now = time.monotonic()
        late = 0
        for qid, query in list(self.callbacks.items()):
            if query["answered"]:
                del self.callbacks[qid]
            elif now - query["at"] > 30:
                late += 1
        return late
