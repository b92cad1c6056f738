"""Kefu Reply → Bot API call arguments (HTML text, inline keyboards, photo batches): pure."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode

from bot.types import Button, OutFile, Reply

TEXT_LIMIT = 4096  # Bot API: message text is 1-4096 characters after entities parsing
CAPTION_LIMIT = 1024  # Bot API: a photo caption is 0-1024 characters after entities parsing
CALLBACK_DATA_LIMIT = 64  # Bot API: callback_data is 1-64 bytes
MEDIA_GROUP_MAX = 10  # Bot API: sendMediaGroup takes 2-10 items
TOPIC_NAME_LIMIT = 128  # Bot API: createForumTopic name is 1-128 characters
TITLE_LIMIT = 256  # our own cap, so a heading never eats a whole message
PHOTO_MIMES = frozenset({"image/jpeg", "image/png", "image/webp"})  # what sendPhoto takes
EMPTY_TEXT = "…"  # Telegram refuses empty messages; buttons need a message to sit on
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# Where a long text may be cut, best first: paragraph, line, sentence (CJK and Latin), word.
_BREAKS = (("\n\n", False), ("\n", False), ("。", True), ("！", True), ("？", True),
           (". ", True), (" ", False))  # fmt: skip


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: Telegram measures limits this way (emoji count as 2)."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 units."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return i
    return len(text)


def _cut(text: str, limit: int) -> tuple[int, int]:
    """(end of this chunk, start of the next) for text longer than `limit`."""
    n = _fit(text, limit)
    window = text[:n]
    for sep, keep in _BREAKS:
        i = window.rfind(sep)
        if i > n // 2:
            end = i + len(sep) if keep else i
            return end, i + len(sep)
    return n, n


def split_text(text: str, limit: int = TEXT_LIMIT, first: int | None = None) -> list[str]:
    """Cut plain text into chunks of <= `limit` (`first` for the first) on natural breaks."""
    chunks: list[str] = []
    rest = text
    room = limit if first is None else first
    while utf16_len(rest) > room:
        end, start = _cut(rest, room)
        chunks.append(rest[:end].rstrip())
        rest = rest[start:].lstrip("\n")
        room = limit
    if rest.strip() or not chunks:
        chunks.append(rest)
    return chunks


def escape(text: str) -> str:
    """Escape plain text for parse_mode HTML (every <, > and & becomes an entity)."""
    return html.escape(text, quote=False)


def truncate(text: str, limit: int) -> str:
    """Cut plain text to `limit` UTF-16 units, with an ellipsis when cut."""
    if utf16_len(text) <= limit:
        return text
    return text[: _fit(text, limit - 1)] + "…"


def _title(reply: Reply) -> str:
    return truncate(" ".join(reply.title.split()), TITLE_LIMIT) if reply.title else ""


def html_chunks(reply: Reply, limit: int = TEXT_LIMIT) -> list[str]:
    """The reply's text as HTML messages: the title in bold on top of the first one."""
    title = _title(reply)
    room = limit - (utf16_len(title) + 1 if title else 0)
    chunks = [escape(c) for c in split_text(reply.text.strip("\n"), limit, room)]
    if title:
        head = f"<b>{escape(title)}</b>"
        chunks[0] = f"{head}\n{chunks[0]}" if chunks[0].strip() else head
    if not chunks[0].strip():
        chunks[0] = EMPTY_TEXT
    return chunks


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Button rows → an inline keyboard; raises ValueError for callback_data over 64 bytes."""
    out = []
    for row in rows:
        buttons = []
        for b in row:
            if not 1 <= len(b.data.encode()) <= CALLBACK_DATA_LIMIT:
                raise ValueError(f"callback_data must be 1-64 bytes: {b.data!r}")
            buttons.append(InlineKeyboardButton(b.label, callback_data=b.data))
        if buttons:
            out.append(buttons)
    return InlineKeyboardMarkup(out) if out else None


def message_kwargs(reply: Reply) -> list[dict[str, Any]]:
    """sendMessage arguments for the reply's text: split, buttons on the last message."""
    markup = keyboard(reply.buttons)
    chunks = html_chunks(reply)
    out = []
    for i, chunk in enumerate(chunks):
        kwargs: dict[str, Any] = {
            "text": chunk,
            "parse_mode": ParseMode.HTML,
            "link_preview_options": _NO_PREVIEW,
            "disable_notification": reply.silent,
        }
        if i == len(chunks) - 1 and markup is not None:
            kwargs["reply_markup"] = markup
        out.append(kwargs)
    return out


