"""Fakes, not mocks (STYLE rule 11): a FakeAdapter that records every Outgoing, and a Harness
that runs the real runtime (bot.app.open_runtime: store, engine, hub, outbox, scheduler) with a
conversational API (STYLE rule 13):

    user = h.user("alice", lang="en")
    await user.says("my account was banned")
    await user.presses("Talk to a person")
    mod = h.moderator("bob")
    await mod.presses("Claim", 1)
    assert user.received("#1")

Users live on platform "fake"; moderators work on the surface "fakemod" (chat "modchat"), one
thread per ticket ("t1", "t2", … in the order the outbox opens them). After every event the
harness runs the outbox until nothing is due, so what a test reads is what was delivered.

Over the ~400-line house limit on purpose: one reusable test double and the people who use it;
split apart, every scenario would import from several places for one conversation.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.app import Runtime, build_index, load_kb, open_runtime
from bot.config import Config
from bot.engine import Engine
from bot.flows.turn import Services
from bot.hub import Hub
from bot.media import FileStore
from bot.outbox import Outbox
from bot.scheduler import Scheduler
from bot.storage import Store
from bot.storage.records import Ticket
from bot.texts import Texts
from bot.types import (
    Attachment,
    Button,
    ButtonPressed,
    Capabilities,
    ChatKind,
    ChatRef,
    CommandReceived,
    Delivered,
    IncomingEvent,
    MessageRef,
    ModalLimits,
    Outgoing,
    Reply,
    TextReceived,
    UserRef,
)
from knowledge.models import KnowledgeBase
from knowledge.search import Hit, SearchIndex, SearchResult
from tests.helpers.builders import T0, config

USERS = "fake"
MODS = "fakemod"
MOD_CHAT = ChatRef(MODS, "modchat", ChatKind.MODERATION)
# The users' platform has modal dialogs with Discord's limits, so scenarios see the modal path.
WITH_MODALS = Capabilities(modals=ModalLimits(5, 45, 45, 100, 4000, 10))
MakeHarness = Callable[..., AbstractAsyncContextManager["Harness"]]


class FakeAdapter:
    """A platform that records what it is sent; it can open threads and serve attachments."""

    def __init__(
        self,
        platform: str,
        moderation: ChatRef | None = None,
        capabilities: Capabilities = Capabilities(),  # noqa: B008 (frozen, shared on purpose)
    ) -> None:
        self.platform = platform
        self.capabilities = capabilities
        self.sent: list[Outgoing] = []
        self.threads: dict[str, str] = {}  # thread id -> title
        self.files: dict[str, bytes] = {}  # attachment ref -> bytes
        self.failures: list[Exception] = []  # raised by the next sends, in order
        self.fetches = 0
        self._moderation = moderation
        self._thread_ids = itertools.count(1)

    async def run(self, sink: object) -> None:
        """Events are injected by the harness, not read from anywhere."""

    async def send(self, out: Outgoing) -> Delivered:
        """Record the reply (or raise the next planned failure)."""
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(out)
        return Delivered((str(len(self.sent)),))

    async def fetch_attachment(self, attachment: Attachment, max_bytes: int) -> bytes:
        """The bytes registered for `attachment.ref`."""
        self.fetches += 1
        data = self.files[attachment.ref]
        if len(data) > max_bytes:
            raise ValueError("larger than allowed")
        return data

    def moderation_chat(self) -> ChatRef | None:
        """The moderator chat, when this fake is a moderator surface."""
        return self._moderation

    async def open_thread(self, chat: ChatRef, title: str) -> str:
        """A new thread: "t1", "t2", …"""
        thread = f"t{next(self._thread_ids)}"
        self.threads[thread] = title
        return thread


class PinnedIndex:
    """The real search index, except for queries a test pins to a fixed result.

    Search quality is tuned elsewhere; a scenario about what the bot does with a weak match
    pins one, so it does not depend on today's ranking.
    """

    def __init__(self, index: SearchIndex, kb: KnowledgeBase) -> None:
        self.index = index
        self.kb = kb
        self.pins: dict[str, tuple[tuple[str, float], ...]] = {}
        self.confident: dict[str, bool] = {}

    def pin(self, query: str, hits: Iterable[tuple[str, float]], *, confident: bool) -> None:
        """From now on `query` finds `hits` ((article id, score) pairs)."""
        self.pins[query] = tuple(hits)
        self.confident[query] = confident

    def add_example(self, query: str, article_id: str) -> bool:
        """Learning would change the index every scenario shares: a harness that tests it
        opens with `own_index=True` (then the index is its own, not this wrapper)."""
        raise AssertionError("use harness(..., own_index=True) to teach the search")

    def search(self, query: str, lang: str | None = None, limit: int = 5) -> SearchResult:
        """The pinned result for a pinned query, else the real index's."""
        if query not in self.pins:
            return self.index.search(query, lang=lang, limit=limit)
        hits = []
        for article_id, score in self.pins[query][:limit]:
            article = self.kb.article(article_id, lang or "en")
            assert article is not None, f"no article {article_id}"
            hits.append(Hit(article_id, score, article.title, article.category))
        return SearchResult(query, self.confident[query], tuple(hits))


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: float = T0

    def __call__(self) -> float:
        return self.now


