"""Routes on Discord: a ticket's private thread opens in its route's channel, and only members
with that route's role work it there (the real core, the real discord.py, the fake Discord)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from bot.config import Config
from bot.routes import RouteConfig
from knowledge.models import KnowledgeBase
from knowledge.search import SearchIndex
from tests.adapters.discord.conftest import eventually
from tests.adapters.discord.scenario import Kefu, Moderators, User, text_of
from tests.helpers.fake_discord import FakeDiscord


@pytest.fixture
async def safety(
    fake: FakeDiscord,
    config: Config,
    help_center: tuple[KnowledgeBase, SearchIndex],
) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """Kefu with a route "*" to a #safety channel whose role only sam holds (the default
    channel and its role, mona's, serve what no route takes); yields (channel, sam)."""
    role, channel = fake.add_role("safety team"), fake.add_channel("safety")
    sam = fake.add_user("sam", roles=(role,))
    routed = replace(
        config,
        bot=replace(config.bot, default_lang="en"),
        routes=(RouteConfig("*", (), str(channel), str(role)),),
    )
    running = Kefu(routed, fake, *help_center)
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
