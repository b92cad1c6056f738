"""Fixtures: the fake Discord on loopback, the real discord.py pointed at it, a recording sink."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from bot.app import build_index, load_kb
from bot.config import BotConfig, Config, DiscordConfig
from bot.types import IncomingEvent, ModalField
from knowledge.models import KnowledgeBase
from knowledge.search import SearchIndex
from tests.helpers.fake_discord import (
    FakeDiscord,
    running_fake_discord,
)

TOKEN_ENV = "KEFU_TEST_DISCORD_TOKEN"


def upload_field(
    field_id: str, label: str, *, required: bool = False, max_files: int = 5, placeholder: str = ""
) -> ModalField:
    """An image question shown in a modal as a file upload (ModalField.max_files > 0)."""
    return ModalField(
        field_id, label, required=required, placeholder=placeholder, max_files=max_files
    )


async def eventually(check: Callable[[], Any], within: float = 5.0) -> Any:
    """Poll until `check()` is truthy; return its value or fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class RecordingSink:
    """The core's stand-in: records events; an optional reaction runs for each one."""

    def __init__(self) -> None:
        self.events: list[IncomingEvent] = []
        self.react: Callable[[IncomingEvent], Awaitable[None]] | None = None

    async def __call__(self, event: IncomingEvent) -> None:
        self.events.append(event)
        if self.react is not None:
            await self.react(event)

    async def next(self, count: int = 1) -> IncomingEvent:
        """Wait until at least `count` events arrived; the latest one."""
        await eventually(lambda: len(self.events) >= count)
        return self.events[count - 1]


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A fake Discord with a user (alice), a moderator (mona) and a non-moderator (bob)."""
    async with running_fake_discord() as server:
        yield server


@pytest.fixture
def config(fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    """A config with [discord] enabled, pointing at the fake's guild, channel and role."""
    monkeypatch.setenv(TOKEN_ENV, "fake-token")
    discord_cfg = DiscordConfig(
        enabled=True,
        token_env=TOKEN_ENV,
        guild_id=str(fake.guild_id),
        moderator_channel_id=str(fake.mod_channel_id),
        moderator_role_id=str(fake.mod_role_id),
    )
    return Config(bot=BotConfig(data_dir=tmp_path / "data"), discord=discord_cfg)


@pytest.fixture
def sink() -> RecordingSink:
    """A recording sink."""
    return RecordingSink()


@contextlib.asynccontextmanager
async def running(adapter: DiscordAdapter, sink: Any) -> AsyncIterator[DiscordAdapter]:
    """Run the adapter (as `kefu run` does) until the block ends."""
    async with adapter:
        task = asyncio.create_task(adapter.run(sink))
        try:
            await eventually(lambda: adapter.client.kefu_ready.is_set() or task.done())
            if task.done():
                task.result()
            yield adapter
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.fixture
async def adapter(config: Config, sink: RecordingSink) -> AsyncIterator[DiscordAdapter]:
    """A running adapter connected to the fake."""
    fast = DiscordAdapter(config, guild_ready_timeout=0.05, settle_after=0.2)
    async with running(fast, sink) as running_one:
        yield running_one


@pytest.fixture(scope="module")
def help_center() -> tuple[KnowledgeBase, SearchIndex]:
    """The bundled help center, indexed once for the module."""
    kb = load_kb(Config())
    return kb, build_index(kb)
