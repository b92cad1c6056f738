"""Slash commands: their definitions, and a sync that runs only when a definition changed."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import Protocol

import discord
from discord import app_commands

log = logging.getLogger(__name__)

USER_COMMANDS = {
    "help": "Open the help menu / 打开帮助菜单",
    "human": "Talk to a person / 人工客服",
    "status": "Your ticket's status / 查看工单状态",
    "cancel": "Cancel what you are doing / 取消当前操作",
    "forget": "Delete your data / 删除我的数据",
}
MODERATOR_COMMANDS = {
    "claim": "Claim this ticket / 认领工单",
    "reopen": "Reopen this ticket / 重新打开工单",
    "block": "Block this ticket's user / 屏蔽此用户",
}
LANGUAGES = (("中文", "zh-CN"), ("English", "en"))


class CommandHandler(Protocol):
    """Receives every slash command: the adapter's interaction router."""

    async def on_command(self, interaction: discord.Interaction, name: str, args: str) -> None:
        """Handle `/name args`."""
        ...

    async def on_panel(self, interaction: discord.Interaction) -> None:
        """Handle /support-panel."""
        ...


class _Callbacks:
    """Bound methods that discord.py calls for the commands that take arguments."""

    def __init__(self, handler: CommandHandler) -> None:
        self.handler = handler

    @app_commands.choices(language=[app_commands.Choice(name=n, value=v) for n, v in LANGUAGES])
    @app_commands.describe(language="中文 or English")
    async def lang(self, interaction: discord.Interaction, language: str | None = None) -> None:
        """Switch language."""
        await self.handler.on_command(interaction, "lang", language or "")

    @app_commands.describe(reason="Why it is closed / 关闭原因")
    async def close(self, interaction: discord.Interaction, reason: str | None = None) -> None:
        """Close the ticket."""
        await self.handler.on_command(interaction, "close", reason or "")

    @app_commands.describe(name="Snippet name / 快捷回复名")
    async def snippet(self, interaction: discord.Interaction, name: str) -> None:
        """Send a saved answer."""
        await self.handler.on_command(interaction, "snippet", name)

    @app_commands.describe(text="Visible to moderators only / 仅客服可见")
    async def note(self, interaction: discord.Interaction, text: str) -> None:
        """An internal note."""
        await self.handler.on_command(interaction, "note", text)

    async def panel(self, interaction: discord.Interaction) -> None:
        """Post the support panel."""
        await self.handler.on_panel(interaction)


def _simple(name: str, description: str, handler: CommandHandler) -> app_commands.Command:
    async def callback(interaction: discord.Interaction) -> None:
        """Run the command."""
        await handler.on_command(interaction, name, "")

    return app_commands.Command(name=name, description=description, callback=callback)


def build_tree(
    client: discord.Client, handler: CommandHandler, guild_id: int | None
) -> app_commands.CommandTree:
    """The command tree: user commands everywhere, moderator commands in the configured guild."""
    tree = app_commands.CommandTree(client)
    cb = _Callbacks(handler)
    everywhere = app_commands.AppCommandContext(guild=True, dm_channel=True)
    user_cmds = [_simple(n, d, handler) for n, d in USER_COMMANDS.items()]
    lang = app_commands.Command(name="lang", description="Language / 语言", callback=cb.lang)
    for command in [*user_cmds, lang]:
        command.allowed_contexts = everywhere
        tree.add_command(command)
    mod_cmds = [_simple(n, d, handler) for n, d in MODERATOR_COMMANDS.items()]
    mod_cmds += [
        app_commands.Command(
            name="close", description="Close this ticket / 关闭工单", callback=cb.close
        ),
        app_commands.Command(
            name="snippet", description="Saved answer / 快捷回复", callback=cb.snippet
        ),
        app_commands.Command(
            name="note", description="Internal note / 内部备注", callback=cb.note
        ),
        app_commands.Command(
            name="support-panel",
            description="Post the support panel / 发布客服面板",
            callback=cb.panel,
        ),
    ]
    guild = discord.Object(guild_id) if guild_id else None
    for command in mod_cmds:
        command.guild_only = guild is None
        tree.add_command(command, guild=guild)
    return tree


def tree_payload(
    tree: app_commands.CommandTree,
    application_id: int | None,
    guild_id: int | None,
) -> str:
    """A canonical JSON text of everything a sync would upload."""
    guild = discord.Object(guild_id) if guild_id else None
    payload = {
        "application": application_id,
        "global": [c.to_dict(tree) for c in tree.get_commands()],
        "guild": guild_id,
        "guild_commands": [c.to_dict(tree) for c in tree.get_commands(guild=guild)]
        if guild
        else [],
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False)


def _read_stamp(stamp: Path) -> str:
    try:
        return stamp.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _write_stamp(stamp: Path, digest: str) -> None:
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest + "\n", encoding="utf-8")


async def sync_if_changed(
    tree: app_commands.CommandTree,
    application_id: int | None,
    guild_id: int | None,
    stamp: Path,
) -> bool:
    """Upload the commands when their hash differs from the one stored in `stamp`."""
    digest = hashlib.sha256(tree_payload(tree, application_id, guild_id).encode()).hexdigest()
    if await asyncio.to_thread(_read_stamp, stamp) == digest:
        log.debug("slash commands unchanged; not syncing")
        return False
    await tree.sync()
    if guild_id:
        await tree.sync(guild=discord.Object(guild_id))
    await asyncio.to_thread(_write_stamp, stamp, digest)
    log.info("slash commands synced")
    return True
