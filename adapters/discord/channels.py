"""The moderator channels' set-up, checked once connected: a text channel the bot sees, where
it may open private threads and write in them with screenshots. Without that every ticket's
page fails while users are told a person will answer, so the log says what to change."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import discord

log = logging.getLogger(__name__)

# What paging in a channel takes (README, "Create the bot"): a private thread per ticket, the
# claiming moderator added to it, the card (an embed), replies and screenshots.
NEEDED = (
    "view_channel",
    "send_messages",
    "create_private_threads",
    "send_messages_in_threads",
    "manage_threads",
    "attach_files",
    "embed_links",
    "read_message_history",
)


def problems(client: discord.Client, channel_id: int) -> list[str]:
    """What keeps Kefu from paging in a channel, in words for the operator (none: all is well)."""
    channel = client.get_channel(channel_id)
    if channel is None:
        return [
            "the bot cannot see it: check [discord] moderator_channel_id, that the bot is in "
            "the server and that it may view the channel"
        ]
    if not isinstance(channel, discord.TextChannel):
        return ["it is not a text channel (Kefu opens a private thread per ticket in one)"]
    me = channel.guild.me
    if me is None:
        return []  # the bot's own member is not cached yet: the pages will tell
    allowed = channel.permissions_for(me)
    missing = [name for name in NEEDED if not getattr(allowed, name)]
    if missing:
        return [f"the bot may not {', '.join(m.replace('_', ' ') for m in missing)} there"]
    return []


def check(client: discord.Client, channels: Iterable[int]) -> None:
    """Log, for each moderator channel, what keeps tickets from reaching it; never raises."""
    for channel_id in channels:
        try:
            found = problems(client, channel_id)
        except Exception as exc:  # advice, not a gate
            log.warning("discord: could not check moderator channel %d: %s", channel_id, exc)
            continue
        for problem in found:
            log.error(
                "discord: moderator channel %d: %s. Tickets cannot reach it until then (they "
                "wait in the queue: kefu desk, kefu web)",
                channel_id,
                problem,
            )
