"""`kefu chat`, `kefu desk` and `kefu run`."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import sys
from typing import TYPE_CHECKING

from bot.app import MissingExtra, open_runtime, platform_adapters, run_platforms
from bot.config import Config
from bot.desk import DeskFeed
from bot.storage.records import OutboxItem
from bot.texts import normalize_lang
from bot.types import CommandReceived

if TYPE_CHECKING:
    from adapters.console import ConsoleAdapter

CHAT_BANNER = (
    "Kefu chat · 客服 — type a message; a number presses a button; /attach PATH sends a file;"
    " /human, /menu, /status, /lang, /cancel, /forget; Ctrl-D quits.\n"
)
DESK_BANNER = (
    "Kefu desk — /queue, /open N, /claim, /unclaim, /close [reason], /reopen, /note TEXT,"
    " /block, /unblock, /snippet NAME, /snippets, /snippet-add NAME TEXT, /dead, /retry ID,"
    " /misses, /teach ID ARTICLE;"
    " plain text replies"
    " to the open ticket; Ctrl-D quits.\n"
)


def _who(name: str) -> str:
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


async def _session(config: Config, adapter: ConsoleAdapter, feed: bool) -> int:
    def mine(item: OutboxItem) -> bool:
        return bool(item.platform != adapter.platform or item.chat_id == adapter.chat.id)

    async with open_runtime(config, [adapter], accept=mine) as rt:
        adapter.set_settle(lambda: rt.outbox.drain(adapter.platform))
        async with asyncio.TaskGroup() as tg:
            background = [tg.create_task(rt.outbox.run())]
            if feed:
                lang = normalize_lang(adapter.user.locale) or config.bot.default_lang
                desk_feed = DeskFeed(
                    rt.store, adapter.show, adapter.user.id, rt.services.texts, lang
                )
                await desk_feed.start()
                background.append(tg.create_task(desk_feed.run()))
                await rt.hub.sink(
                    CommandReceived(
                        adapter.user,
                        adapter.chat,
                        f"{adapter.user.id}-start-{id(adapter)}",
                        "queue",
                    )
                )
                await rt.outbox.drain(adapter.platform)
            await adapter.run(rt.hub.sink)
            await rt.outbox.drain(adapter.platform)
            for task in background:
                task.cancel()
    return 0


async def chat(config: Config, lang: str, name: str) -> int:
    """Talk to the bot as a user in this terminal."""
    from adapters import console

    locale = normalize_lang(lang or os.environ.get("LANG", ""))
    adapter = console.chat_adapter(_who(name), locale, chosen=bool(normalize_lang(lang)))
    if sys.stdin.isatty():
        sys.stdout.write(CHAT_BANNER)
    with contextlib.suppress(KeyboardInterrupt):
        return await _session(config, adapter, feed=False)
    return 0


async def desk(config: Config, name: str, lang: str = "") -> int:
    """Work the queue as a moderator in this terminal."""
    from adapters import console

    locale = normalize_lang(lang or os.environ.get("LANG", ""))
    adapter = console.desk_adapter(_who(name), locale)
    if sys.stdin.isatty():
        sys.stdout.write(DESK_BANNER)
    return await _session(config, adapter, feed=True)


async def run(config: Config) -> int:
    """Serve the enabled platforms."""
    if not (config.telegram.enabled or config.discord.enabled):
        sys.stderr.write(
            "kefu run: no platform is enabled. Add to your config file (see "
            "config.example.toml):\n  [telegram]\n  enabled = true\n  moderator_chat_id = "
            "-100...\nand set KEFU_TELEGRAM_TOKEN; or [discord] enabled = true with "
            "moderator_channel_id and KEFU_DISCORD_TOKEN. To try the bot without a platform: "
            "kefu chat\n"
        )
        return 2
    try:
        adapters = platform_adapters(config)
    except MissingExtra as exc:
        sys.stderr.write(f"kefu run: {exc}\n")
        return 2
    for section, env in (("telegram", config.telegram), ("discord", config.discord)):
        if env.enabled and not config.token(env.token_env):
            sys.stderr.write(f"kefu run: [{section}] is enabled but ${env.token_env} is empty\n")
            return 2
    await run_platforms(config, adapters)
    return 0
