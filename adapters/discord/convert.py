"""discord.py objects → Kefu's inbound events; pure functions of what the gateway sent."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
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

log = logging.getLogger(__name__)

PLATFORM = "discord"
ALIASES = {"help": "menu", "start": "menu"}  # /help opens the menu, as on Telegram
_LABEL = 18  # Discord component type of a modal Label (wraps one input)
_ROW = 1  # Discord component type of an action row
_FILE_UPLOAD = 19  # Discord component type of a modal file upload


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
    channel_id: int, guild_id: int | None, mod_channels: Collection[int], parent_id: int | None
) -> ChatRef | None:
    """Where a message or interaction happened, or None for an unrelated guild channel.

    `mod_channels` are every route's moderator channels; `parent_id` is the parent channel
    when the channel is a thread (looked up by the caller).
    """
    if guild_id is None:
        return dm_chat(channel_id)
    if channel_id in mod_channels:
        return mod_chat(channel_id)
    if parent_id is not None and parent_id in mod_channels:
        return mod_chat(parent_id, channel_id)
    return None


def attachment(item: discord.Attachment, max_bytes: int) -> Attachment:
    """An inbound file: images up to `max_bytes` are accepted, the rest marked with an error."""
    mime = (item.content_type or "").split(";")[0].strip().lower()
    error = ""
    if mime.startswith(("audio/", "video/")):
        error = "err_not_text"  # a voice message or a clip: type it, please
    elif not mime.startswith("image/"):
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


def _not_files(message: discord.Message) -> tuple[Attachment, ...]:
    """A sticker ("type it, please") or a poll ("text and screenshots only"): answered, where
    they arrived as an empty message (answered with nothing in a ticket)."""
    if message.stickers:
        return (Attachment("", "sticker", error="err_not_text"),)
    if message.poll is not None:
        return (Attachment("", "poll", error="err_not_readable"),)
    return ()


def message_event(
    message: discord.Message, chat: ChatRef, role_id: int | None, max_bytes: int
) -> IncomingEvent:
    """A message in a DM or a ticket thread → TextReceived, or CommandReceived for `/name`."""
    user = user_ref(message.author, role_id)
    files = attachments(message.attachments, max_bytes) + _not_files(message)
    event_id = f"m:{message.id}"
    command = parse_command(message.content)
    if command is not None:
        name, args = command
        return CommandReceived(user, chat, event_id, name, args, files)
    return TextReceived(user, chat, event_id, message.content, files)


def edit_event(
    message: discord.Message, chat: ChatRef, role_id: int | None = None
) -> TextReceived | None:
    """A message's new text after an edit (its files came with it), unless it is now a
    command or empty; one event id per edit."""
    if not message.content.strip() or parse_command(message.content) is not None:
        return None
    stamp = int(message.edited_at.timestamp() * 1000) if message.edited_at else 0
    user = user_ref(message.author, role_id)
    return TextReceived(user, chat, f"e:{message.id}:{stamp}", message.content, (), edited=True)


def command_event(
    user: UserRef, chat: ChatRef, interaction_id: int, name: str, args: str = ""
) -> CommandReceived:
    """A slash command → CommandReceived (/help is the menu)."""
    return CommandReceived(user, chat, f"i:{interaction_id}", ALIASES.get(name, name), args)


def _inputs(components: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every input of a modal submission (text inputs and file uploads), in order."""
    found: list[Mapping[str, Any]] = []
    for component in components:
        if not isinstance(component, Mapping):
            continue
        kind = component.get("type")
        if kind == _ROW:
            found.extend(_inputs(component.get("components") or []))
        elif kind == _LABEL and isinstance(component.get("component"), Mapping):
            found.extend(_inputs([component["component"]]))
        elif component.get("custom_id"):
            found.append(component)
    return found


def modal_values(components: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    """(custom_id, value) of every input in a modal submission, in order.

    A file upload is listed with an empty value, so the core knows the question was shown in
    the modal (an optional one left empty is skipped, not asked again); its files come from
    `modal_files`.
    """
    values: list[tuple[str, str]] = []
    for item in _inputs(components):
        if isinstance(item.get("value"), str):
            values.append((str(item["custom_id"]), item["value"]))
        elif item.get("type") == _FILE_UPLOAD:
            values.append((str(item["custom_id"]), ""))
    return tuple(values)


def modal_files(data: Mapping[str, Any], state: Any, max_bytes: int) -> tuple[Attachment, ...]:
    """The files uploaded in a modal's file uploads, in order, checked like message files.

    Discord lists attachment ids in each upload's `values` and the attachments themselves in
    `resolved.attachments`; both are client data, so an id without its attachment is dropped.
    """
    resolved = data.get("resolved")
    known = resolved.get("attachments") if isinstance(resolved, Mapping) else None
    if not isinstance(known, Mapping):
        return ()
    files: list[Attachment] = []
    for item in _inputs(data.get("components") or []):
        ids = item.get("values") if item.get("type") == _FILE_UPLOAD else None
        for file_id in ids if isinstance(ids, list) else []:
            raw = known.get(str(file_id))
            try:
                files.append(attachment(discord.Attachment(data=raw, state=state), max_bytes))
            except (KeyError, TypeError, ValueError):
                log.debug("ignored a malformed modal attachment %r", file_id)
    return tuple(files)


def form_event(
    user: UserRef,
    chat: ChatRef,
    interaction_id: int,
    form_id: str,
    data: Mapping[str, Any],
    files: tuple[Attachment, ...] = (),
) -> FormSubmitted:
    """A modal submission → FormSubmitted with the answers in the modal's order, and the
    files uploaded in it (from `modal_files`)."""
    values = modal_values(data.get("components", []))
    return FormSubmitted(user, chat, f"i:{interaction_id}", form_id, values, files)
