"""The Bot API's wire rules, without state: limits, error answers, HTML entities, parameters.

Pure functions the method handlers and tests share: `parse_html` reads Telegram's HTML parse
mode the way the real server does (or raises the same 400), `read_params` takes a request's
parameters from the query string, JSON, urlencoded or multipart body.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from typing import Any

from aiohttp import web

TEXT_LIMIT = 4096  # Bot API: sendMessage text is 1-4096 characters after entities parsing
CAPTION_LIMIT = 1024  # Bot API: caption is 0-1024 characters after entities parsing
CALLBACK_DATA_LIMIT = 64  # Bot API: InlineKeyboardButton.callback_data is 1-64 bytes
TOPIC_NAME_LIMIT = 128  # Bot API: createForumTopic name is 1-128 characters
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # Bot API: getFile serves files up to 20 MB
_HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "tg-spoiler", "span", "blockquote", "tg-emoji",
}  # fmt: skip
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the"
    " same as a current content and reply markup of the message"
)
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class ApiError(Exception):
    """A Bot API error answer: error_code, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad(description: str) -> ApiError:
    """A 400 answer."""
    return ApiError(400, f"Bad Request: {description}")


def parse_html(text: str) -> str:
    """Telegram's HTML parse mode: the plain text, or ApiError like the real server."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            m = _TAG.match(text, i)
            if not m or m.group(2).lower() not in _HTML_TAGS:
                raise bad(f"can't parse entities: Unsupported start tag at byte offset {i}")
            name = m.group(2).lower()
            if m.group(1):
                if not stack or stack.pop() != name:
                    raise bad(f'can\'t parse entities: Unexpected end tag "{name}"')
            else:
                stack.append(name)
            i = m.end()
        elif ch == "&":
            m = _ENTITY.match(text, i)
            if not m:
                raise bad(f"can't parse entities: Unsupported entity at byte offset {i}")
            ent = m.group(1)
            if ent in _NAMED:
                out.append(_NAMED[ent])
            else:
                out.append(chr(int(ent[2:], 16) if ent[1] == "x" else int(ent[1:])))
            i = m.end()
        else:
            out.append(ch)
            i += 1
    if stack:
        raise bad(f"can't parse entities: Can't find end tag corresponding to \"{stack[-1]}\"")
    return "".join(out)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram measures text in."""
    return len(text.encode("utf-16-le")) // 2


def png_bytes(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid PNG image of one colour (no Pillow needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    )


def is_image(data: bytes) -> bool:
    """Whether the bytes start like a PNG, JPEG, GIF or WebP (what sendPhoto accepts here)."""
    return data.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")) or data[8:12] == b"WEBP"


def text_param(params: dict[str, Any], key: str, limit: int, required: bool) -> str:
    """A text or caption parameter as sent, checked like Telegram checks it (after parsing)."""
    raw = str(params.get(key) or "")
    plain = parse_html(raw) if params.get("parse_mode") == "HTML" else raw
    if required and not plain.strip():
        raise bad("message text is empty")
    if utf16_len(plain) > limit:
        raise bad("message is too long" if key == "text" else "message caption is too long")
    return raw


def markup_param(params: dict[str, Any]) -> dict[str, Any] | None:
    """reply_markup, with every inline button checked (a label, callback_data of 1-64 bytes)."""
    markup = json_param(params.get("reply_markup"))
    if markup is None:
        return None
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not button.get("text"):
                raise bad("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                raise bad("BUTTON_DATA_INVALID")
    return markup


def answer(exc: ApiError) -> web.Response:
    """The JSON error answer Telegram gives for `exc`."""
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return web.json_response(body, status=exc.code)


def json_param(value: Any) -> Any:
    """A parameter that holds JSON: decoded from a form field, as is from a JSON body."""
    if isinstance(value, str):
        return json.loads(value) if value else None
    return value


def bool_param(value: Any) -> bool:
    """A boolean parameter in any of the forms clients send."""
    return value in (True, "true", "True", "1", 1)


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Parameters as Telegram reads them: query string, JSON, urlencoded or multipart."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, bytes] = {}
    if request.content_type == "application/json":
        params.update(await request.json())
    elif request.content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if part.filename is not None:  # type: ignore[union-attr]
                files[part.name or ""] = await part.read()  # type: ignore[union-attr]
            else:
                params[part.name or ""] = await part.text()  # type: ignore[union-attr]
    elif request.can_read_body:
        params.update(await request.post())
    return params, files
