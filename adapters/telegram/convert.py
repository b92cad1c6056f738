"""Telegram Update → Kefu event: pure functions over python-telegram-bot objects."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from telegram import CallbackQuery, Chat, Message, Update, User

from bot.texts import normalize_lang
from bot.types import (
    Attachment,
    ButtonPressed,
    ChatKind,
    ChatRef,
    CommandReceived,
    IncomingEvent,
    MessageRef,
    TextReceived,
    UserRef,
)

PLATFORM = "telegram"
NOT_IMAGE = "err_not_image"  # Attachment.error for a file that is no image (an i18n key)
NOT_TEXT = "err_not_text"  # for a voice or video message or a sticker: type it, please
# Telegram: a command is "/" + 1-32 letters, digits or underscores, optionally "@botname".
# Hyphens are accepted too: Kefu's desk has /snippet-add (clients just do not highlight it).
_COMMAND = re.compile(r"^/([A-Za-z0-9_-]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$", re.DOTALL)
_OTHER_FILES = ("sticker", "voice", "audio", "video", "video_note", "animation")
NOT_READABLE = "err_not_readable"  # a location, a contact, a poll, a dice: text, please
_NOT_MESSAGES = ("location", "venue", "contact", "poll", "dice", "game", "story")


@dataclass(frozen=True, slots=True)
class Context:
    """What conversion needs to know besides the update: who the bot is and who moderates."""

    bot_id: int
    bot_username: str
    moderator_chats: frozenset[int]  # the forum supergroups of every route
    is_moderator: bool = False  # the sender's rights in that group (adapter-checked)


FOREIGN = "en"


def locale_of(language_code: str | None) -> str:
    """Telegram's IETF language tag → a Kefu locale ("" when Telegram sent none)."""
    if not language_code:
        return ""
    return normalize_lang(language_code) or FOREIGN  # a language Kefu does not speak: English


def user_ref(user: User, is_moderator: bool = False) -> UserRef:
    """A Telegram user as the core sees them."""
    return UserRef(
        platform=PLATFORM,
        id=str(user.id),
        display_name=user.full_name,
        locale=locale_of(user.language_code),
        is_moderator=is_moderator,
    )


def chat_ref(chat: Chat, thread_id: int | None, ctx: Context) -> ChatRef | None:
    """The private chat or the moderator group (with its topic); None for any other chat."""
    if chat.type == Chat.PRIVATE:
        return ChatRef(PLATFORM, str(chat.id), ChatKind.PRIVATE)
    if chat.id in ctx.moderator_chats:
        thread = str(thread_id) if thread_id else ""
        return ChatRef(PLATFORM, str(chat.id), ChatKind.MODERATION, thread)
    return None


def parse_command(text: str, bot_username: str) -> tuple[str, str] | None:
    """("name", "args") for "/Name@bot args"; None for plain text or another bot's command."""
    m = _COMMAND.match(text)
    if not m:
        return None
    if m.group(2) and m.group(2).lower() != bot_username.lower():
        return None
    return m.group(1).lower(), (m.group(3) or "").strip()


def attachments(message: Message) -> tuple[Attachment, ...]:
    """Photos (the largest size) and image documents; other files marked err_not_image, voice,
    audio, video messages and stickers err_not_text, locations, contacts, polls and the like
    err_not_readable."""
    if message.photo:
        best = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        name = f"photo_{best.file_unique_id}.jpg"
        return (Attachment(best.file_id, name, "image/jpeg", best.file_size),)
    doc = message.document
    if doc is not None:
        mime = doc.mime_type or ""
        # Size is passed on, not judged here: the core refuses what exceeds its image limit
        # (8 MB by default) before anything is downloaded.
        error = "" if mime.startswith("image/") else NOT_IMAGE
        return (Attachment(doc.file_id, doc.file_name or "file", mime, doc.file_size, "", error),)
    for kind in _OTHER_FILES:
        media = getattr(message, kind)
        if media is not None:
            name = getattr(media, "file_name", None) or kind
            mime = getattr(media, "mime_type", None) or ""
            return (Attachment(media.file_id, name, mime, media.file_size, "", NOT_TEXT),)
    for kind in _NOT_MESSAGES:  # nothing to fetch: answered, instead of ignored in silence
        if getattr(message, kind, None) is not None:
            return (Attachment("", kind, "", None, "", NOT_READABLE),)
    return ()


