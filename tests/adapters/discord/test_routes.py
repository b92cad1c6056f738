"""Routes on Discord: a ticket's private thread opens in its route's channel, and only members
with that route's role work it there (the real core, the real discord.py, the fake Discord)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_index, load_kb
from bot.config import BotConfig, Config, DiscordConfig
from bot.routes import RouteConfig
from knowledge.models import KnowledgeBase
from knowledge.search import SearchIndex
from tests.adapters.discord.conftest import TOKEN_ENV, eventually
from tests.adapters.discord.scenario import Kefu, Moderators, User, text_of
from tests.helpers.fake_discord import FakeDiscord


@pytest.fixture(scope="module")
def help_center() -> tuple[KnowledgeBase, SearchIndex]:
    """The bundled help center, indexed once for the module."""
    kb = load_kb(Config())
    return kb, build_index(kb)


@pytest.fixture
async def safety(
    fake: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    help_center: tuple[KnowledgeBase, SearchIndex],
) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """Kefu with a route "*" to a #safety channel whose role only sam holds (the default
    channel and its role, mona's, serve what no route takes); yields (channel, sam)."""
    monkeypatch.setenv(TOKEN_ENV, "fake-token")
    role, channel = fake.add_role("safety team"), fake.add_channel("safety")
    sam = fake.add_user("sam", roles=(role,))
    config = Config(
        bot=BotConfig(data_dir=tmp_path / "data", default_lang="en"),
        discord=DiscordConfig(
            enabled=True,
            token_env=TOKEN_ENV,
            guild_id=str(fake.guild_id),
            moderator_channel_id=str(fake.mod_channel_id),
            moderator_role_id=str(fake.mod_role_id),
        ),
        routes=(RouteConfig("*", (), str(channel), str(role)),),
    )
    running = Kefu(config, fake, *help_center)
    await running.start()
    try:
        yield channel, sam
    finally:
        await running.stop()


async def test_a_member_without_the_routes_role_cannot_claim_there(
    safety: tuple[int, dict[str, Any]], fake: FakeDiscord
) -> None:
    channel, sam = safety
    alice, moderators = User(fake, fake.alice), Moderators(fake)  # type: ignore[attr-defined]
    await alice.says("I want to talk to a real person")
    await alice.sees("Ticket #")
    thread = await moderators.get_a_thread()
    assert fake.channels[thread.channel_id]["parent_id"] == str(channel)  # the route's channel
    await moderators.sees("#1")
    refused = await moderators.presses(fake.mona, "Claim")  # type: ignore[attr-defined]
    await eventually(lambda: refused.callbacks)
    assert refused.callbacks[0]["data"]["flags"] == 64  # told privately, nothing else
    await moderators.presses(sam, "Claim")
    await alice.sees("picked up")
    claims = [m for m in alice.bot_messages() if "picked up" in text_of(m)]
    assert len(claims) == 1  # only the route's moderator's claim counted
