"""The Telegram adapter: users in private chats, moderators in a forum supergroup."""

from __future__ import annotations

from adapters.telegram.adapter import TelegramAdapter
from bot.config import Config
from bot.texts import Texts

__all__ = ["TelegramAdapter", "create"]


def create(config: Config, texts: Texts) -> TelegramAdapter:
    """The adapter for `kefu run` (enter it with `async with`, then `await adapter.run(sink)`)."""
    return TelegramAdapter(config, texts=texts)
