"""Fixtures for the Telegram tests: the fake Bot API server, configs, a recording sink."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from adapters.telegram.adapter import TelegramAdapter
from bot.config import Config, TelegramConfig
from bot.types import IncomingEvent
from tests.helpers.fake_telegram import TOKEN, FakeTelegram


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A running fake Bot API server; fails the test if an unknown method was called."""
    async with FakeTelegram() as server:
        yield server
    assert server.unknown == [], f"methods the fake does not implement: {server.unknown}"
    assert server.errors == [], f"requests the fake could not handle: {server.errors}"
    assert server.url_uploads == [], "a file went out as a URL instead of being re-uploaded"


@pytest.fixture(autouse=True)
def token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot token, from the environment as in production.

    PTB_TIMEDELTA opts in to PTB 23's durations: PTB 22 builds every RetryAfter (each 429)
    through a property that otherwise warns PTBDeprecationWarning, an error under
    filterwarnings=error. The adapter reads retry_after in both forms (see test_errors).
    """
    monkeypatch.setenv("KEFU_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("KEFU_TELEGRAM_SECRET", "s3cret-Token_1")
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


def make_config(fake: FakeTelegram, **telegram: Any) -> Config:
    """A config pointing the adapter at the fake server (rate limiter off unless asked)."""
    values: dict[str, Any] = {
        "enabled": True,
        "moderator_chat_id": str(fake.moderator_chat_id),
        "base_url": fake.base_url,
        "base_file_url": fake.base_file_url,
        "rate_limit": False,
    }
    values.update(telegram)
    return Config(telegram=TelegramConfig(**values))


class RecordingSink:
    """Records every event; `fail` makes the next N calls raise like a broken store."""

    def __init__(self) -> None:
        self.events: list[IncomingEvent] = []
        self.calls = 0
        self.fail = 0
        self.gate: asyncio.Event | None = None  # when set, calls wait for it
        self._changed = asyncio.Event()

    async def __call__(self, event: IncomingEvent) -> None:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise RuntimeError("store unavailable")
        self.events.append(event)
        self._changed.set()

    async def wait(self, count: int, within: float = 5.0) -> list[IncomingEvent]:
        """Wait until `count` events arrived; return them."""
        async with asyncio.timeout(within):
            while len(self.events) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.events


@pytest.fixture
def sink() -> RecordingSink:
    """A fresh recording sink."""
    return RecordingSink()


@asynccontextmanager
async def running(adapter: TelegramAdapter, sink: RecordingSink) -> AsyncIterator[TelegramAdapter]:
    """Enter the adapter and run it in the background until the block ends."""
    async with adapter:
        task = asyncio.create_task(adapter.run(sink))
        try:
            yield adapter
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def adapter_for(fake: FakeTelegram, **telegram: Any) -> TelegramAdapter:
    """A fast adapter for tests: short album debounce and long-poll timeout."""
    return TelegramAdapter(make_config(fake, **telegram), album_delay=0.3, poll_timeout=2)
