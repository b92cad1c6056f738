"""The command menus registered with setMyCommands, in every language Kefu speaks."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import TelegramError

from bot.texts import LANGS, Texts

log = logging.getLogger(__name__)

# (command, catalog key of its description). Bot API: command 1-32 of a-z 0-9 _, description
# 1-256 characters.
USER_COMMANDS = (
    ("start", "cmd_start"),
    ("menu", "cmd_menu"),
    ("human", "cmd_human"),
    ("status", "cmd_status"),
    ("cancel", "cmd_cancel"),
    ("lang", "cmd_lang"),
    ("forget", "cmd_forget"),
    ("close", "cmd_close"),
    ("reopen", "cmd_reopen_mine"),
)
MODERATOR_COMMANDS = (
    ("queue", "cmd_queue"),
    ("open", "cmd_open"),
    ("claim", "cmd_claim"),
    ("unclaim", "cmd_unclaim"),
    ("note", "cmd_note"),
    ("close", "cmd_close_ticket"),
    ("reopen", "cmd_reopen"),
    ("block", "cmd_block"),
    ("unblock", "cmd_unblock"),
    ("snippet", "cmd_snippet"),
    ("snippets", "cmd_snippets"),
    ("move", "cmd_move"),
    ("misses", "cmd_misses"),
    ("teach", "cmd_teach"),
)
DESCRIPTION_MAX = 256
DEFAULT_LANG = "en"  # the menu shown to clients whose language has no menu of its own


def language_code(lang: str) -> str | None:
    """The Bot API language_code of a catalog language (None: the default menu)."""
    return None if lang == DEFAULT_LANG else lang.split("-", maxsplit=1)[0].lower()


async def register_commands(bot: Bot, moderator_chats: Sequence[int], texts: Texts) -> None:
    """setMyCommands for private chats and the moderator groups, in every language."""
    menus: list[tuple[BotCommandScope, tuple[tuple[str, str], ...]]] = [
        (BotCommandScopeAllPrivateChats(), USER_COMMANDS)
    ]
    menus += [(BotCommandScopeChat(chat), MODERATOR_COMMANDS) for chat in moderator_chats]
    for scope, rows in menus:
        for lang in LANGS:
            commands = [BotCommand(name, texts(lang, key)[:DESCRIPTION_MAX]) for name, key in rows]
            code = language_code(lang)
            try:
                await bot.set_my_commands(commands, scope=scope, language_code=code)
            except TelegramError as exc:  # a menu is a convenience: never block startup
                log.warning("setMyCommands (%s, %s) failed: %s", scope.type, code, exc)