def _sender(message: Message, ctx: Context) -> UserRef | None:
    """Who wrote a message; None for bots (the bot itself included)."""
    sender_chat = message.sender_chat
    if sender_chat is not None and sender_chat.id == message.chat.id:
        # An anonymous administrator posting as the group: only administrators can.
        name = message.author_signature or sender_chat.title or "admin"
        return UserRef(PLATFORM, str(sender_chat.id), name, "", is_moderator=True)
    user = message.from_user
    if user is None or user.is_bot or user.id == ctx.bot_id:
        return None
    return user_ref(user, ctx.is_moderator)


def convert_message(message: Message, event_id: str, ctx: Context) -> IncomingEvent | None:
    """A message → TextReceived or CommandReceived; None when Kefu ignores it."""
    user = _sender(message, ctx)
    thread_id = message.message_thread_id if message.is_topic_message else None
    chat = chat_ref(message.chat, thread_id, ctx)
    if user is None or chat is None:
        return None
    text = message.text or message.caption or ""
    files = attachments(message)
    if not text and not files:
        return None  # a service message: topic created, member joined, pinned, ...
    command = parse_command(text, ctx.bot_username) if text.startswith("/") else None
    if command is None and text.startswith("/") and "@" in text.split(maxsplit=1)[0]:
        return None  # addressed to another bot in the group
    if chat.kind is ChatKind.MODERATION and not chat.thread_id and command is None:
        return None  # moderators' own chatter in the General topic
    if command is not None:
        return CommandReceived(user, chat, event_id, command[0], command[1], files)
    return TextReceived(user, chat, event_id, text, files)


def convert_callback(query: CallbackQuery, event_id: str, ctx: Context) -> ButtonPressed | None:
    """A button press → ButtonPressed carrying the (untrusted) callback_data."""
    message = query.message
    if message is None or query.data is None:
        return None  # inline-mode and game buttons are not Kefu's
    thread_id = message.message_thread_id if isinstance(message, Message) else None
    if isinstance(message, Message) and not message.is_topic_message:
        thread_id = None
    chat = chat_ref(message.chat, thread_id, ctx)
    if chat is None or query.from_user.is_bot:
        return None
    if chat.kind is ChatKind.PRIVATE and chat.id != str(query.from_user.id):
        return None  # forged: a private chat's buttons are pressed by its own person only
    is_moderator = ctx.is_moderator and chat.kind is ChatKind.MODERATION
    user = user_ref(query.from_user, is_moderator)
    ref = MessageRef(chat, str(message.message_id))
    return ButtonPressed(user, chat, event_id, query.data, ref)


def convert(update: Update, ctx: Context) -> IncomingEvent | None:
    """Any update → the event Kefu handles, or None when it is none of Kefu's business."""
    event_id = str(update.update_id)
    if update.callback_query is not None:
        return convert_callback(update.callback_query, event_id, ctx)
    if update.message is not None:
        return convert_message(update.message, event_id, ctx)
    if update.edited_message is not None:
        return _edit(convert_message(update.edited_message, event_id, ctx))
    return None


def _edit(event: IncomingEvent | None) -> TextReceived | None:
    """An edited message, a user's or a moderator's in a ticket's topic: its new text (its
    files came with the message); None for a command and for what Kefu ignores anyway."""
    if not isinstance(event, TextReceived) or not event.text:
        return None
    return TextReceived(event.user, event.chat, event.event_id, event.text, (), edited=True)


def album_key(update: Update) -> str | None:
    """The key that groups the updates of one album (media group), or None."""
    message = update.message
    if message is None or not message.media_group_id:
        return None
    return f"{message.chat.id}:{message.media_group_id}"


def merge_album(events: list[IncomingEvent]) -> IncomingEvent:
    """One event for a whole album: the first update's id, the caption, every attachment."""
    ordered = sorted(events, key=lambda e: int(e.event_id))
    first = ordered[0]
    files = tuple(a for e in ordered for a in getattr(e, "attachments", ()))
    if isinstance(first, CommandReceived):
        return dataclasses.replace(first, attachments=files)
    texts = [e.text for e in ordered if isinstance(e, TextReceived) and e.text]
    return TextReceived(first.user, first.chat, first.event_id, texts[0] if texts else "", files)
