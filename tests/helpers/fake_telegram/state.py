"""What the fake Telegram keeps: people, chats with their topics and members, the bot's
messages, the requests it received."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.helpers.fake_telegram.wire import parse_html


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
    at: float = field(default_factory=time.monotonic)  # when the fake stored it

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
    """A chat the fake knows: a user's private chat or a moderators' forum supergroup."""

    id: int
    type: str
    title: str = ""
    forum: bool = False
    user: FakeUser | None = None
    topics: dict[int, str] = field(default_factory=dict)
    closed_topics: set[int] = field(default_factory=set)
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
