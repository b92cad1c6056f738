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

from bot.texts import LANG_NAMES, LANGS, Texts

log = logging.getLogger(__name__)

# (name, catalog key of its description). Discord: descriptions hold 1-100 characters.
USER_COMMANDS = (
    ("help", "cmd_help"),
    ("human", "cmd_human"),
    ("status", "cmd_status"),
    ("cancel", "cmd_cancel"),
    ("forget", "cmd_forget"),
)
MODERATOR_COMMANDS = (
    ("claim", "cmd_claim"),
    ("reopen", "cmd_reopen"),
    ("block", "cmd_block"),
)
DESCRIPTION_MAX = 100


class CommandHandler(Protocol):
    """Receives every slash command: the adapter's interaction router."""

    async def on_command(self, interaction: discord.Interaction, name: str, args: str) -> None:
        """Handle `/name args`."""
        ...

    async def on_panel(self, interaction: discord.Interaction) -> None:
        """Handle /support-panel."""
        ...


class _Words:
    """Descriptions in every language, cut to Discord's limit."""

    def __init__(self, texts: Texts) -> None:
        self._texts = texts

    def __call__(self, key: str) -> str:
        return self._texts.both(key, sep=" / ")[:DESCRIPTION_MAX]


def _simple(name: str, description: str, handler: CommandHandler) -> app_commands.Command:
    async def callback(interaction: discord.Interaction) -> None:
        """Run the command."""
        await handler.on_command(interaction, name, "")

    return app_commands.Command(name=name, description=description, callback=callback)


def _with_text(
    name: str, arg: str, description: str, hint: str, handler: CommandHandler
) -> app_commands.Command:
    """A command with one text argument (required unless it is a close reason)."""

    async def required(interaction: discord.Interaction, value: str) -> None:
        """Run the command."""
        await handler.on_command(interaction, name, value)

    async def optional(interaction: discord.Interaction, value: str | None = None) -> None:
        """Run the command."""
        await handler.on_command(interaction, name, value or "")

    callback = optional if name == "close" else required
    callback = app_commands.rename(value=arg)(callback)
    callback = app_commands.describe(value=hint)(callback)
    return app_commands.Command(name=name, description=description, callback=callback)


def _lang(description: str, hint: str, handler: CommandHandler) -> app_commands.Command:
    choices = [app_commands.Choice(name=LANG_NAMES[lang], value=lang) for lang in LANGS]

    @app_commands.choices(language=choices)
    @app_commands.describe(language=hint)
    async def lang(interaction: discord.Interaction, language: str | None = None) -> None:
        """Switch language."""
        await handler.on_command(interaction, "lang", language or "")

    return app_commands.Command(name="lang", description=description, callback=lang)


def build_tree(
    client: discord.Client, handler: CommandHandler, guild_id: int | None, texts: Texts
) -> app_commands.CommandTree:
    """The command tree: user commands everywhere, moderator commands in the configured guild."""
    tree = app_commands.CommandTree(client)
    words = _Words(texts)
    everywhere = app_commands.AppCommandContext(guild=True, dm_channel=True)
    user_cmds = [_simple(n, words(key), handler) for n, key in USER_COMMANDS]
    for command in [*user_cmds, _lang(words("cmd_lang"), words("arg_language"), handler)]:
        command.allowed_contexts = everywhere
        tree.add_command(command)

    async def panel(interaction: discord.Interaction) -> None:
        """Post the support panel."""
        await handler.on_panel(interaction)

    mod_cmds = [_simple(n, words(key), handler) for n, key in MODERATOR_COMMANDS]
    mod_cmds += [
        _with_text("close", "reason", words("cmd_close_ticket"), words("arg_reason"), handler),
        _with_text("snippet", "name", words("cmd_snippet"), words("arg_name"), handler),
        _with_text("note", "text", words("cmd_note"), words("arg_text"), handler),
        app_commands.Command(name="support-panel", description=words("cmd_panel"), callback=panel),
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
