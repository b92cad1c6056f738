"""The test side of the fake Telegram: people, the updates they cause, and what the bot sent.

Tests inject updates (`user_says`, `user_sends_photo`, `presses`, ...) that wait for the bot's
getUpdates (or go to its webhook), and read what each chat or topic received (`inbox`, `texts`,
`photos`, `keyboard`).
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from typing import Any

from tests.helpers.fake_telegram.state import Call, Chat, FakeUser, Sent
from tests.helpers.fake_telegram.wire import png_bytes, utf16_len

ANY = object()  # "any thread" for inbox()/texts()/photos()


class PeopleAndUpdates:
    """People, injected updates and reading, for FakeTelegram (its state is made there)."""

    bot_id: int
    chats: dict[int, Chat]
    sent: list[Sent]
    calls: list[Call]
    updates: list[dict[str, Any]]
    pushed: dict[int, dict[str, Any]]
    callbacks: dict[str, dict[str, Any]]
    files: dict[str, tuple[str, bytes]]
    moderator_chat_id: int
    _ids: itertools.count[int]
    _update_ids: itertools.count[int]
    _notify: Callable[[], None]
    bot_wire: Callable[[], dict[str, Any]]

    # ---------------------------------------------------------------- people

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
        self,
        user_id: int = 2001,
        first_name: str = "Mod",
        *,
        admin: bool = True,
        chat_id: int | None = None,
    ) -> FakeUser:
        """A member of a moderator group (the first one unless `chat_id`), an administrator
        unless admin=False; call again with another group to make them a member there too."""
        user = FakeUser(user_id, first_name, username=f"mod{user_id}", language_code="en")
        group = self.chats[chat_id or self.moderator_chat_id]
        group.members[user_id] = "administrator" if admin else "member"
        group.people[user_id] = user
        return user

    def group(self, chat_id: int, title: str = "") -> int:
        """Another forum supergroup of moderators, the bot one of its administrators."""
        group = Chat(chat_id, "supergroup", title or f"Moderators {chat_id}", forum=True)
        group.members[self.bot_id] = "administrator"
        self.chats[chat_id] = group
        return chat_id

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

    # ---------------------------------------------------------------- updates

    def _push(self, kind: str, obj: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, kind: obj})
        self.pushed[update_id] = self.updates[-1]
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

    def user_edits(self, user: FakeUser, update_id: int, text: str) -> int:
        """The user edits the text of the message an earlier update carried (edited_message,
        with its message id and edit_date); returns the new update's id."""
        msg = {**self.pushed[update_id]["message"], "text": text, "edit_date": int(time.time())}
        assert msg["from"]["id"] == user.id, "only its author edits a message"
        return self._push("edited_message", msg)

    def mod_says(
        self, user: FakeUser, thread_id: int | str | None, text: str, chat_id: int | None = None
    ) -> int:
        """A moderator's text message in a topic (None = the General topic) of a moderator
        group (the first one unless `chat_id`)."""
        tid = int(thread_id) if thread_id is not None else None
        return self.user_says(user, text, chat_id=chat_id or self.moderator_chat_id, thread_id=tid)

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

    # ---------------------------------------------------------------- reading

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