def _texts(replies: Iterable[Reply]) -> str:
    return "\n\n".join(f"{r.title}\n{r.text}" if r.title else r.text for r in replies)


@dataclass
class Replies:
    """What one event made the bot send to someone."""

    items: list[Reply] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Every reply's title and text, joined."""
        return _texts(self.items)

    @property
    def labels(self) -> list[str]:
        """Every button label, in order."""
        return [b.label for r in self.items for b in r.flat_buttons]

    def has(self, fragment: str) -> bool:
        """True when some reply's text or title contains `fragment`."""
        return fragment in self.text

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Reply]:
        return iter(self.items)


class Harness:
    """The real runtime (bot.app.open_runtime) wired to two FakeAdapters."""

    def __init__(
        self, config: Config, kb: KnowledgeBase, index: SearchIndex, *, own_index: bool = False
    ) -> None:
        self.config = config
        self.kb = kb
        self.own_index = own_index
        self.index = PinnedIndex(index, kb)
        self.clock = Clock()
        self.users_adapter = FakeAdapter(USERS, capabilities=WITH_MODALS)
        self.mods_adapter = FakeAdapter(MODS, MOD_CHAT)
        self.texts = Texts()
        self.moderators = ModeratorView(self)
        self._ids = itertools.count(1)
        self._stack = AsyncExitStack()
        self.runtime: Runtime

    @property
    def data_dir(self) -> Path:
        """Where the SQLite file and the stored attachments live."""
        return self.config.bot.data_dir

    @property
    def store(self) -> Store:
        """The runtime's store."""
        return self.runtime.store

    @property
    def services(self) -> Services:
        """What the flows use."""
        return self.runtime.services

    @property
    def engine(self) -> Engine:
        """The runtime's engine."""
        return self.runtime.engine

    @property
    def outbox(self) -> Outbox:
        """The runtime's outbox (stepped by hand: see `settle`)."""
        return self.runtime.outbox

    @property
    def hub(self) -> Hub:
        """Where events go."""
        return self.runtime.hub

    @property
    def files(self) -> FileStore:
        """The stored attachments."""
        return self.runtime.files

    @property
    def scheduler(self) -> Scheduler:
        """The SLA re-pager and retention (run by hand: see `tick`)."""
        return self.runtime.scheduler

    async def open(self) -> Harness:
        """Open the runtime exactly as `kefu run` does, on the fake platforms."""
        self.runtime = await self._stack.enter_async_context(
            open_runtime(
                self.config,
                [self.users_adapter, self.mods_adapter],
                clock=self.clock,
                kb=self.kb,
                # a PinnedIndex wraps the shared real one; a harness that teaches builds its own
                index=None if self.own_index else self.index,  # type: ignore[arg-type]
                paged=(MOD_CHAT,),
            )
        )
        return self

    async def close(self) -> None:
        """Close the runtime (and its store)."""
        await self._stack.aclose()

    async def restart(self) -> None:
        """Close everything and open it again on the same data (a process restart)."""
        await self.close()
        self._stack = AsyncExitStack()
        await self.open()

    def next_id(self) -> str:
        """A fresh event id."""
        return f"e{next(self._ids)}"

    async def deliver(self, event: IncomingEvent) -> None:
        """Hand an event to the hub, as an adapter would, then deliver what it caused."""
        await self.hub.sink(event)
        await self.settle()

    async def settle(self) -> None:
        """Run the outbox until nothing is due now."""
        for _ in range(1000):
            if not await self.outbox.step():
                return
        raise AssertionError("the outbox never settled")

    async def advance(self, seconds: float) -> None:
        """Move the clock on and deliver whatever became due."""
        self.clock.now += seconds
        await self.settle()

    async def tick(self) -> int:
        """Run the SLA scheduler once (as its loop would) and deliver what it queued."""
        paged = await self.scheduler.check()
        await self.settle()
        return paged

    def user(self, name: str, lang: str = "en") -> FakeUser:
        """A person chatting with the bot on the "fake" platform."""
        return FakeUser(self, name, lang)

    def moderator(
        self, name: str, *, is_moderator: bool = True, display_name: str = ""
    ) -> FakeModerator:
        """A moderator working on the "fakemod" surface (or someone there without the rights);
        `name` is their id there, `display_name` (default: the id) what the platform calls them."""
        return FakeModerator(self, name, is_moderator=is_moderator, display_name=display_name)

    def t(self, lang: str, key: str, **values: object) -> str:
        """A catalog string, for assertions that should follow the wording."""
        return self.texts(lang, key, **values)

    async def ticket(self, ticket_id: int) -> Ticket:
        """A ticket as stored."""
        ticket = await self.store.get_ticket(ticket_id)
        assert ticket is not None, f"no ticket #{ticket_id}"
        return ticket

    async def thread_of(self, ticket_id: int) -> ChatRef:
        """The moderators' thread of a ticket on the fakemod surface."""
        found = await self.store.thread_of(ticket_id, MODS)
        assert found is not None, f"ticket #{ticket_id} has no thread on {MODS}"
        return ChatRef(MODS, found[0], ChatKind.MODERATION, found[1])


