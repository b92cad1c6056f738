"""The command menus registered with setMyCommands, in Chinese and English."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import TelegramError

log = logging.getLogger(__name__)

# (command, English, Chinese). Bot API: command 1-32 of a-z 0-9 _, description 1-256 chars.
USER_COMMANDS = (
    ("start", "Start over: the help menu", "开始：帮助菜单"),
    ("menu", "Help center menu", "帮助中心菜单"),
    ("human", "Talk to a person", "人工客服"),
    ("status", "My ticket's status", "查看我的工单状态"),
    ("cancel", "Cancel what I am doing", "取消当前操作"),
    ("lang", "Language: 中文 / English", "切换语言 / Language"),
    ("forget", "Delete my data", "删除我的数据"),
    ("close", "Close my ticket", "关闭我的工单"),
)
MODERATOR_COMMANDS = (
    ("queue", "The queue of open tickets", "待处理工单队列"),
    ("open", "Show a ticket: /open N", "查看工单：/open 编号"),
    ("claim", "Claim this ticket", "认领此工单"),
    ("unclaim", "Release this ticket", "取消认领"),
    ("note", "Internal note, not sent to the user", "内部备注（不发给用户）"),
    ("close", "Close the ticket: /close [reason]", "关闭工单：/close [原因]"),
    ("reopen", "Reopen the ticket", "重新打开工单"),
    ("block", "Block this user", "屏蔽此用户"),
    ("unblock", "Unblock this user", "解除屏蔽"),
    ("snippet", "Send a saved reply: /snippet NAME", "发送常用回复：/snippet 名称"),
    ("snippets", "List the saved replies", "常用回复列表"),
)
LANGUAGES = ((None, 1), ("zh", 2))  # language_code (None = the default, English) → column


async def register_commands(bot: Bot, moderator_chat_id: int | None) -> None:
    """setMyCommands for private chats and the moderator group, in both languages."""
    menus: list[tuple[BotCommandScope, tuple[tuple[str, str, str], ...]]] = [
        (BotCommandScopeAllPrivateChats(), USER_COMMANDS)
    ]
    if moderator_chat_id is not None:
        menus.append((BotCommandScopeChat(moderator_chat_id), MODERATOR_COMMANDS))
    for scope, rows in menus:
        for language, column in LANGUAGES:
            commands = [BotCommand(row[0], row[column]) for row in rows]
            try:
                await bot.set_my_commands(commands, scope=scope, language_code=language)
            except TelegramError as exc:  # a menu is a convenience: never block startup
                log.warning("setMyCommands (%s, %s) failed: %s", scope.type, language, exc)
