"""A fake Telegram Bot API server for tests: the real wire format, on loopback only.

Point python-telegram-bot (or a `kefu run` subprocess) at `fake.base_url` and
`fake.base_file_url`. The server keeps the state Telegram keeps (chats, forum topics, members,
messages, files, pending updates with offset confirmation, a webhook) and validates what
Telegram validates (text 1-4,096 characters after entity parsing, caption <= 1,024,
callback_data 1-64 bytes, HTML entities, unknown chat, missing topic, blocked user).
Tests inject updates (`user_says`, `user_sends_photo`, `presses`, ...) and faults (`fail`),
and read what each chat or topic received (`inbox`, `texts`, `photos`, `keyboard`).
Methods the fake does not implement are recorded in `unknown` and answer 404, and requests
it cannot handle in `errors` (answered 500): a fixture asserts both are empty at teardown.

One module over the ~400-line house limit on purpose: it is a single reusable test double
(the reliability suite drives `kefu run` subprocesses against it) and splitting the state
from the wire handlers would only add indirection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import struct
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

TOKEN = "123:TEST"
MODERATOR_CHAT_ID = -100123
BOT_USERNAME = "kefu_test_bot"
ANY = object()  # "any thread" for inbox()/texts()/photos()

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
_NOT_MODIFIED = (
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


def _is_image(data: bytes) -> bool:
    return data.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")) or data[8:12] == b"WEBP"


@dataclass
class FakeUser:
    """A Telegram user (also the id of their private chat with the bot)."""

    id: int
    first_name: str = "User"
    last_name: str = ""
    username: str = ""
    language_code: str | None = "en"

    def wire(self) -> dict[str, Any]:
        """The User object as the Bot API sends it."""
        d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            d["last_name"] = self.last_name
        if self.username:
            d["username"] = self.username
        if self.language_code:
            d["language_code"] = self.language_code
        return d


@dataclass
class Sent:
    """One message the bot created (or a copy), as the fake stored it."""

    chat_id: int
    message_id: int
    method: str
    thread_id: int | None = None
    html: str = ""  # text or caption as sent
    parse_mode: str | None = None
    markup: dict[str, Any] | None = None
    photo: bytes | None = None
    document: bytes | None = None
    file_name: str = ""
    media_group_id: str | None = None
    silent: bool = False
    edits: int = 0

    @property
    def text(self) -> str:
        """The plain text (or caption) the reader sees."""
        return parse_html(self.html) if self.parse_mode == "HTML" else self.html

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """Every inline button as (label, callback_data), row by row."""
        rows = (self.markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


@dataclass
class Chat:
    """A chat the fake knows: a user's private chat or the moderators' forum supergroup."""

    id: int
    type: str
    title: str = ""
    forum: bool = False
    user: FakeUser | None = None
    topics: dict[int, str] = field(default_factory=dict)
    members: dict[int, str] = field(default_factory=dict)  # user id → status
    people: dict[int, FakeUser] = field(default_factory=dict)
    blocked: bool = False
    next_id: int = 1

    def wire(self) -> dict[str, Any]:
        """The Chat object as the Bot API sends it."""
        if self.user is not None:
            keep = ("id", "first_name", "last_name", "username")
            return {k: v for k, v in self.user.wire().items() if k in keep} | {"type": "private"}
        d: dict[str, Any] = {"id": self.id, "title": self.title, "type": self.type}
        if self.forum:
            d["is_forum"] = True
        return d

    def new_id(self) -> int:
        """The next message id in this chat (users' and the bot's messages share it)."""
        self.next_id += 1
        return self.next_id


@dataclass
class Call:
    """One Bot API request the fake received."""

    method: str
    params: dict[str, Any]
    at: float


ACTS_FIRST = frozenset({"drop_after", "timeout_after"})  # faults that strike after acting
SILENT_FOR = 5.5  # seconds a "timeout" leaves a request unanswered: past PTB's 5 s read timeout


@dataclass
class Fault:
    """An injected failure: "429", "500", "502", "400", "403", "drop" (the connection closes
    before the method acts), "drop_after" (the method acts, then the connection closes),
    "timeout" (no answer until the client gives up; the method does not act) or
    "timeout_after" (the method acts, then no answer until the client gives up)."""

    kind: str
    retry_after: int = 1
    description: str = ""
    after: int = 0  # calls that still succeed before this fault strikes
    chat_id: int | None = None  # strike only calls to this chat


class FakeTelegram:
    """The fake Bot API server; use `async with FakeTelegram() as fake:`."""

    def __init__(
        self,
        token: str = TOKEN,
        moderator_chat_id: int = MODERATOR_CHAT_ID,
        bot_username: str = BOT_USERNAME,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.moderator_chat_id = moderator_chat_id
        self.chats: dict[int, Chat] = {}
        self.messages: dict[tuple[int, int], Sent] = {}
        self.sent: list[Sent] = []
        self.calls: list[Call] = []
        self.unknown: list[str] = []
        self.errors: list[str] = []  # exceptions inside the fake itself (answered 500)
        self.url_uploads: list[str] = []
        self.updates: list[dict[str, Any]] = []
        self.confirmed_offset = 0
        self.callbacks: dict[str, dict[str, Any]] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status)
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id → (file_path, bytes)
        self.faults: dict[str, deque[Fault]] = {}
        self.port = 0
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(700_000_001)
        self._poll_generation = 0
        self._event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._holds: dict[str, asyncio.Event] = {}
        self._hold_acts: dict[str, bool] = {}
        self.held: list[Call] = []  # requests waiting at a hold() gate
        self.polls_waiting = 0  # getUpdates calls currently long-polling
        group = Chat(moderator_chat_id, "supergroup", "Kefu moderators", forum=True)
        group.members[self.bot_id] = "administrator"
        self.chats[moderator_chat_id] = group
        self._handlers: dict[str, Callable[..., Any]] = {
            name.lower(): getattr(self, f"_m_{name}")
            for name in (
                "getMe", "getUpdates", "deleteWebhook", "setWebhook", "getWebhookInfo",
                "setMyCommands", "sendMessage", "editMessageText", "editMessageCaption",
                "editMessageReplyMarkup", "answerCallbackQuery", "sendPhoto", "sendDocument",
                "sendMediaGroup", "copyMessage", "getFile", "createForumTopic",
                "getChatAdministrators", "getChatMember", "deleteMessage", "sendChatAction",
            )
        }  # fmt: skip

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._pusher = asyncio.create_task(self._push_webhook())
        return self

    async def __aexit__(self, *exc: object) -> None:
        tasks = [t for t in (self._pusher, *self._in_flight.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """For ApplicationBuilder.base_url / [telegram] base_url."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For ApplicationBuilder.base_file_url / [telegram] base_file_url."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    def bot_wire(self) -> dict[str, Any]:
        """The bot's own User object."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Kefu",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def _wait(self, seconds: float) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(seconds, 0))

    async def wait_for(self, predicate: Callable[[], Any], within: float = 5.0) -> Any:
        """Wait until `predicate()` is truthy (re-checked on every request); return its value."""
        deadline = time.monotonic() + within
        while True:
            value = predicate()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"condition not met within {within} s")
            await self._wait(min(left, 0.1))

    # ---------------------------------------------------------------- test API: people

    def user(
        self, user_id: int = 1001, first_name: str = "Lin", language_code: str | None = "zh-hans"
    ) -> FakeUser:
        """A user who has started a private chat with the bot."""
        user = FakeUser(
            user_id, first_name, username=f"user{user_id}", language_code=language_code
        )
        if user_id not in self.chats:
            self.chats[user_id] = Chat(user_id, "private", user=user)
        return user

    def moderator(
        self, user_id: int = 2001, first_name: str = "Mod", *, admin: bool = True
    ) -> FakeUser:
        """A member of the moderator group, an administrator unless admin=False."""
        user = FakeUser(user_id, first_name, username=f"mod{user_id}", language_code="en")
        group = self.chats[self.moderator_chat_id]
        group.members[user_id] = "administrator" if admin else "member"
        group.people[user_id] = user
        return user

    def block(self, user: FakeUser, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: sends to them answer 403."""
        self.chats[user.id].blocked = blocked

    def delete_topic(self, thread_id: int | str, chat_id: int | None = None) -> None:
        """A moderator deletes a forum topic: sends to it answer 400 thread not found."""
        self.chats[chat_id or self.moderator_chat_id].topics.pop(int(thread_id), None)

    def create_topic(self, name: str, chat_id: int | None = None) -> int:
        """A topic that exists in the group (as if created by a person)."""
        group = self.chats[chat_id or self.moderator_chat_id]
        thread_id = group.new_id()
        group.topics[thread_id] = name
        return thread_id

    def fail(
        self,
        method: str,
        kind: str = "429",
        times: int = 1,
        retry_after: int = 1,
        description: str = "",
        after: int = 0,
        chat_id: int | None = None,
    ) -> None:
        """The `times` calls of `method` (to `chat_id`, if given) after the next `after` ones
        fail (see Fault for the kinds)."""
        queue = self.faults.setdefault(method.lower(), deque())
        queue.extend(Fault(kind, retry_after, description, 0, chat_id) for _ in range(times))
        if times and after:
            queue[-times].after = after

    def hold(self, method: str) -> None:
        """Requests to `method` from now on wait (unanswered, not acted on) until release()."""
        self._holds[method.lower()] = asyncio.Event()

    def release(self, method: str, *, act: bool = True) -> None:
        """Let held requests go on (act=True), or drop their connections unanswered (False)."""
        gate = self._holds.pop(method.lower(), None)
        self._hold_acts[method.lower()] = act
        if gate is not None:
            gate.set()

    # ---------------------------------------------------------------- test API: updates

    def _push(self, kind: str, obj: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, kind: obj})
        self._notify()
        return update_id

    def _message(
        self, user: FakeUser, chat_id: int | None, thread_id: int | None, **content: Any
    ) -> dict[str, Any]:
        chat = self.chats[chat_id or user.id]
        msg: dict[str, Any] = {
            "message_id": chat.new_id(),
            "from": user.wire(),
            "chat": chat.wire(),
            "date": int(time.time()),
        }
        if thread_id is not None:
            if thread_id not in chat.topics:
                raise AssertionError(f"no topic {thread_id} in chat {chat.id}")
            msg["message_thread_id"] = thread_id
            msg["is_topic_message"] = True
            msg["reply_to_message"] = self._topic_created(chat, thread_id)
        msg.update({k: v for k, v in content.items() if v is not None})
        return msg

    def _topic_created(self, chat: Chat, thread_id: int) -> dict[str, Any]:
        return {
            "message_id": thread_id,
            "from": self.bot_wire(),
            "chat": chat.wire(),
            "date": int(time.time()),
            "message_thread_id": thread_id,
            "forum_topic_created": {"name": chat.topics[thread_id], "icon_color": 7322096},
            "is_topic_message": True,
        }

    def user_says(
        self,
        user: FakeUser,
        text: str,
        *,
        chat_id: int | None = None,
        thread_id: int | None = None,
    ) -> int:
        """A text message (commands get their bot_command entity); returns the update id."""
        entities = None
        m = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if m:
            entities = [{"offset": 0, "length": utf16_len(m.group(0)), "type": "bot_command"}]
        msg = self._message(user, chat_id, thread_id, text=text, entities=entities)
        return self._push("message", msg)

    def mod_says(self, user: FakeUser, thread_id: int | str | None, text: str) -> int:
        """A moderator's text message in a topic (None = the General topic)."""
        tid = int(thread_id) if thread_id is not None else None
        return self.user_says(user, text, chat_id=self.moderator_chat_id, thread_id=tid)

    def add_file(self, data: bytes, kind: str = "photos", ext: str = "jpg") -> dict[str, Any]:
        """Store a file the bot can getFile and download; returns its id fields."""
        n = next(self._ids)
        file_id = f"AgACAgIAAxkBAAI{n:06d}{kind[:3]}"
        self.files[file_id] = (f"{kind}/file_{n}.{ext}", data)
        return {"file_id": file_id, "file_unique_id": f"AQAD{n:06d}", "file_size": len(data)}

    def _photo_sizes(self, data: bytes) -> list[dict[str, Any]]:
        # Telegram sends several sizes, smallest first; only the largest is the original.
        thumb = self.add_file(png_bytes(1, 1, (0, 0, 255)))
        return [
            {**thumb, "width": 90, "height": 67},
            {**self.add_file(data), "width": 1280, "height": 960},
        ]

    def user_sends_photo(
        self,
        user: FakeUser,
        data: bytes,
        caption: str = "",
        *,
        chat_id: int | None = None,
        thread_id: int | None = None,
        media_group_id: str | None = None,
    ) -> int:
        """A photo message (optionally part of an album); returns the update id."""
        msg = self._message(
            user,
            chat_id,
            thread_id,
            photo=self._photo_sizes(data),
            caption=caption or None,
            media_group_id=media_group_id,
        )
        return self._push("message", msg)

    def user_sends_album(
        self, user: FakeUser, images: list[bytes], caption: str = "", **where: Any
    ) -> list[int]:
        """An album: one update per photo, sharing a media_group_id, caption on the first."""
        group_id = f"1339{next(self._ids):08d}"
        return [
            self.user_sends_photo(
                user, data, caption if i == 0 else "", media_group_id=group_id, **where
            )
            for i, data in enumerate(images)
        ]

    def user_sends_document(
        self, user: FakeUser, data: bytes, file_name: str, mime_type: str, caption: str = ""
    ) -> int:
        """A file sent as a document."""
        doc = {**self.add_file(data, "documents", file_name.rsplit(".", 1)[-1])}
        doc.update(file_name=file_name, mime_type=mime_type)
        return self._push(
            "message", self._message(user, None, None, document=doc, caption=caption or None)
        )

    def user_sends_sticker(self, user: FakeUser) -> int:
        """A sticker."""
        sticker = {**self.add_file(b"RIFF0000WEBPVP8 ", "stickers", "webp")}
        sticker.update(width=512, height=512, emoji="👍", type="regular")
        sticker.update(is_animated=False, is_video=False)
        return self._push("message", self._message(user, None, None, sticker=sticker))

    def user_sends_voice(self, user: FakeUser) -> int:
        """A voice note."""
        voice = {**self.add_file(b"OggS\x00voice", "voice", "oga")}
        voice.update(duration=3, mime_type="audio/ogg")
        return self._push("message", self._message(user, None, None, voice=voice))

    def service_message(self, user: FakeUser, thread_id: int) -> int:
        """A service message in a topic (a topic was renamed) that the bot must ignore."""
        edited = {"name": "renamed"}
        msg = self._message(user, self.moderator_chat_id, thread_id, forum_topic_edited=edited)
        return self._push("message", msg)

    def press_data(self, user: FakeUser, message: Sent, data: str) -> str:
        """A press on `message` carrying `data` (possibly forged); returns the query id."""
        query_id = f"{next(self._ids)}{user.id}"
        chat = self.chats[message.chat_id]
        msg: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self.bot_wire(),
            "chat": chat.wire(),
            "date": int(time.time()),
            "text": message.text or "photo",
        }
        if message.thread_id is not None:
            msg.update(message_thread_id=message.thread_id, is_topic_message=True)
        if message.markup:
            msg["reply_markup"] = message.markup
        query = {
            "id": query_id,
            "from": user.wire(),
            "message": msg,
            "chat_instance": str(-abs(chat.id)),
            "data": data,
        }
        self.callbacks[query_id] = {"answered": False, "at": time.monotonic()}
        self._push("callback_query", query)
        return query_id

    def presses(
        self, user: FakeUser, label: str, *, chat_id: int | None = None, thread_id: Any = ANY
    ) -> str:
        """Press the button labelled `label` on the latest bot message that has it."""
        for sent in reversed(self.inbox(chat_id or user.id, thread_id)):
            for text, data in sent.buttons:
                if text == label:
                    return self.press_data(user, sent, data)
        raise AssertionError(f"no button {label!r} in chat {chat_id or user.id}")

    # ---------------------------------------------------------------- test API: reading

    def inbox(self, chat_id: int, thread_id: Any = ANY) -> list[Sent]:
        """Messages the bot created in a chat (or one topic of it), oldest first."""
        tid = thread_id if thread_id is ANY or thread_id is None else int(thread_id)
        return [
            s for s in self.sent if s.chat_id == chat_id and (tid is ANY or s.thread_id == tid)
        ]

    def texts(self, chat_id: int, thread_id: Any = ANY) -> list[str]:
        """The plain texts (and captions) a chat or topic received."""
        return [s.text for s in self.inbox(chat_id, thread_id) if s.text]

    def photos(self, chat_id: int, thread_id: Any = ANY) -> list[bytes]:
        """The bytes of every photo a chat or topic received."""
        return [s.photo for s in self.inbox(chat_id, thread_id) if s.photo is not None]

    def keyboard(self, chat_id: int, thread_id: Any = ANY) -> list[tuple[str, str]]:
        """The buttons of the latest message with buttons in a chat or topic."""
        for sent in reversed(self.inbox(chat_id, thread_id)):
            if sent.buttons:
                return sent.buttons
        return []

    def calls_to(self, method: str) -> list[Call]:
        """Every request to `method` (case-insensitive)."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def topics(self, chat_id: int | None = None) -> dict[int, str]:
        """The live topics of the moderator group: thread id → name."""
        return dict(self.chats[chat_id or self.moderator_chat_id].topics)

    def pending_updates(self) -> list[int]:
        """Ids of updates not yet confirmed by getUpdates offset (or webhook 200)."""
        return [u["update_id"] for u in self.updates]

    # ---------------------------------------------------------------- wire

    async def _api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _answer(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        handler = self._handlers.get(method.lower())
        if handler is None:
            self.unknown.append(method)
            return _answer(ApiError(404, "Not Found"))
        params, files = await _read_params(request)
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        gate = self._holds.get(method.lower())
        if gate is not None:
            self.held.append(call)
            self._notify()
            await gate.wait()
            self.held.remove(call)
            if not self._hold_acts.get(method.lower(), True):
                return self._fault(request, Fault("drop"))
        fault = self._take_fault(method, params)
        if fault and fault.kind not in ACTS_FIRST:
            return await self._strike(request, fault)
        try:
            result: Any = await handler(params, files)
        except ApiError as exc:
            response = _answer(exc)
        except Exception as exc:  # a bug in the fake, or a request it cannot read
            self.errors.append(f"{method}: {exc!r}")
            response = _answer(ApiError(500, "Internal Server Error"))
        else:
            response = web.json_response({"ok": True, "result": result})
        self._notify()
        if fault:
            return await self._strike(request, fault)
        return response

    async def _strike(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """Answer with the fault; a timeout first leaves the client waiting past its limit."""
        if fault.kind.startswith("timeout"):
            await asyncio.sleep(SILENT_FOR)
        return self._fault(request, fault)

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        queue = self.faults.get(method.lower(), deque())
        chat = str(params.get("chat_id", ""))
        fault = next((f for f in queue if f.chat_id is None or str(f.chat_id) == chat), None)
        if fault is None:
            return None
        if fault.after > 0:
            fault.after -= 1
            return None
        queue.remove(fault)
        return fault

    def _fault(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        self._notify()
        if fault.kind.startswith(("drop", "timeout")):
            if request.transport is not None:
                request.transport.close()
            return web.Response()
        if fault.kind == "429":
            desc = f"Too Many Requests: retry after {fault.retry_after}"
            return _answer(ApiError(429, desc, {"retry_after": fault.retry_after}))
        if fault.kind == "502":
            page = "<html><head><title>502 Bad Gateway</title></head></html>"
            return web.Response(status=502, text=page, content_type="text/html")
        code = int(fault.kind)
        default = {400: "Bad Request: injected", 403: "Forbidden: injected"}
        return _answer(
            ApiError(code, fault.description or default.get(code, "Internal Server Error"))
        )

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        for file_path, data in self.files.values():
            if file_path == path:
                return web.Response(body=data, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    # ---------------------------------------------------------------- validation helpers

    def _chat(self, params: dict[str, Any], key: str = "chat_id") -> Chat:
        raw = params.get(key)
        if raw is None or raw == "":
            raise bad(f"{key} is empty")
        chat = self.chats.get(int(raw))
        if chat is None:
            raise bad("chat not found")
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _thread(self, chat: Chat, params: dict[str, Any]) -> int | None:
        raw = params.get("message_thread_id")
        if raw in (None, "", 0, "0"):
            return None
        thread_id = int(raw)
        if not chat.forum or thread_id not in chat.topics:
            raise bad("message thread not found")
        return thread_id

    def _text(self, params: dict[str, Any], key: str, limit: int, required: bool) -> str:
        raw = str(params.get(key) or "")
        plain = parse_html(raw) if params.get("parse_mode") == "HTML" else raw
        if required and not plain.strip():
            raise bad("message text is empty")
        if utf16_len(plain) > limit:
            raise bad("message is too long" if key == "text" else "message caption is too long")
        return raw

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = _json(params.get("reply_markup"))
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

    def _store(self, sent: Sent) -> dict[str, Any]:
        self.messages[(sent.chat_id, sent.message_id)] = sent
        self.sent.append(sent)
        return self._wire_message(sent)

    def _wire_message(self, sent: Sent) -> dict[str, Any]:
        chat = self.chats[sent.chat_id]
        msg: dict[str, Any] = {
            "message_id": sent.message_id,
            "from": self.bot_wire(),
            "chat": chat.wire(),
            "date": int(time.time()),
        }
        if sent.thread_id is not None:
            msg.update(message_thread_id=sent.thread_id, is_topic_message=True)
        text_key = "text" if sent.photo is None and sent.document is None else "caption"
        if sent.html:
            msg[text_key] = sent.text
        if sent.photo is not None:
            msg["photo"] = self._photo_sizes(sent.photo)
        if sent.document is not None:
            doc = self.add_file(sent.document, "documents", "bin")
            msg["document"] = {**doc, "file_name": sent.file_name}
        if sent.media_group_id:
            msg["media_group_id"] = sent.media_group_id
        if sent.markup:
            msg["reply_markup"] = sent.markup
        return msg

    def _upload(self, value: Any, files: dict[str, bytes], name: str) -> bytes:
        if isinstance(value, str) and value.startswith("attach://"):
            data = files.get(value.removeprefix("attach://"))
        elif isinstance(value, str) and value in self.files:
            data = self.files[value][1]
        elif isinstance(value, str) and value:
            self.url_uploads.append(value)
            raise bad("wrong file identifier/HTTP URL specified")
        else:
            data = files.get(name)
        if not data:
            raise bad(f"there is no {name} in the request")
        return data

    # ---------------------------------------------------------------- methods

    async def _m_getMe(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return self.bot_wire()

    async def _m_getUpdates(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        if self.webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset, limit = int(p.get("offset") or 0), int(p.get("limit") or 100)
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            self.confirmed_offset = max(self.confirmed_offset, offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()
        deadline = time.monotonic() + float(p.get("timeout") or 0)
        self.polls_waiting += 1
        try:
            while True:
                batch = [u for u in self.updates if u["update_id"] >= offset][:limit]
                if batch:
                    return batch
                if generation != self._poll_generation:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request")
                if time.monotonic() >= deadline:
                    return []
                await self._wait(deadline - time.monotonic())
        finally:
            self.polls_waiting -= 1

    async def _m_deleteWebhook(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        self.webhook = None
        if _bool(p.get("drop_pending_updates")):
            self.updates.clear()
        return True

    async def _m_setWebhook(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad("secret token contains unallowed characters")
        if not str(p.get("url", "")).startswith(("https://", "http://127.0.0.1")):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {"url": p["url"], "secret_token": secret}
        self.webhook["max_connections"] = int(p.get("max_connections") or 40)
        return True

    async def _m_getWebhookInfo(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        url = self.webhook["url"] if self.webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}

    async def _m_setMyCommands(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        commands = _json(p.get("commands")) or []
        if not 1 <= len(commands) <= 100:
            raise bad("BOT_COMMANDS_TOO_MUCH")
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", "")):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(c.get("description", "")) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
        scope = json.dumps(_json(p.get("scope")) or {"type": "default"}, sort_keys=True)
        self.commands[(scope, str(p.get("language_code") or ""))] = commands
        return True

    async def _m_sendMessage(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat(p)
        thread_id = self._thread(chat, p)
        text = self._text(p, "text", TEXT_LIMIT, required=True)
        sent = Sent(chat.id, chat.new_id(), "sendMessage", thread_id, text, p.get("parse_mode"))
        sent.markup = self._markup(p)
        sent.silent = _bool(p.get("disable_notification"))
        return self._store(sent)

    def _editable(self, p: dict[str, Any]) -> Sent:
        chat = self._chat(p)
        sent = self.messages.get((chat.id, int(p.get("message_id") or 0)))
        if sent is None:
            raise bad("message to edit not found")
        return sent

    def _apply_edit(self, sent: Sent, html: str | None, p: dict[str, Any]) -> dict[str, Any]:
        markup = self._markup(p)
        new_html = sent.html if html is None else html
        parse_mode = sent.parse_mode if html is None else p.get("parse_mode")
        if new_html == sent.html and markup == sent.markup and parse_mode == sent.parse_mode:
            raise bad(_NOT_MODIFIED)
        sent.html, sent.parse_mode, sent.markup = new_html, parse_mode, markup
        sent.edits += 1
        return self._wire_message(sent)

    async def _m_editMessageText(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        sent = self._editable(p)
        if sent.photo is not None or sent.document is not None:
            raise bad("there is no text in the message to edit")
        return self._apply_edit(sent, self._text(p, "text", TEXT_LIMIT, required=True), p)

    async def _m_editMessageCaption(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        sent = self._editable(p)
        if sent.photo is None and sent.document is None:
            raise bad("there is no caption in the message to edit")
        return self._apply_edit(sent, self._text(p, "caption", CAPTION_LIMIT, False), p)

    async def _m_editMessageReplyMarkup(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return self._apply_edit(self._editable(p), None, p)

    async def _m_answerCallbackQuery(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        query = self.callbacks.get(str(p.get("callback_query_id")))
        if query is None or query["answered"]:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        query.update(answered=True, text=p.get("text"), answered_at=time.monotonic())
        return True

    async def _m_sendPhoto(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat(p)
        thread_id = self._thread(chat, p)
        caption = self._text(p, "caption", CAPTION_LIMIT, required=False)
        data = self._upload(p.get("photo"), f, "photo")
        if not _is_image(data):
            raise bad("IMAGE_PROCESS_FAILED")
        sent = Sent(chat.id, chat.new_id(), "sendPhoto", thread_id, caption, p.get("parse_mode"))
        sent.photo, sent.markup = data, self._markup(p)
        return self._store(sent)

    async def _m_sendDocument(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat(p)
        thread_id = self._thread(chat, p)
        caption = self._text(p, "caption", CAPTION_LIMIT, required=False)
        sent = Sent(
            chat.id, chat.new_id(), "sendDocument", thread_id, caption, p.get("parse_mode")
        )
        sent.document, sent.markup = (
            self._upload(p.get("document"), f, "document"),
            self._markup(p),
        )
        return self._store(sent)

    async def _m_sendMediaGroup(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat(p)
        thread_id = self._thread(chat, p)
        media = _json(p.get("media")) or []
        if not 2 <= len(media) <= 10:
            raise bad("media group must include 2-10 items")
        group_id = f"1339{next(self._ids):08d}"
        out = []
        for item in media:
            if item.get("type") != "photo":
                raise bad("only photos are supported by this fake in media groups")
            caption = self._text(item, "caption", CAPTION_LIMIT, required=False)
            data = self._upload(item.get("media"), f, "media")
            if not _is_image(data):
                raise bad("IMAGE_PROCESS_FAILED")
            sent = Sent(chat.id, chat.new_id(), "sendMediaGroup", thread_id, caption)
            sent.parse_mode, sent.photo, sent.media_group_id = (
                item.get("parse_mode"),
                data,
                group_id,
            )
            out.append(sent)
        return [self._store(s) for s in out]

    async def _m_copyMessage(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat(p)
        thread_id = self._thread(chat, p)
        source = self.messages.get((int(p["from_chat_id"]), int(p["message_id"])))
        if source is None:
            raise bad("message to copy not found")
        copy = Sent(chat.id, chat.new_id(), "copyMessage", thread_id, source.html)
        copy.parse_mode, copy.photo, copy.document = (
            source.parse_mode,
            source.photo,
            source.document,
        )
        self._store(copy)
        return {"message_id": copy.message_id}

    async def _m_getFile(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        file_id = str(p.get("file_id"))
        if file_id not in self.files:
            raise bad("invalid file_id")
        path, data = self.files[file_id]
        if len(data) > DOWNLOAD_LIMIT:
            raise bad("file is too big")
        unique = f"AQAD{file_id[-9:]}"
        return {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_size": len(data),
            "file_path": path,
        }

    async def _m_createForumTopic(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat(p)
        if not chat.forum:
            raise bad("the chat is not a forum")
        if chat.members.get(self.bot_id) != "administrator":
            raise bad("not enough rights to create a topic")
        name = str(p.get("name") or "")
        if not 1 <= len(name) <= TOPIC_NAME_LIMIT:
            raise bad("TOPIC_NAME_INVALID")
        thread_id = chat.new_id()
        chat.topics[thread_id] = name
        return {"message_thread_id": thread_id, "name": name, "icon_color": 7322096}

    def _member(self, chat: Chat, user_id: int) -> dict[str, Any]:
        status = chat.members.get(user_id, "left")
        user = self.bot_wire() if user_id == self.bot_id else chat.people[user_id].wire()
        if status != "administrator":
            return {"status": status, "user": user}
        rights = dict.fromkeys(
            ("can_manage_chat", "can_delete_messages", "can_manage_video_chats",
             "can_restrict_members", "can_invite_users", "can_pin_messages",
             "can_manage_topics", "can_post_stories", "can_edit_stories", "can_delete_stories"),
            True,
        )  # fmt: skip
        rights.update(can_promote_members=False, can_change_info=False, can_be_edited=False)
        return {"status": status, "user": user, "is_anonymous": False, **rights}

    async def _m_getChatAdministrators(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat(p)
        if chat.type == "private":
            raise bad("there are no administrators in the private chat")
        admins = [uid for uid, status in chat.members.items() if status == "administrator"]
        return [self._member(chat, uid) for uid in admins]

    async def _m_getChatMember(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat(p)
        user_id = int(p.get("user_id") or 0)
        if user_id not in chat.members:
            raise bad("PARTICIPANT_ID_INVALID")
        return self._member(chat, user_id)

    async def _m_deleteMessage(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat(p)
        if self.messages.pop((chat.id, int(p.get("message_id") or 0)), None) is None:
            raise bad("message to delete not found")
        return True

    async def _m_sendChatAction(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        self._chat(p)
        return True

    # ---------------------------------------------------------------- webhook delivery

    async def _push_webhook(self) -> None:
        """Deliver pending updates to the webhook like Telegram: in parallel, retried."""
        async with ClientSession(timeout=ClientTimeout(total=30)) as session:
            while True:
                hook = self.webhook
                for update in list(self.updates) if hook else []:
                    uid = update["update_id"]
                    if uid in self._in_flight or len(self._in_flight) >= hook["max_connections"]:
                        continue
                    self._in_flight[uid] = asyncio.create_task(
                        self._deliver(session, hook, update)
                    )
                await self._wait(0.2)

    async def _deliver(
        self, session: ClientSession, hook: dict[str, Any], update: dict[str, Any]
    ) -> None:
        headers = {}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        uid = update["update_id"]
        try:
            async with session.post(hook["url"], json=update, headers=headers) as resp:
                status = resp.status
        except (ClientError, TimeoutError):
            status = 0
        self.webhook_deliveries.append((uid, status))
        if status == 200:
            self.updates = [u for u in self.updates if u["update_id"] != uid]
        else:
            await asyncio.sleep(0.3)  # Telegram retries failed deliveries after a while
        self._in_flight.pop(uid, None)
        self._notify()


def _answer(exc: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return web.json_response(body, status=exc.code)


def _json(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value) if value else None
    return value


def _bool(value: Any) -> bool:
    return value in (True, "true", "True", "1", 1)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
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
