"""Platform flood limits, as rules a store-backed gate enforces across every process.

Telegram (Bot API FAQ): about 30 messages a second overall, one a second in a private chat,
20 a minute in a group. Discord: 50 requests a second per bot, 5 messages per 5 seconds in a
channel. Where one process sends (SQLite), python-telegram-bot's AIORateLimiter paces that
process instead and no gate is used.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.storage.records import OutboxItem
from bot.types import ChatKind


@dataclass(frozen=True, slots=True)
class FloodRule:
    """At most `limit` sends under `key` in any `window` seconds."""

    key: str
    limit: int
    window: float


class FloodGate(Protocol):
    """Reserves sends against flood rules for every process that shares it."""

    async def reserve(self, rules: Sequence[FloodRule]) -> float:
        """Reserve one send under all the rules; seconds to wait before sending it."""
        ...


def platform_limits(item: OutboxItem, paced: Collection[str]) -> list[FloodRule]:
    """The rules a delivery falls under (none for a platform not in `paced`)."""
    if item.platform not in paced:
        return []
    chat = f"{item.platform}:chat:{item.chat_id}"
    if item.platform == "telegram":
        if item.chat_kind == ChatKind.PRIVATE:
            per_chat = FloodRule(chat, 1, 1.0)
        else:
            per_chat = FloodRule(chat, 20, 60.0)  # a group, every topic together
        return [FloodRule("telegram:bot", 30, 1.0), per_chat]
    if item.platform == "discord":
        channel = f"{chat}:{item.lane}"  # a ticket's thread is a channel of its own
        return [FloodRule("discord:bot", 50, 1.0), FloodRule(channel, 5, 5.0)]
    return []