def single_html(reply: Reply, limit: int) -> str:
    """The reply as exactly one HTML text of at most `limit` (cut when longer)."""
    title = _title(reply)
    room = limit - (utf16_len(title) + 1 if title else 0)
    body = escape(truncate(reply.text.strip("\n"), room))
    if title:
        body = f"<b>{escape(title)}</b>\n{body}" if body.strip() else f"<b>{escape(title)}</b>"
    return body if body.strip() else EMPTY_TEXT


def edit_kwargs(reply: Reply) -> dict[str, Any]:
    """editMessageText arguments: one message, so the text is cut to fit."""
    return {
        "text": single_html(reply, TEXT_LIMIT),
        "parse_mode": ParseMode.HTML,
        "link_preview_options": _NO_PREVIEW,
        "reply_markup": keyboard(reply.buttons),
    }


def edit_caption_kwargs(reply: Reply) -> dict[str, Any]:
    """editMessageCaption arguments, for an edit that targets a photo with a caption."""
    return {
        "caption": single_html(reply, CAPTION_LIMIT),
        "parse_mode": ParseMode.HTML,
        "reply_markup": keyboard(reply.buttons),
    }


def caption_html(reply: Reply) -> str | None:
    """The whole reply as one photo caption, or None when it does not fit in 1,024."""
    chunks = html_chunks(reply, CAPTION_LIMIT)
    if len(chunks) != 1:
        return None
    return chunks[0] if reply.text.strip() or reply.title else ""


def is_photo(file: OutFile) -> bool:
    """Whether a file goes out as a photo (else as a document)."""
    return file.mime.lower() in PHOTO_MIMES


def photo_batches(files: tuple[OutFile, ...]) -> list[tuple[OutFile, ...]]:
    """Photos in groups of at most 10 (a group of one is a plain sendPhoto)."""
    photos = [f for f in files if is_photo(f)]
    return [tuple(photos[i : i + MEDIA_GROUP_MAX]) for i in range(0, len(photos), MEDIA_GROUP_MAX)]


def documents(files: tuple[OutFile, ...]) -> tuple[OutFile, ...]:
    """Files that are not photos: sent one by one with sendDocument."""
    return tuple(f for f in files if not is_photo(f))


def topic_name(title: str) -> str:
    """A forum topic name: one line, 1-128 characters."""
    name = " ".join(title.split())
    return truncate(name, TOPIC_NAME_LIMIT) if name else "Ticket"


@dataclass(frozen=True, slots=True)
class Step:
    """One Bot API call of a reply: text, photo, group (sendMediaGroup) or document."""

    kind: str
    files: tuple[OutFile, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def plan(reply: Reply) -> list[Step]:
    """The calls that deliver a (non-edit) reply: photos, documents, then the text.

    One photo whose text fits in a caption goes out as a single captioned photo with the
    buttons; otherwise files come first and the text (with the buttons) follows, so the
    message with buttons stays editable with editMessageText.
    """
    batches, docs = photo_batches(reply.files), documents(reply.files)
    quiet = {"disable_notification": reply.silent}
    if len(batches) == 1 and len(batches[0]) == 1 and not docs:
        caption = caption_html(reply)
        if caption is not None:
            markup = keyboard(reply.buttons)
            kwargs = {**quiet, "caption": caption, "parse_mode": ParseMode.HTML}
            return [
                Step("photo", batches[0], kwargs | ({"reply_markup": markup} if markup else {}))
            ]
    steps = [Step("group" if len(b) > 1 else "photo", b, quiet) for b in batches]
    steps += [Step("document", (d,), quiet) for d in docs]
    if reply.text.strip() or reply.title or reply.buttons:
        steps += [Step("text", (), kwargs) for kwargs in message_kwargs(reply)]
    return steps
