"""The moderator groups' set-up, checked at start: a forum supergroup with the bot as an
administrator that may manage topics. Without it every ticket's page fails ("the chat is not
a forum") while users are told a person will answer, so the log says what to change."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot, ChatMember, ChatMemberAdministrator
from telegram.error import RetryAfter, TelegramError

log = logging.getLogger(__name__)


async def problems(bot: Bot, group: int) -> list[str]:
    """What keeps Kefu from paging in `group`, in words for the operator (none: all is well)."""
    try:
        chat = await bot.get_chat(group)
        member = await bot.get_chat_member(group, bot.id)
    except RetryAfter:
        return []  # not known now; the pages themselves will tell
    except TelegramError as exc:
        return [
            f"cannot reach it ({exc.message}): add the bot to the group and check "
            "[telegram] moderator_chat_id (a supergroup's id starts with -100)"
        ]
    found = []
    if not chat.is_forum:
        found.append("it is not a forum: turn on Topics in the group's settings")
    if not _manages_topics(member):
        found.append(
            "the bot may not manage topics: make it an administrator with 'Manage topics'"
        )
    return found


def _manages_topics(member: ChatMember) -> bool:
    return isinstance(member, ChatMemberAdministrator) and bool(member.can_manage_topics)


async def check(bot: Bot, groups: Iterable[int]) -> None:
    """Log, for each moderator group, what keeps tickets from reaching it; never raises (the
    bot still serves its users, and the tickets wait in the queue and at the desk)."""
    for group in groups:
        try:
            found = await problems(bot, group)
        except Exception as exc:  # an answer PTB cannot read: the check is advice, not a gate
            log.warning("telegram: could not check moderator group %d: %s", group, exc)
            continue
        for problem in found:
            log.error(
                "telegram: moderator group %d: %s. Tickets cannot reach it until then "
                "(they wait in the queue: kefu desk, kefu web)",
                group,
                problem,
            )
