"""The engine's mechanics: each event once, lock → load → save, the error boundary, logging
without message texts, the per-user rate notice, KeyedLocks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.flows import search
from bot.locks import InProcessLocks as KeyedLocks
from bot.types import CommandReceived, TextReceived
from tests.helpers.fakes import Harness, harness

SECRET = "my password is hunter2 and my phone 13800138000"


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """A harness on SQLite with English moderators."""
    async with harness(tmp_path / "data", default_lang="en") as opened:
        yield opened


async def test_handle_says_whether_the_event_was_new(h: Harness) -> None:
    user = h.user("alice")
    event = TextReceived(user.ref, user.chat, "u-1", "hello")
    assert await h.engine.handle(event) is True
    assert await h.engine.handle(event) is False


async def test_every_event_saves_a_new_conversation_version(h: Harness) -> None:
    user = h.user("alice")
    await user.command("start")
    first = await h.store.load_conversation(user.key)
    await user.command("menu")
    second = await h.store.load_conversation(user.key)
    assert first is not None and second is not None
    assert second.version == first.version + 1
    assert second.updated_at == h.clock.now


async def test_a_failing_flow_is_apologised_for_and_rolled_back(
    h: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    user = h.user("alice")
    await user.command("start")
    before = await h.store.load_conversation(user.key)

    async def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("search exploded")

    monkeypatch.setattr(search, "answer_text", boom)
    said = await user.says(SECRET, event_id="bad-1")
    assert said.has("Something went wrong") and said.has("nothing you sent was lost")
    after = await h.store.load_conversation(user.key)
    assert after is not None and before is not None and after.version == before.version
    assert await user.says(SECRET, event_id="bad-1") == type(said)()  # handled: not retried
    monkeypatch.undo()
    said = await user.says("forgot password")
    assert said.items[-1].title
    assert "search exploded" in caplog.text  # the failure is logged …
    assert "hunter2" not in caplog.text  # … without what the user wrote


async def test_message_texts_are_not_logged_at_info(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    user = h.user("alice")
    await user.says(SECRET)
    await user.command("menu")
    await user.command("human")
    await user.says(SECRET)
    await h.moderator("bob").says_in(1, SECRET)
    assert all("hunter2" not in r.getMessage() for r in caplog.records if r.levelno >= 20)


async def test_an_unknown_command_is_read_as_text(h: Harness) -> None:
    user = h.user("alice")
    await user.command("start")
    said = await user.command("password", "forgot")
    assert said.items  # answered, not ignored
    await user.command("menu")
    said = await user.command("转人工")
    assert said.has("#1")


async def test_a_command_while_a_ticket_is_open_is_not_relayed(h: Harness) -> None:
    user = h.user("alice")
    await user.command("human")
    await user.command("menu")
    assert not (await h.moderators.in_ticket(1)).has("/menu")


async def test_a_fast_sender_gets_one_polite_notice_and_loses_nothing(h: Harness) -> None:
    user = h.user("alice")
    await user.command("human")
    limit = h.config.bot.user_rate_limit
    for n in range(limit + 5):
        await user.says(f"line {n}")
    notices = [o for o in user.inbox if "sending messages very fast" in o.reply.text]
    assert len(notices) == 1
    history = [m.text for m in await h.store.messages(1)]
    assert all(f"line {n}" in history for n in range(limit + 5))
    await h.advance(61)
    await user.says("later")
    assert len([o for o in user.inbox if "very fast" in o.reply.text]) == 1


async def test_events_of_one_user_are_handled_one_at_a_time(h: Harness) -> None:
    user = h.user("alice")
    await user.command("start")
    events = [CommandReceived(user.ref, user.chat, f"c{n}", "menu") for n in range(10)]
    await asyncio.gather(*(h.engine.handle(e) for e in events))
    conv = await h.store.load_conversation(user.key)
    assert conv is not None and conv.version == 11  # no save was lost to a race


async def test_keyed_locks_serialise_one_key_and_are_dropped_after_use() -> None:
    """Proved by order, with events for every hand-over: while "1" holds key a, "2" is waiting
    for it and key b is taken and given back; "2" gets key a only after "1" let it go."""
    locks = KeyedLocks()
    order: list[str] = []
    entered, waiting, release = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with locks.hold("a"):
            order.append("1+")
            entered.set()
            await release.wait()
            order.append("1-")

    async def waiter() -> None:
        order.append("2?")
        waiting.set()  # no await between this and the acquire below: it is blocked once seen
        async with locks.hold("a"):
            order.append("2+")
        order.append("2-")

    first = asyncio.create_task(holder())
    await entered.wait()
    second = asyncio.create_task(waiter())
    await waiting.wait()
    async with locks.hold("b"):  # another key: not held up by "1"
        order.append("3+")
    release.set()
    await asyncio.gather(first, second)
    assert order == ["1+", "2?", "3+", "1-", "2+", "2-"]
    assert not locks._locks  # the leak this class exists to prevent