class FakeUser:
    """One person in a private chat with the bot."""

    def __init__(self, h: Harness, name: str, lang: str) -> None:
        self.h = h
        self.lang = lang
        self.ref = UserRef(USERS, name, display_name=name, locale=lang)
        self.chat = ChatRef(USERS, name)

    @property
    def key(self) -> str:
        """The conversation key ("fake:<name>")."""
        return self.ref.key

    # what the user receives

    @property
    def inbox(self) -> list[Outgoing]:
        """Everything delivered to this user, oldest first."""
        return [o for o in self.h.users_adapter.sent if o.to.id == self.chat.id]

    @property
    def last(self) -> Reply:
        """The latest reply delivered to this user."""
        assert self.inbox, f"{self.ref.id} has received nothing"
        return self.inbox[-1].reply

    def last_text(self) -> str:
        """The text of the latest reply."""
        return self.last.text

    def received(self, fragment: str) -> bool:
        """True when any reply so far contains `fragment`."""
        return fragment in _texts(o.reply for o in self.inbox)

    def labels(self) -> list[str]:
        """The labels of the latest message that has buttons."""
        return [b.label for b in self._latest_with_buttons().reply.flat_buttons]

    def t(self, key: str, **values: object) -> str:
        """A catalog string in this user's language."""
        return self.h.t(self.lang, key, **values)

    def _latest_with_buttons(self) -> Outgoing:
        for out in reversed(self.inbox):
            if out.reply.buttons:
                return out
        raise AssertionError(f"{self.ref.id} has no message with buttons")

    def button(self, label: str) -> Button:
        """The button labelled `label` in the latest message that has buttons."""
        out = self._latest_with_buttons()
        for b in out.reply.flat_buttons:
            if b.label == label:
                return b
        labels = [b.label for b in out.reply.flat_buttons]
        raise AssertionError(
            f"no button {label!r} in the latest message with buttons "
            f"({out.reply.text[:80]!r}); buttons: {labels}"
        )

    def has_button(self, label: str) -> bool:
        """True when the latest message with buttons has one labelled `label`."""
        return label in self.labels()

    # what the user does

    async def _send(self, event: IncomingEvent) -> Replies:
        before = len(self.inbox)
        await self.h.deliver(event)
        return Replies([o.reply for o in self.inbox[before:]])

    async def says(self, text: str, event_id: str = "") -> Replies:
        """Type a message."""
        return await self._send(
            TextReceived(self.ref, self.chat, event_id or self.h.next_id(), text)
        )

    async def presses(self, label: str) -> Replies:
        """Press a button of the latest message that has buttons, by its label."""
        return await self.presses_data(self.button(label).data)

    async def presses_data(self, data: str, event_id: str = "") -> Replies:
        """Press a button with any payload at all (an old one, a forged one)."""
        return await self._send(
            ButtonPressed(
                self.ref, self.chat, event_id or self.h.next_id(), data, MessageRef(self.chat, "1")
            )
        )

    async def command(self, name: str, args: str = "") -> Replies:
        """Send /name args."""
        return await self._send(CommandReceived(self.ref, self.chat, self.h.next_id(), name, args))

    async def sends_file(
        self, data: bytes, name: str = "screenshot.png", text: str = "", mime: str = ""
    ) -> Replies:
        """Send a file (the platform's declared name and size, the bytes behind a ref)."""
        ref = f"file-{self.h.next_id()}"
        self.h.users_adapter.files[ref] = data
        attachment = Attachment(ref, name, mime, len(data))
        return await self._send(
            TextReceived(self.ref, self.chat, self.h.next_id(), text, (attachment,))
        )

    async def edits(self, text: str) -> Replies:
        """Edit a message sent before so that it says `text`."""
        event = TextReceived(self.ref, self.chat, self.h.next_id(), text, edited=True)
        return await self._send(event)

    async def sends_refused(self, kind: str, error: str) -> Replies:
        """Send what the adapter refused before any download (a voice message, a location)."""
        attachment = Attachment("", kind, error=error)
        return await self._send(
            TextReceived(self.ref, self.chat, self.h.next_id(), "", (attachment,))
        )

    async def sends_image(self, data: bytes, name: str = "screenshot.png") -> Replies:
        """Send a picture."""
        return await self.sends_file(data, name, mime="image/png")

    async def sends_images(self, images: Iterable[bytes]) -> Replies:
        """Send an album: several pictures in one message."""
        attachments = []
        for n, data in enumerate(images):
            ref = f"file-{self.h.next_id()}"
            self.h.users_adapter.files[ref] = data
            attachments.append(Attachment(ref, f"img{n}.png", "image/png", len(data)))
        return await self._send(
            TextReceived(self.ref, self.chat, self.h.next_id(), "", tuple(attachments))
        )

    async def open_ticket(self) -> Ticket | None:
        """The user's open or claimed ticket, as stored."""
        return await self.h.store.open_ticket_for(self.key)


