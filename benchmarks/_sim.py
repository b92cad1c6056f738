"""Simulated people for benchmarks/engine.py: a fake platform and users who read their replies.

`FakePlatform` is one in-process adapter standing for Telegram: users' private chats (it records
every reply and serves screenshot bytes from memory) and the moderators' forum group (one topic
per ticket). A `Dialog` is one user and the moderator who answers their tickets: a generator that
yields the next event only after reading what the bot last sent, and presses buttons it really
received (decoded with `bot.actions.unpack`, chosen by verb).
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import random
from collections import Counter, deque
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import Image, ImageDraw

from bot.actions import Action, ActionError, Verb, unpack
from bot.storage.records import OutboxItem
from bot.types import (
    Attachment,
    ButtonPressed,
    Capabilities,
    ChatKind,
    ChatRef,
    CommandReceived,
    Delivered,
    IncomingEvent,
    Outgoing,
    Reply,
    TextReceived,
    UserRef,
)
from knowledge.models import FieldType, FormField, KnowledgeBase

Test = Callable[[Action], bool]
Step = tuple[str, IncomingEvent]  # (what the message is for, the event)
Pressable = tuple[Action, str]  # a received button: its decoded action and its exact data
Received = tuple[str, tuple[Pressable, ...]]  # a reply as a person reads it: text, buttons
Seen = list[Received]

PLATFORM = "telegram"
MOD_CHAT = "-1001"  # the moderators' forum group
QUERIES = Path(__file__).resolve().parents[2] / "shared" / "kb-fixture" / "queries-dev.jsonl"
WORDS = {  # what people type, by language
    "en": {
        "person": "I want to talk to a person",
        "relay": "It happened again this morning, here is what I see.",
        "thanks": "Thank you, that helped!",
        "short": "Your content violates community rules",
        "long": "I posted a photo of my own cooking and a few minutes later it was hidden. "
        "I did not copy anyone; I have the original photos on my phone.",
    },
    "zh-CN": {
        "person": "转人工",
        "relay": "今天早上又出现了，截图如下。",
        "thanks": "谢谢，解决了！",
        "short": "你的内容违反了社区规范",
        "long": "我发了一篇自己做饭的笔记，几分钟后就被隐藏了。"
        "我没有抄袭任何人，原图都在我手机里。",
    },
}
# A cycle is one thing a user came to do; weights are the share of cycles.
GOALS = {"browse": 35, "search": 35, "form": 15, "human": 15}


def make_images(n: int, seed: int = 7) -> dict[str, bytes]:
    """`n` distinct phone-screenshot-like PNGs (a few tens of KB each), by reference."""
    rng = random.Random(seed)
    images = {}
    for i in range(n):
        im = Image.new("RGB", (360, 640), (250, 250, 250))
        draw = ImageDraw.Draw(im)
        for _ in range(12):
            x, y = rng.randrange(0, 300), rng.randrange(0, 600)
            fill = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            draw.rectangle((x, y, x + rng.randrange(20, 200), y + rng.randrange(8, 40)), fill)
        im.paste(Image.effect_noise((48, 48), 64).convert("RGB"), (rng.randrange(300), 20))
        buf = io.BytesIO()
        im.save(buf, "PNG")
        images[f"img{i}"] = buf.getvalue()
    return images


def load_queries() -> dict[str, list[str]]:
    """Help-center questions people type, by language (the shared fixture's query set)."""
    found: dict[str, list[str]] = {"en": [], "zh-CN": []}
    for line in QUERIES.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            found.setdefault(row["lang"], []).append(row["q"])
    return found


class Tracker:
    """Which outbox items each event created and when the last of them was delivered."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._pending: Counter[str] = Counter()
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self._done: dict[str, float] = {}
        self.tracked = 0  # items seen enqueued: 0 with deliveries means the hook missed them

    @staticmethod
    def _event(key: str) -> str | None:
        parts = key.split(":")  # Turn._key: "<platform>:<event id>:<n>"; ":card"/":error" differ
        return parts[1] if len(parts) == 3 and parts[2].isdigit() else None

    def enqueued(self, item: OutboxItem) -> None:
        """An item was written to the outbox (inside the event's transaction)."""
        event = self._event(item.key)
        if event is not None:
            self.tracked += 1
            self._count(event, +1)

    def delivered(self, key: str) -> None:
        """The fake platform received an item (perhaps before the commit's caller said it was
        enqueued: an outbox woken by the commit may deliver it first)."""
        event = self._event(key)
        if event is not None:
            self._count(event, -1)

    def _count(self, event: str, step: int) -> None:
        self._pending[event] += step
        if self._pending[event] == 0:
            del self._pending[event]
            self._done[event] = self._clock()
            waiter = self._waiters.pop(event, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    async def settled(self, event_id: str, patience: float) -> float | None:
        """When the last reply of a handled event arrived; None when it did not in time."""
        if self._pending.get(event_id, 0) > 0:
            waiter = self._waiters.setdefault(event_id, asyncio.get_running_loop().create_future())
            try:
                await asyncio.wait_for(asyncio.shield(waiter), patience)
            except TimeoutError:
                self._waiters.pop(event_id, None)
                return None
        return self._done.pop(event_id, self._clock())


class Inbox:
    """The last replies a chat received (their text and decoded buttons), and how many in all.

    Only what a person reads of a reply is kept, not the Reply: the inboxes of a phase hold
    ~24,000 replies, and as Reply, Button and Action objects (~23 each) they were the most of
    what the garbage collector walked in the engine's process (young collections of 5-16 ms,
    older ones of 30-118 ms under the open loop, which a real platform's chats do not cost).
    """

    def __init__(self) -> None:
        self.items: deque[Received] = deque(maxlen=24)
        self.total = 0

    def add(self, reply: Reply) -> None:
        """Record one reply; its buttons are decoded once, as a platform renders them once."""
        self.items.append((reply.text, decode(reply)))
        self.total += 1

    def since(self, mark: int) -> Seen:
        """The replies received after `mark` (a former `total`)."""
        n = min(self.total - mark, len(self.items))
        return list(self.items)[-n:] if n > 0 else []


class FakePlatform:
    """An in-process platform adapter: private chats and a moderators' group with topics."""

    platform = PLATFORM
    capabilities = Capabilities()  # like Telegram: no dialogs, a topic per ticket

    def __init__(
        self, images: dict[str, bytes], tracker: Tracker, platform: str = PLATFORM
    ) -> None:
        # Engine processes that share one database each stand for a platform of their own, so
        # that each delivers (and reads) only its own conversations' replies.
        self.platform = platform
        self.images = images
        self.tracker = tracker
        self.chats: dict[str, Inbox] = {}
        self.topics: dict[str, Inbox] = {}
        self.topic_of: dict[int, str] = {}
        self._next_topic = 0
        self.sent = 0

    def inbox(self, chat_id: str) -> Inbox:
        """A user's private chat."""
        inbox = self.chats.get(chat_id)
        if inbox is None:
            inbox = self.chats[chat_id] = Inbox()
        return inbox

    async def run(self, sink: object) -> None:
        """Events are pushed by the dialogs, not pulled from a network."""
        await asyncio.Event().wait()

    async def send(self, out: Outgoing) -> Delivered:
        """Record a reply in the chat or topic it is addressed to."""
        self.sent += 1
        if out.to.kind == ChatKind.MODERATION:
            topic = self.topics.get(out.to.thread_id)
            if topic is None:
                topic = self.topics[out.to.thread_id] = Inbox()
            topic.add(out.reply)
            if out.ticket_id is not None:
                self.topic_of.setdefault(out.ticket_id, out.to.thread_id)
        else:
            self.inbox(out.to.id).add(out.reply)
        self.tracker.delivered(out.key)
        return Delivered((str(self.sent),))

    async def fetch_attachment(self, attachment: Attachment, max_bytes: int) -> bytes:
        """The bytes of a screenshot a user sent."""
        data = self.images[attachment.ref]
        if len(data) > max_bytes:
            raise ValueError("file too large")
        return data

    def moderation_chat(self) -> ChatRef | None:
        """The moderators' group."""
        return ChatRef(self.platform, MOD_CHAT, ChatKind.MODERATION)

    async def open_thread(self, chat: ChatRef, title: str) -> str:
        """A new forum topic for a ticket."""
        self._next_topic += 1
        return str(self._next_topic)


def decode(reply: Reply) -> tuple[Pressable, ...]:
    """Every button of a reply that decodes as a Kefu action, in order."""
    found = (_pressable(button.data) for button in reply.flat_buttons)
    return tuple(p for p in found if p is not None)


@functools.lru_cache(maxsize=65_536)
def _pressable(data: str) -> Pressable | None:
    """A button's data decoded (None when it is no Kefu action), one object for every reply
    that carries the same button (a user's menu comes back again and again)."""
    try:
        return unpack(data), data
    except ActionError:
        return None


class World:
    """What every dialog shares: the help center, the platform, questions, category paths."""

    def __init__(
        self, kb: KnowledgeBase, platform: FakePlatform, queries: dict[str, list[str]]
    ) -> None:
        self.kb, self.platform, self.queries = kb, platform, queries
        self.tops = {c.id for c in kb.top_categories()}
        self.form_paths = [
            self._path(c.id)
            for c in kb.categories.values()
            if not c.children and c.parent and kb.form_for(c.id)
        ]
        self.screenshots = list(platform.images)

    def _path(self, category_id: str) -> list[str]:
        path = []
        cat = self.kb.categories.get(category_id)
        while cat is not None:
            path.insert(0, cat.id)
            cat = self.kb.categories.get(cat.parent) if cat.parent else None
        return path


class Dialog:
    """One user and the moderator who answers their tickets, taking turns like people do."""

    def __init__(self, n: int, lang: str, world: World, seed: int) -> None:
        self.n, self.lang, self.world = n, lang, world
        self.kb, self.platform = world.kb, world.platform
        self.queries = world.queries[lang]
        self.rng = random.Random(seed * 100_003 + n)
        where = self.platform.platform
        self.user = UserRef(where, f"u{n}", f"User {n}", lang)
        self.chat = ChatRef(where, f"u{n}")
        self.mod = UserRef(where, f"mod{n % 10}", f"Mod {n % 10}", "zh-CN", is_moderator=True)
        self.tops, self.form_paths = world.tops, world.form_paths
        self._count = 0
        self._mark = 0
        self.stats: Counter[str] = Counter()

    # what the user sees and does

    def screen(self) -> Seen:
        """What arrived since the user's last message (else the last message with buttons)."""
        inbox = self.platform.inbox(self.chat.id)
        new = inbox.since(self._mark)
        if any(found for _, found in new):
            return new
        last = next((item for item in reversed(inbox.items) if item[1]), None)
        return [*new, last] if last is not None else new

    def _id(self, who: str) -> str:
        self._count += 1
        return f"{who}{self.n}-{self._count}"

    def _user_event(self) -> str:
        self._mark = self.platform.inbox(self.chat.id).total
        return self._id("u")

    def find(
        self, verb: Verb, test: Test = lambda _a: True, seen: Seen | None = None
    ) -> list[Pressable]:
        """The received buttons with this verb on the user's screen (or in `seen`)."""
        seen = self.screen() if seen is None else seen
        return [p for _, found in seen for p in found if p[0].verb == verb and test(p[0])]

    def press(self, verb: Verb, test: Test = lambda _a: True) -> Step | None:
        """Press a random received button with this verb (its data as received), if any."""
        found = self.find(verb, test)
        if not found:
            return None
        data = self.rng.choice(found)[1]
        return verb.name.lower(), ButtonPressed(self.user, self.chat, self._user_event(), data)

    def either(self, step: Step | None, why: str) -> Step:
        """`step`, or /menu when the button was not there (counted: the flow went astray)."""
        if step is not None:
            return step
        self.stats[f"lost:{why}"] += 1
        return self.command("menu")

    def say(self, label: str, text: str, image: str = "") -> Step:
        """Type a message, perhaps with a screenshot."""
        files = ()
        if image:
            data = self.platform.images[image]
            files = (Attachment(image, "Screenshot.png", "image/png", len(data)),)
        return label, TextReceived(self.user, self.chat, self._user_event(), text, files)

    def command(self, name: str) -> Step:
        """A slash command."""
        return f"/{name}", CommandReceived(self.user, self.chat, self._user_event(), name)

    def screenshot(self) -> str:
        """One of the user's screenshots."""
        return self.rng.choice(self.world.screenshots)

    # the moderator's side of a ticket

    def _topic(self, ticket_id: int) -> ChatRef:
        topic = self.platform.topic_of.get(ticket_id, "")
        return ChatRef(self.platform.platform, MOD_CHAT, ChatKind.MODERATION, topic)

    def mod_press(self, ticket_id: int, verb: Verb) -> Step | None:
        """The moderator presses a button of the ticket's topic."""
        topic = self._topic(ticket_id)
        inbox = self.platform.topics.get(topic.thread_id)
        found = self.find(verb, seen=list(inbox.items)) if inbox else []
        if not found:
            return None
        event = ButtonPressed(self.mod, topic, self._id("m"), found[-1][1])
        return f"mod_{verb.name.lower().removeprefix('mod_')}", event

    def mod_say(self, ticket_id: int, text: str) -> Step:
        """The moderator writes in the ticket's topic: relayed to the user."""
        return "mod_reply", TextReceived(self.mod, self._topic(ticket_id), self._id("m"), text)

    def mod_command(self, ticket_id: int, name: str) -> Step:
        """The moderator types a command in the ticket's topic."""
        event = CommandReceived(self.mod, self._topic(ticket_id), self._id("m"), name)
        return f"mod_{name}", event

    # scripts

    def script(self) -> Iterator[Step]:
        """Forever: come back, pick something to do, do it, like a person would."""
        yield self.command("start")
        goals, weights = list(GOALS), list(GOALS.values())
        while True:
            yield from self._to_menu()
            goal = self.rng.choices(goals, weights)[0]
            self.stats[goal] += 1
            yield from getattr(self, f"_{goal}")()

    def _recover(self, why: str) -> Iterator[Step]:
        """The expected button was not there: count it, then do what a lost user does."""
        if self.find(Verb.CLOSE):
            yield from self._ticket()  # a ticket opened after all (a typed request, a repeat)
            return
        self.stats[f"lost:{why}"] += 1
        yield self.command("menu")

    def _to_menu(self) -> Iterator[Step]:
        if not self.find(Verb.MENU, lambda a: a.arg(0) in self.tops):
            yield self.press(Verb.MENU, lambda a: not a.arg(0)) or self.command("menu")

    def _browse(self) -> Iterator[Step]:
        for _ in range(3):
            if self.find(Verb.ARTICLE):
                break
            step = self.press(Verb.MENU, lambda a: bool(a.arg(0)))
            if step is None:
                yield from self._recover("browse")
                return
            yield step
        step = self.press(Verb.ARTICLE)
        if step is None:
            yield from self._recover("article")
            return
        yield step
        yield from self._feedback()

    def _feedback(self) -> Iterator[Step]:
        for _ in range(2):
            if self.rng.random() < 0.7:
                yield self.either(self.press(Verb.SOLVED), "solved")
                return
            yield self.either(self.press(Verb.UNSOLVED), "unsolved")
            step = self.press(Verb.ARTICLE)  # the next candidate
            if step is None:
                break
            yield step
        yield self.either(self.press(Verb.MENU, lambda a: not a.arg(0)), "menu")

    def _search(self) -> Iterator[Step]:
        yield self.say("search", self.rng.choice(self.queries))
        if self.find(Verb.SOLVED):
            yield from self._feedback()
        elif step := self.press(Verb.ARTICLE):
            yield step
            yield from self._feedback()
        elif self.find(Verb.CLOSE):
            yield from self._ticket()

    def _open(self, path: list[str]) -> Iterator[Step]:
        for cat in path:
            step = self.press(Verb.MENU, lambda a, c=cat: a.arg(0) == c)
            if step is None:
                yield from self._recover("category")
                return
            yield step

    def _form(self) -> Iterator[Step]:
        path = self.rng.choice(self.form_paths)
        yield from self._open(path)
        step = self.press(Verb.FORM)
        if step is None:
            yield from self._recover("form")
            return
        yield step
        for _ in range(20):
            if self.find(Verb.SUBMIT):
                yield self.either(self.press(Verb.SUBMIT), "submit")
                break
            step = self._answer(path[-1])
            if step is None:
                yield from self._recover("field")
                return
            yield step
        yield from self._ticket()

    def _answer(self, category: str) -> Step | None:
        form = self.kb.form_for(category)
        text = "\n".join(text for text, _ in self.screen())
        field = (
            next((f for f in form.fields if f.prompt_in(self.lang) in text), None)
            if form
            else None
        )
        if field is None:  # "send more, or Done"
            return self.press(Verb.DONE_IMAGES)
        if not field.required and self.rng.random() < 0.25:
            return self.press(Verb.SKIP)
        return self._value(field)

    def _value(self, field: FormField) -> Step | None:
        lang = self.lang
        if field.type == FieldType.CHOICE:
            return self.press(Verb.CHOICE)
        if field.type == FieldType.IMAGES:
            return self.say("image", "", self.screenshot())
        if field.type == FieldType.DATE:
            return self.say("form", self.rng.choice(["2025-03-14", "yesterday", "昨天"]))
        if field.type == FieldType.LONG_TEXT:
            return self.say("form", WORDS[lang]["long"][: field.max_length])
        if "id" in field.id or "order" in field.id:
            return self.say("form", f"L{self.rng.randrange(10**7, 10**8)}")
        return self.say("form", WORDS[lang]["short"][: field.max_length])

    def _human(self) -> Iterator[Step]:
        if self.rng.random() < 0.5:  # from inside a category: the form is offered first
            yield from self._open(self.rng.choice(self.form_paths))
        how = self.rng.random()
        if how < 0.5:
            yield self.either(self.press(Verb.HUMAN), "human")
        elif how < 0.8:
            yield self.say("handoff", WORDS[self.lang]["person"])
        else:
            yield self.command("human")
        if step := self.press(Verb.HANDOFF_NOW):
            yield step
        yield from self._ticket()

    def _ticket(self) -> Iterator[Step]:
        """Relay, a moderator claims, replies and closes, the user rates."""
        found = self.find(Verb.CLOSE)
        if not found:
            self.stats["lost:ticket"] += 1
            return
        ticket = int(found[0][0].arg(0))
        self.stats["tickets"] += 1
        yield self.mod_press(ticket, Verb.CLAIM) or self.mod_say(ticket, "On it.")
        image = self.screenshot() if self.rng.random() < 0.4 else ""
        yield self.say("relay", WORDS[self.lang]["relay"], image)
        yield self.mod_say(ticket, "We restored it, please check again.")
        if self.rng.random() < 0.3:
            yield self.command("status")
        yield self.say("relay", WORDS[self.lang]["thanks"])
        yield self.mod_press(ticket, Verb.MOD_CLOSE) or self.mod_command(ticket, "close")
        step = self.press(Verb.RATE, lambda a: a.arg(1) in {"3", "4", "5"})
        if step is None:
            self.stats["lost:rate"] += 1
            return
        self.stats["rated"] += 1
        yield step
