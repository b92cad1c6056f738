"""Retention: a long-closed ticket keeps its words and times, not its attachments."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.ports import RetryLater
from bot.storage.records import OutboxStatus
from tests.helpers.builders import png
from tests.helpers.fakes import Harness, harness

DAY = 86400.0


def on_disk(path: Path) -> bool:
    """Whether the stored file is still there."""
    return path.exists()


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """A harness on SQLite."""
    async with harness(tmp_path / "data", default_lang="en") as opened:
        yield opened


async def test_attachments_of_long_closed_tickets_are_deleted(h: Harness) -> None:
    user, mod = h.user("alice", "en"), h.moderator("bob")
    await user.command("human")
    await user.sends_image(png(8, 8, (1, 2, 3)))
    [message] = [m for m in await h.store.messages(1) if m.attachments]
    stored = await h.store.get_file(message.attachments[0])
    assert stored is not None
    path = h.files.path(stored.path)
    assert on_disk(path)
    await mod.command(1, "close", "done")
    await h.advance(30 * DAY)
    assert await h.scheduler.expire(every=0) == 0  # within the 90 days: kept
    assert on_disk(path)
    await h.advance(61 * DAY)
    assert await h.scheduler.expire(every=0) == 1
    assert not on_disk(path)
    assert await h.store.get_file(stored.sha256) is None
    kept = [m for m in await h.store.messages(1) if m.author.value == "user"]
    assert kept and kept[0].attachments == []  # the message itself stays


async def test_the_delivery_log_is_forgotten_after_log_days(h: Harness) -> None:
    """Delivered messages and seen event ids go after [bot] log_days; what waits stays."""
    user = h.user("alice", "en")
    await user.command("start")
    sent_before = await h.store.outbox_items()
    assert sent_before and await h.store.is_seen("fake", "e1")
    await h.advance(2 * DAY)
    await h.scheduler.expire(every=0)
    assert await h.store.outbox_items() == sent_before  # within 3 days: kept
    await h.advance(2 * DAY)
    h.users_adapter.failures.append(RetryLater("502"))
    await user.command("menu")  # this reply waits for its retry: it stays
    await h.scheduler.expire(every=0)
    left = await h.store.outbox_items()
    assert [i.status for i in left] == [OutboxStatus.PENDING]
    assert not await h.store.is_seen("fake", "e1")  # a redelivery this old: none comes
    await h.advance(600)
    assert user.last_text().startswith(h.t("en", "menu_title"))  # and nothing was lost
