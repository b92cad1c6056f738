"""Fixtures for the reliability suite: loopback only, the token in the environment, and the
fake Telegram and Discord servers (each checked for calls it could not answer at teardown).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import BotConfig, Config, DiscordConfig
from tests.helpers.fake_discord import (
    FakeDiscord,
    running_fake_discord,
)
from tests.helpers.fake_telegram import TOKEN, FakeTelegram

DISCORD_TOKEN_ENV = "KEFU_TEST_DISCORD_TOKEN"
DISCORD_TOKEN = "fake-discord-token.Zm9vYmFy.c2VjcmV0"


@pytest.fixture(autouse=True)
def tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens from the environment, as in production.

    PTB_TIMEDELTA opts in to PTB 23's durations, so building a RetryAfter (every 429) does not
    warn PTBDeprecationWarning, an error under filterwarnings=error.
    """
    monkeypatch.setenv("KEFU_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("KEFU_TELEGRAM_SECRET", "s3cret-Token_1")
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    monkeypatch.setenv(DISCORD_TOKEN_ENV, DISCORD_TOKEN)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """A running fake Bot API server; fails the test if it met a call it could not answer."""
    async with FakeTelegram() as server:
        yield server
    assert server.unknown == [], f"methods the fake does not implement: {server.unknown}"
    assert server.errors == [], f"requests the fake could not handle: {server.errors}"
    assert server.url_uploads == [], "a file went out as a URL instead of being re-uploaded"


@pytest.fixture
async def dc() -> AsyncIterator[FakeDiscord]:
    """A fake Discord with a user (alice), a moderator (mona) and a non-moderator (bob)."""
    async with running_fake_discord() as server:
        yield server


@pytest.fixture
def dc_config(dc: FakeDiscord, tmp_path: Path) -> Config:
    """[discord] pointing at the fake's guild, moderator channel and role; English texts."""
    discord_cfg = DiscordConfig(
        enabled=True,
        token_env=DISCORD_TOKEN_ENV,
        guild_id=str(dc.guild_id),
        moderator_channel_id=str(dc.mod_channel_id),
        moderator_role_id=str(dc.mod_role_id),
    )
    return Config(
        bot=BotConfig(data_dir=tmp_path / "data", default_lang="en"), discord=discord_cfg
    )
