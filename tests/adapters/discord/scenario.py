"""A conversation DSL over the real core, the real discord.py and the fake Discord.

`await alice.says("…")`, `await alice.presses("Talk to a person")`, `await alice.chooses("…")`
(an option of a select menu), `await alice.sees("…")`, `await moderators.sees("…")`,
`await moderators.says(mona, "…")`.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack
from typing import Any

from adapters.discord import DiscordAdapter
from bot.app import Runtime, open_runtime, serve
from bot.config import Config
from knowledge.models import KnowledgeBase
from knowledge.search import SearchIndex
from tests.adapters.discord.conftest import eventually
from tests.helpers.fake_discord import FakeDiscord, buttons, options

Message = dict[str, Any]


def text_of(message: Message) -> str:
    """What a reader sees: content, embeds, button and menu option labels, escapes removed."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds", []):
        parts += [embed.get("title") or "", embed.get("description") or ""]
    parts += buttons(message) + options(message)
    return "\n".join(parts).replace("\\", "")


class Kefu:
    """`kefu run` in-process: the Discord adapter, the store, the engine and the outbox."""

    def __init__(
        self, config: Config, fake: FakeDiscord, kb: KnowledgeBase, index: SearchIndex
    ) -> None:
        self.config, self.fake, self.kb, self.index = config, fake, kb, index
        self.adapter: DiscordAdapter | None = None
        self.runtime: Runtime | None = None
        self._stack: AsyncExitStack | None = None
        self._until: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start like `kefu run`: enter the adapter, open the runtime, serve."""
        stack = AsyncExitStack()
        adapter = DiscordAdapter(self.config, guild_ready_timeout=0.01, settle_after=0.2)
        await stack.enter_async_context(adapter)
        runtime = await stack.enter_async_context(
            open_runtime(self.config, [adapter], kb=self.kb, index=self.index)
        )
        self._until = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(serve(runtime, self._until))
        self.adapter, self.runtime, self._stack = adapter, runtime, stack
        await eventually(lambda: adapter.client.kefu_ready.is_set() or self._task.done())  # type: ignore[union-attr]
        if self._task.done():
            self._task.result()

    async def stop(self) -> None:
        """Stop serving and close everything, as on Ctrl-C."""
        if self._until is not None and not self._until.done():
            self._until.set_result(None)
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._stack is not None:
            await self._stack.aclose()
        await self.fake.disconnect()

    async def restart(self) -> None:
        """Stop and start again on the same data directory."""
        await self.stop()
        await self.start()


class Chat:
    """Messages of one channel, with a cursor at the last action."""

    def __init__(self, fake: FakeDiscord, channel_id: int) -> None:
        self.fake = fake
        self.channel_id = channel_id
        self.cursor = 0

    def bot_messages(self) -> list[Message]:
        """Every message the bot posted here."""
        return [m for m in self.fake.sent(self.channel_id) if m["author"].get("bot")]

    def mark(self) -> None:
        """Only what the bot says after this counts for `sees`."""
        self.cursor = len(self.bot_messages())

    async def sees(self, text: str, within: float = 5.0) -> Message:
        """Wait for a bot message, since the last action, that contains `text`."""

        def found() -> Message | None:
            return next(
                (m for m in self.bot_messages()[self.cursor :] if text in text_of(m)), None
            )

        try:
            return await eventually(found, within)  # type: ignore[no-any-return]
        except AssertionError:
            said = [text_of(m)[:160] for m in self.bot_messages()[self.cursor :]]
            raise AssertionError(f"never saw {text!r}; the bot said {said}") from None

    def with_button(self, label: str) -> Message:
        """The latest bot message that has a button starting with `label`."""
        for message in reversed(self.bot_messages()):
            if any(b.startswith(label) for b in buttons(message)):
                return message
        raise AssertionError(f"no button {label!r} here")

    def with_option(self, label: str) -> Message:
        """The latest bot message with a select menu option starting with `label`."""
        for message in reversed(self.bot_messages()):
            if any(o.startswith(label) for o in options(message)):
                return message
        raise AssertionError(f"no menu option {label!r} here")


class User(Chat):
    """A Discord user talking to the bot in DMs."""

    def __init__(self, fake: FakeDiscord, payload: dict[str, Any]) -> None:
        super().__init__(fake, fake.dm_channel(int(payload["id"])))
        self.payload = payload

    async def says(self, text: str, *files: tuple[str, bytes]) -> Message:
        """Send a DM, with image attachments given as (name, bytes)."""
        self.mark()
        attached = [self.fake.add_file(name, data, "image/png") for name, data in files]
        return await self.fake.user_says(self.payload, text, attached)

    async def presses(self, label: str, message: Message | None = None) -> Any:
        """Press a button of the latest message that has it (or of `message`)."""
        self.mark()
        return await self.fake.press(self.payload, message or self.with_button(label), label)

    async def chooses(self, label: str, message: Message | None = None) -> Any:
        """Choose an option of a select menu in the latest message that offers it."""
        self.mark()
        return await self.fake.choose(self.payload, message or self.with_option(label), label)


class Moderators:
    """The moderator channel: ticket threads, and the moderators working in them."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.thread: Chat | None = None

    async def get_a_thread(self, within: float = 5.0) -> Chat:
        """Wait for a new ticket thread and follow it."""
        known = self.thread.channel_id if self.thread else None
        threads = await eventually(
            lambda: [t for t in self.fake.threads() if int(t["id"]) != known], within
        )
        self.thread = Chat(self.fake, int(threads[-1]["id"]))
        return self.thread

    @property
    def chat(self) -> Chat:
        """The followed thread."""
        assert self.thread is not None, "no ticket thread yet"
        return self.thread

    async def sees(self, text: str) -> Message:
        """Wait for the bot to post `text` in the thread."""
        return await self.chat.sees(text)

    async def says(self, who: dict[str, Any], text: str, *files: tuple[str, bytes]) -> Message:
        """A moderator (or anyone) writes in the thread."""
        self.chat.mark()
        attached = [self.fake.add_file(name, data, "image/png") for name, data in files]
        return await self.fake.member_says(who, self.chat.channel_id, text, attached)

    async def presses(self, who: dict[str, Any], label: str) -> Any:
        """Someone presses a button in the thread."""
        message = self.chat.with_button(label)
        self.chat.mark()
        return await self.fake.press(who, message, label)
