"""Discord adapter: users in DMs and a server, moderators in private ticket threads."""

from __future__ import annotations

from adapters.discord.adapter import DiscordAdapter, DiscordStartError
from bot.config import Config
from bot.texts import Texts

__all__ = ["DiscordAdapter", "DiscordStartError", "create"]


def create(config: Config, texts: Texts) -> DiscordAdapter:
    """The adapter for `kefu run`, built from the [discord] section of the configuration."""
    return DiscordAdapter(config, texts=texts)
