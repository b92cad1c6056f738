"""discord.py objects → Kefu's inbound events; pure functions of what the gateway sent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import discord

from bot.types import (
    Attachment,
    ChatKind,
    ChatRef,
    CommandReceived,
    FormSubmitted,
    IncomingEvent,
    TextReceived,
    UserRef,
)

PLATFORM = "discord"
ALIASES = {"help": "menu", "start": "menu"}  # /help opens the menu, as on Telegram
_LABEL = 18  # Discord component type of a modal Label (wraps one input)
_ROW = 1  # Discord component type of an action row


def is_moderator(user: discord.abc.User, role_id: int | None) -> bool:
    """True when `user` is a guild member holding the configured moderator role."""
    if role_id is None or not isinstance(user, discord.Member):
        return False
    return user.get_role(role_id) is not None


def user_ref(user: discord.abc.User, role_id: int | None, locale: str = "") -> UserRef:
    """The UserRef of a Discord user; moderator rights come from the role, checked each time."""
    return UserRef(
        platform=PLATFORM,
        id=str(user.id),
        display_name=user.display_name,
        locale=locale,
        is_moderator=is_moderator(user, role_id),
    )


def dm_chat(channel_id: int) -> ChatRef:
    """The user's private chat: their DM channel with the bot."""
    return ChatRef(PLATFORM, str(channel_id), ChatKind.PRIVATE)


def mod_chat(channel_id: int, thread_id: int | None = None) -> ChatRef:
    """The moderator channel, or one ticket thread in it."""
    return ChatRef(PLATFORM, str(channel_id), ChatKind.MODERATION, str(thread_id or ""))


def locate(
    channel_id: int, guild_id: int | None, mod_channel_id: int | None, parent_id: int | None
) -> ChatRef | None:
    """Where a message or interaction happened, or None for an unrelated guild channel.

    `parent_id` is the parent channel when the channel is a thread (looked up by the caller).
    """
    if guild_id is None:
        return dm_chat(channel_id)
    if mod_channel_id is None:
        return None
    if channel_id == mod_channel_id:
        return mod_chat(mod_channel_id)
    if parent_id == mod_channel_id:
        return mod_chat(mod_channel_id, channel_id)
    return None


def attachment(item: discord.Attachment, max_bytes: int) -> Attachment:
    """An inbound file: images up to `max_bytes` are accepted, the rest marked with an error."""
    mime = (item.content_type or "").split(";")[0].strip().lower()
    error = ""
    if not mime.startswith("image/"):
        error = "err_not_image"
    elif item.size > max_bytes:
        error = "err_too_large"
    return Attachment(ref=item.url, name=item.filename, mime=mime, size=item.size, error=error)


def attachments(items: Iterable[discord.Attachment], max_bytes: int) -> tuple[Attachment, ...]:
    """Every attachment of a message, in order."""
    return tuple(attachment(a, max_bytes) for a in items)


def parse_command(text: str) -> tuple[str, str] | None:
    """`/name args` → (name, args) with the name lower-cased and aliased, else None."""
    if not text.startswith("/") or len(text) < 2 or text[1].isspace():
        return None
    head, _, args = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name.isascii() or not name.replace("-", "").replace("_", "").isalnum():
        return None
    return ALIASES.get(name, name), args.strip()


def message_event(
    message: discord.Message, chat: ChatRef, role_id: int | None, max_bytes: int
) -> IncomingEvent:
    """A message in a DM or a ticket thread → TextReceived, or CommandReceived for `/name`."""
    user = user_ref(message.author, role_id)
    files = attachments(message.attachments, max_bytes)
    event_id = f"m:{message.id}"
    command = parse_command(message.content)
    if command is not None:
        name, args = command
        return CommandReceived(user, chat, event_id, name, args, files)
    return TextReceived(user, chat, event_id, message.content, files)


def command_event(
    user: UserRef, chat: ChatRef, interaction_id: int, name: str, args: str = ""
) -> CommandReceived:
    """A slash command → CommandReceived (/help is the menu)."""
    return CommandReceived(user, chat, f"i:{interaction_id}", ALIASES.get(name, name), args)


def modal_values(components: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    """(custom_id, value) of every text input in a modal submission, in order."""
    values: list[tuple[str, str]] = []
    for component in components:
        kind = component.get("type")
        if kind == _ROW:
            values.extend(modal_values(component.get("components", [])))
        elif kind == _LABEL and isinstance(component.get("component"), Mapping):
            values.extend(modal_values([component["component"]]))
        elif isinstance(component.get("value"), str) and component.get("custom_id"):
            values.append((str(component["custom_id"]), component["value"]))
    return tuple(values)


def form_event(
    user: UserRef, chat: ChatRef, interaction_id: int, form_id: str, data: Mapping[str, Any]
) -> FormSubmitted:
    """A modal submission → FormSubmitted with the answers in the modal's order."""
    values = modal_values(data.get("components", []))
    return FormSubmitted(user, chat, f"i:{interaction_id}", form_id, values)
