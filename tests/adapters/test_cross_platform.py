"""One queue across platforms: Kefu with the real Telegram and Discord adapters at once, each
over loopback against its fake platform server, and the terminal desk on the same store.

A Telegram user's ticket is worked from its Discord thread, a Discord user's ticket from the
Telegram topic and from the desk; each side's topic or thread shows who claimed the ticket and
its status as it changes. Everything is asserted on what the fake servers received.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pytest

from adapters.console import DESK, ConsoleAdapter, console_user
from adapters.discord import DiscordAdapter
from adapters.telegram.adapter import TelegramAdapter
from bot.app import Runtime, open_runtime, serve
from bot.config import BotConfig, Config, DiscordConfig, TelegramConfig
from bot.desk import DeskFeed
from bot.storage.records import OutboxItem
from bot.types import ChatKind, ChatRef
from tests.adapters.discord.conftest import eventually
from tests.adapters.discord.scenario import Moderators, User
from tests.adapters.telegram.dialog import Moderator, Person, help_center
from tests.helpers.builders import png
from tests.helpers.fake_discord import FakeDiscord, buttons, running_fake_discord
from tests.helpers.fake_telegram import TOKEN, FakeTelegram, Sent

DISCORD_TOKEN_ENV = "KEFU_TEST_DISCORD_TOKEN"
WITHIN = 8.0  # seconds a delivery may take (the other runtime's outbox polls every 0.25 s)


@pytest.fixture(autouse=True)
def tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both tokens from the environment, as in production (PTB_TIMEDELTA: see the Telegram
    conftest)."""
    monkeypatch.setenv("KEFU_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    monkeypatch.setenv(DISCORD_TOKEN_ENV, "fake-discord-token")


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API; fails the test on a call it could not answer or a file sent as a URL."""
    async with FakeTelegram() as server:
        yield server
    assert server.unknown == [], f"methods the fake does not implement: {server.unknown}"
    assert server.errors == [], f"requests the fake could not handle: {server.errors}"
    assert server.url_uploads == [], "a file went out as a URL instead of being re-uploaded"


@pytest.fixture
async def dc() -> AsyncIterator[FakeDiscord]:
    """The fake Discord with alice (a user), mona (a moderator) and bob."""
    async with running_fake_discord() as server:
        yield server


@pytest.fixture
def config(tg: FakeTelegram, dc: FakeDiscord, tmp_path: Path) -> Config:
    """Both platforms enabled, each pointed at its fake; moderators read English."""
    telegram = TelegramConfig(
        enabled=True,
        moderator_chat_id=str(tg.moderator_chat_id),
        base_url=tg.base_url,
        base_file_url=tg.base_file_url,
        rate_limit=False,
    )
    discord = DiscordConfig(
        enabled=True,
        token_env=DISCORD_TOKEN_ENV,
        guild_id=str(dc.guild_id),
        moderator_channel_id=str(dc.mod_channel_id),
        moderator_role_id=str(dc.mod_role_id),
    )
    bot = BotConfig(data_dir=tmp_path / "data", default_lang="en")
    return Config(bot=bot, telegram=telegram, discord=discord)


@pytest.fixture
async def kefu(config: Config, dc: FakeDiscord) -> AsyncIterator[Runtime]:
    """`kefu run` in-process with both real adapters: one store, engine and outbox."""
    telegram = TelegramAdapter(config, album_delay=0.3, poll_timeout=2)
    discord = DiscordAdapter(config, guild_ready_timeout=0.01, settle_after=0.2)
    kb, index = await asyncio.to_thread(help_center)
    async with (
        telegram,
        discord,
        open_runtime(config, [telegram, discord], kb=kb, index=index) as runtime,
    ):
        until = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve(runtime, until))
        try:
            await eventually(lambda: discord.client.kefu_ready.is_set() or task.done())
            if task.done():
                task.result()
            yield runtime
        finally:
            until.set_result(None)
            await asyncio.gather(task, return_exceptions=True)
    await dc.disconnect()


@dataclass
class Desk:
    """`kefu desk` on the same data directory: lines typed into its stdin, what it printed."""

    typed: TextIO
    out: io.StringIO
    cursor: int = 0

    def types(self, line: str) -> None:
        """A line at the desk, as a moderator types it."""
        self.cursor = len(self.out.getvalue())
        self.typed.write(line + "\n")
        self.typed.flush()

    async def sees(self, fragment: str) -> str:
        """Wait until the desk printed `fragment` since the last line typed; all it printed."""
        await eventually(lambda: fragment in self.out.getvalue()[self.cursor :], WITHIN)
        return self.out.getvalue()[self.cursor :]


def text_pipe() -> tuple[TextIO, TextIO]:
    """A pipe as (the end to read lines from, the end to type them into); both are closed by
    whoever uses them."""
    read_end, write_end = os.pipe()
    return os.fdopen(read_end, encoding="utf-8"), os.fdopen(write_end, "w", encoding="utf-8")


@asynccontextmanager
async def desk(config: Config, name: str = "dora") -> AsyncIterator[Desk]:
    """The terminal desk composed as `kefu desk --name NAME` does (bot/cli/terminal.py
    _session: its own runtime on the same store, the outbox taking only its own lines, the
    live feed), in-process, with a pipe for stdin."""
    stdin, typed = text_pipe()
    out = io.StringIO()
    me = ChatRef("desk", name, ChatKind.MODERATION)
    user = console_user(name, "", "desk")
    adapter = ConsoleAdapter("desk", user, me, capabilities=DESK, stdin=stdin, stdout=out)

    def mine(item: OutboxItem) -> bool:
        return item.platform != "desk" or item.chat_id == me.id

    kb, index = await asyncio.to_thread(help_center)
    async with open_runtime(config, [adapter], kb=kb, index=index, accept=mine) as runtime:
        adapter.set_settle(lambda: runtime.outbox.drain("desk"))
        texts = runtime.services.texts
        feed = DeskFeed(runtime.store, adapter.show, name, texts, config.bot.default_lang)
        await feed.start()
        background = [asyncio.create_task(runtime.outbox.run()), asyncio.create_task(feed.run())]
        reading = asyncio.create_task(adapter.run(runtime.hub.sink))
        try:
            yield Desk(typed, out)
        finally:
            typed.close()  # the end of input: the desk finishes every line read, then exits
            await reading
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            stdin.close()


def labels(sent: Sent) -> list[str]:
    """The button labels of a Telegram message."""
    return [label for label, _ in sent.buttons]


CLAIM_CLOSE, UNCLAIM_CLOSE, REOPEN = ["Claim", "Close"], ["Unclaim", "Close"], ["Reopen"]
RATING = ["1", "2", "3", "4", "5", "Reopen", "Talk to a person"]


async def test_a_telegram_users_ticket_is_worked_from_its_discord_thread(
    kefu: Runtime, tg: FakeTelegram, dc: FakeDiscord
) -> None:
    lin = Person(tg, tg.user(1001, "Lin", "en"))
    topic = Moderator(tg, tg.moderator(2001, "Mei"))  # reads the ticket's Telegram topic
    thread = Moderators(dc)
    await lin.says("/human")
    await lin.sees("Ticket #1 created")
    await topic.opens(1)
    assert labels(await topic.sees("New ticket #1 from Lin (telegram, en)")) == CLAIM_CLOSE
    await thread.get_a_thread()
    assert buttons(await thread.sees("New ticket #1 from Lin (telegram, en)")) == CLAIM_CLOSE

    await thread.presses(dc.mona, "Claim")  # type: ignore[attr-defined]
    await lin.sees("A moderator has picked up your ticket #1.")
    assert labels(await topic.sees("#1 claimed by mona.")) == UNCLAIM_CLOSE
    assert buttons(await thread.sees("#1 claimed by mona.")) == UNCLAIM_CLOSE
    assert int(dc.mona["id"]) in dc.thread_members[thread.chat.channel_id]  # type: ignore[attr-defined]

    await thread.says(dc.mona, "We are checking your account")  # type: ignore[attr-defined]
    await lin.sees("Moderator: We are checking your account")
    await topic.sees("mona: We are checking your account")  # mirrored to the other surface
    shot = png(7, 5, (9, 80, 160))
    await thread.says(dc.mona, "", ("proof.png", shot))  # type: ignore[attr-defined]
    photo = await tg.wait_for(lambda: [s for s in lin.inbox() if s.photo is not None], WITHIN)
    assert [(s.method, s.photo) for s in photo] == [("sendPhoto", shot)]  # re-uploaded bytes
    await tg.wait_for(lambda: shot in tg.photos(tg.moderator_chat_id, topic.thread), WITHIN)

    await thread.presses(dc.mona, "Close")  # type: ignore[attr-defined]
    closed = await lin.sees("Your ticket #1 was closed by a moderator.")
    assert "How did we do?" in closed.text and labels(closed) == RATING
    assert labels(await topic.sees("#1 closed by mona.")) == REOPEN
    assert buttons(await thread.sees("#1 closed by mona.")) == REOPEN
    assert [s.text.splitlines()[0] for s in lin.inbox()] == [
        "Ticket #1 created. A person will reply here.",
        "A moderator has picked up your ticket #1.",
        "Moderator: We are checking your account",
        "📎",
        "Your ticket #1 was closed by a moderator.",
    ]


async def test_a_discord_users_ticket_is_answered_from_telegram_and_the_desk(
    kefu: Runtime, config: Config, tg: FakeTelegram, dc: FakeDiscord
) -> None:
    alice = User(dc, dc.alice)  # type: ignore[attr-defined]
    mei = Moderator(tg, tg.moderator(2001, "Mei"))
    thread = Moderators(dc)
    await alice.says("I want to talk to a real person")
    await alice.sees("Ticket #1 created")
    await mei.opens(1)
    assert labels(await mei.sees("New ticket #1 from alice (discord, en)")) == CLAIM_CLOSE
    await thread.get_a_thread()
    assert buttons(await thread.sees("New ticket #1 from alice (discord, en)")) == CLAIM_CLOSE

    async with desk(config, "dora") as dora:
        dora.types("/open 1")
        await dora.sees("New ticket #1 from alice (discord, en)")
        dora.types("/claim")
        await dora.sees("#1 claimed by dora.")
        await alice.sees("A moderator has picked up your ticket #1.")
        assert labels(await mei.sees("#1 claimed by dora.")) == UNCLAIM_CLOSE
        assert buttons(await thread.sees("#1 claimed by dora.")) == UNCLAIM_CLOSE

        await mei.says("Hello from Telegram")
        await alice.sees("Moderator: Hello from Telegram")
        await thread.sees("Mei: Hello from Telegram")
        await dora.sees("#1 moderator Mei: Hello from Telegram")  # the desk's live feed
        shot = png(5, 5, (3, 2, 1))
        tg.user_sends_photo(mei.user, shot, "a screenshot from Telegram", **mei.where())
        got = await alice.sees("Moderator: a screenshot from Telegram")
        assert [dc.fetch(a["url"]) for a in got["attachments"]] == [shot]

        dora.types("And hello from the desk")
        await dora.sees("Sent to the user of #1.")
        await alice.sees("Moderator: And hello from the desk")
        await mei.sees("dora: And hello from the desk")
        await thread.sees("dora: And hello from the desk")

        await mei.presses("Close")
        closed = await alice.sees("Your ticket #1 was closed by a moderator.")
        assert buttons(closed) == RATING
        assert labels(await mei.sees("#1 closed by Mei.")) == REOPEN
        assert buttons(await thread.sees("#1 closed by Mei.")) == REOPEN
        await dora.sees("** #1 closed")
