"""Conversation helpers over the fake Bot API: `await user.says(...)`, `await user.sees(...)`."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from adapters.telegram.adapter import TelegramAdapter
from bot.app import Runtime, build_index, load_kb, open_runtime, serve
from bot.config import BotConfig, Config, StoreConfig, TelegramConfig
from bot.routes import RouteConfig
from knowledge.models import KnowledgeBase
from knowledge.search import SearchIndex
from tests.helpers.fake_telegram import FakeTelegram, FakeUser, Sent

WITHIN = 8.0  # seconds a reply may take (outbox retries after a 429 wait retry_after)


@functools.cache
def help_center() -> tuple[KnowledgeBase, SearchIndex]:
    """The bundled help center and its index, built once per test session."""
    kb = load_kb(Config())
    return kb, build_index(kb)


def kefu_config(
    fake: FakeTelegram,
    data_dir: Path,
    store: str = "",
    routes: tuple[RouteConfig, ...] = (),
    **telegram: Any,
) -> Config:
    """A deployment's config pointing at the fake server; moderators read English; `store`:
    a `[store] url` (default: SQLite in `data_dir`); `routes`: [[route]] tables."""
    values: dict[str, Any] = {
        "enabled": True,
        "moderator_chat_id": str(fake.moderator_chat_id),
        "base_url": fake.base_url,
        "base_file_url": fake.base_file_url,
        "rate_limit": False,
    }
    values.update(telegram)
    return Config(
        bot=BotConfig(data_dir=data_dir, default_lang="en"),
        telegram=TelegramConfig(**values),
        store=StoreConfig(url=store),
        routes=routes,
    )


@asynccontextmanager
async def kefu(
    fake: FakeTelegram,
    data_dir: Path,
    store: str = "",
    routes: tuple[RouteConfig, ...] = (),
    **telegram: Any,
) -> AsyncIterator[Runtime]:
    """`kefu run` in-process: the real runtime (store, engine, outbox) and adapter."""
    config = kefu_config(fake, data_dir, store, routes, **telegram)
    adapter = TelegramAdapter(config, album_delay=0.3, poll_timeout=2)
    kb, index = await asyncio.to_thread(help_center)
    async with adapter, open_runtime(config, [adapter], kb=kb, index=index) as runtime:
        task = asyncio.create_task(serve(runtime))
        try:
            yield runtime
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


class Person:
    """Someone in a Telegram chat with the bot; reads their chat in order with a cursor."""

    def __init__(self, fake: FakeTelegram, user: FakeUser) -> None:
        self.fake = fake
        self.user = user
        self.cursor = 0

    @property
    def chat_id(self) -> int:
        """The private chat's id."""
        return self.user.id

    def inbox(self) -> list[Sent]:
        """Everything the bot sent to this person."""
        return self.fake.inbox(self.chat_id)

    async def says(self, text: str) -> int:
        """Send a text message; returns its update id."""
        return self.fake.user_says(self.user, text)

    async def edits(self, update_id: int, text: str) -> int:
        """Edit the message sent in update `update_id` to say `text`."""
        return self.fake.user_edits(self.user, update_id, text)

    async def sends_photo(self, data: bytes) -> int:
        """Send a photo."""
        return self.fake.user_sends_photo(self.user, data)

    async def presses(self, label: str) -> str:
        """Press the button labelled `label` (waiting for it to appear)."""
        await self.fake.wait_for(lambda: _has_button(self.inbox(), label), WITHIN)
        return self.fake.presses(self.user, label)

    async def sees(self, fragment: str) -> Sent:
        """Wait for the next message (after the last one seen) that contains `fragment`."""

        def found() -> Sent | None:
            for i, sent in enumerate(self.inbox()[self.cursor :], self.cursor):
                if fragment in sent.text:
                    self.cursor = i + 1
                    return sent
            return None

        try:
            return await self.fake.wait_for(found, WITHIN)  # type: ignore[no-any-return]
        except AssertionError:
            texts = [s.text for s in self.inbox()[self.cursor :]]
            raise AssertionError(
                f"{fragment!r} never arrived; after the cursor: {texts}"
            ) from None

    def count(self, fragment: str) -> int:
        """How many messages to this person contain `fragment`."""
        return sum(fragment in s.text for s in self.inbox())


class Moderator(Person):
    """A member of a moderator forum group (the first unless `group`), working in one ticket's
    topic."""

    def __init__(self, fake: FakeTelegram, user: FakeUser, group: int | None = None) -> None:
        super().__init__(fake, user)
        self.thread: int | None = None
        self.group = group or fake.moderator_chat_id

    @property
    def chat_id(self) -> int:
        """The moderator group."""
        return self.group

    def inbox(self) -> list[Sent]:
        """What the bot posted in the current ticket's topic."""
        if self.thread is None:
            return []
        return self.fake.inbox(self.chat_id, self.thread)

    async def opens(self, ticket: int) -> int:
        """Wait for the ticket's topic ("#N · …") and work in it; returns its thread id."""

        def topic() -> int | None:
            names = self.fake.topics(self.group).items()
            return next((t for t, name in names if name.startswith(f"#{ticket} ")), None)

        self.thread = await self.fake.wait_for(topic, WITHIN)
        self.cursor = 0
        return self.thread

    def where(self) -> dict[str, Any]:
        """chat_id and thread_id of the ticket's topic, for the fake's inject helpers."""
        return {"chat_id": self.group, "thread_id": self.thread}

    async def says(self, text: str) -> int:
        """Post in the ticket's topic."""
        return self.fake.mod_says(self.user, self.thread, text, self.group)

    async def edits(self, update_id: int, text: str) -> int:
        """Edit the message posted in update `update_id` to say `text`."""
        return self.fake.user_edits(self.user, update_id, text)

    async def presses(self, label: str) -> str:
        """Press a button in the ticket's topic."""
        await self.fake.wait_for(lambda: _has_button(self.inbox(), label), WITHIN)
        return self.fake.presses(self.user, label, chat_id=self.group, thread_id=self.thread)


def _has_button(messages: list[Sent], label: str) -> bool:
    return any(label == text for sent in messages for text, _ in sent.buttons)