class FakeModerator:
    """A moderator on the fakemod surface (`is_moderator` from the platform's rights)."""

    def __init__(
        self, h: Harness, name: str, *, is_moderator: bool = True, display_name: str = ""
    ) -> None:
        self.h = h
        shown = display_name or name
        self.ref = UserRef(MODS, name, display_name=shown, is_moderator=is_moderator)

    async def _where(self, ticket_id: int | None) -> ChatRef:
        return MOD_CHAT if ticket_id is None else await self.h.thread_of(ticket_id)

    async def says_in(self, ticket_id: int, text: str, *, edited: bool = False) -> None:
        """Write in a ticket's thread (relayed to the user); `edited`: a message corrected."""
        chat = await self._where(ticket_id)
        await self.h.deliver(TextReceived(self.ref, chat, self.h.next_id(), text, edited=edited))

    async def command(self, ticket_id: int | None, name: str, args: str = "") -> None:
        """A command in a ticket's thread (or in the moderator chat when `ticket_id` is None)."""
        chat = await self._where(ticket_id)
        await self.h.deliver(CommandReceived(self.ref, chat, self.h.next_id(), name, args))

    async def presses(self, label: str, ticket_id: int) -> None:
        """Press a button of the latest message in the ticket's thread that has it."""
        chat = await self.h.thread_of(ticket_id)
        for out in reversed(self.h.moderators.in_thread(chat)):
            for b in out.reply.flat_buttons:
                if b.label == label:
                    await self.presses_data(b.data, chat)
                    return
        raise AssertionError(f"no {label!r} button in the thread of #{ticket_id}")

    async def presses_data(self, data: str, chat: ChatRef = MOD_CHAT) -> None:
        """Press a button with any payload."""
        await self.h.deliver(ButtonPressed(self.ref, chat, self.h.next_id(), data))


class ModeratorView:
    """What the moderator surface received."""

    def __init__(self, h: Harness) -> None:
        self.h = h

    @property
    def inbox(self) -> list[Outgoing]:
        """Everything delivered to the moderator surface, oldest first."""
        return self.h.mods_adapter.sent

    def in_thread(self, chat: ChatRef) -> list[Outgoing]:
        """What was delivered into one thread."""
        return [o for o in self.inbox if o.to.thread_id == chat.thread_id]

    async def in_ticket(self, ticket_id: int) -> Replies:
        """What was delivered into a ticket's thread."""
        chat = await self.h.thread_of(ticket_id)
        return Replies([o.reply for o in self.in_thread(chat)])

    def received(self, fragment: str) -> bool:
        """True when anything delivered to the moderators contains `fragment`."""
        return fragment in _texts(o.reply for o in self.inbox)

    def count(self, fragment: str) -> int:
        """How many deliveries to the moderators contain `fragment`."""
        return sum(fragment in _texts([o.reply]) for o in self.inbox)

    def last_text(self) -> str:
        """The latest text delivered to the moderators."""
        assert self.inbox, "the moderators have received nothing"
        return self.inbox[-1].reply.text


@functools.cache
def shared_knowledge() -> tuple[KnowledgeBase, SearchIndex]:
    """The bundled help center and its index, built once per test session (jieba: ~1-2 s)."""
    kb = load_kb(Config())
    return kb, build_index(kb)


@asynccontextmanager
async def harness(
    data_dir: Path, handoff: dict[str, Any] | None = None, own_index: bool = False, **bot: Any
) -> AsyncIterator[Harness]:
    """An open Harness on the bundled help center, data in `data_dir`, config overrides.

    `own_index`: the runtime builds its own search index (with what was taught before), as
    `kefu run` does, instead of sharing the suite's (which may not learn anything)."""
    kb, index = shared_knowledge()
    h = await Harness(config(data_dir, handoff, **bot), kb, index, own_index=own_index).open()
    try:
        yield h
    finally:
        await h.close()
