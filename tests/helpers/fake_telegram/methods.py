"""The Bot API methods Kefu calls, acting on the fake's state as Telegram would.

Each `_m_<method>` takes the request's parameters and uploaded files and returns the `result`
of a successful answer, or raises ApiError with Telegram's own error code and description.
Subclasses (benchmarks/_soak_sim.py, tests/reliability/test_crash.py) hook `_store`,
`_apply_edit` and single methods.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable
from typing import Any

from tests.helpers.fake_telegram.state import Chat, Sent
from tests.helpers.fake_telegram.wire import (
    CAPTION_LIMIT,
    DOWNLOAD_LIMIT,
    NOT_MODIFIED,
    TEXT_LIMIT,
    TOPIC_NAME_LIMIT,
    ApiError,
    bad,
    bool_param,
    is_image,
    json_param,
    markup_param,
    text_param,
)


class BotApiMethods:
    """The method handlers of FakeTelegram (its state is made in FakeTelegram.__init__)."""

    bot_id: int
    chats: dict[int, Chat]
    messages: dict[tuple[int, int], Sent]
    sent: list[Sent]
    url_uploads: list[str]
    updates: list[dict[str, Any]]
    confirmed_offset: int
    callbacks: dict[str, dict[str, Any]]
    commands: dict[tuple[str, str], list[dict[str, Any]]]
    webhook: dict[str, Any] | None
    files: dict[str, tuple[str, bytes]]
    polls_waiting: int
    _ids: itertools.count[int]
    _poll_generation: int
    _notify: Callable[[], None]
    _wait: Callable[[float], Any]
    bot_wire: Callable[[], dict[str, Any]]
    add_file: Callable[..., dict[str, Any]]
    _photo_sizes: Callable[[bytes], list[dict[str, Any]]]

    # ---------------------------------------------------------------- helpers

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
        if bool_param(p.get("drop_pending_updates")):
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
        commands = json_param(p.get("commands")) or []
        if not 1 <= len(commands) <= 100:
            raise bad("BOT_COMMANDS_TOO_MUCH")
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", "")):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(c.get("description", "")) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
        scope = json.dumps(json_param(p.get("scope")) or {"type": "default"}, sort_keys=True)
        self.commands[(scope, str(p.get("language_code") or ""))] = commands
        return True

    async def _m_sendMessage(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat(p)
        thread_id = self._thread(chat, p)
        text = text_param(p, "text", TEXT_LIMIT, required=True)
        sent = Sent(chat.id, chat.new_id(), "sendMessage", thread_id, text, p.get("parse_mode"))
        sent.markup = markup_param(p)
        sent.silent = bool_param(p.get("disable_notification"))
        return self._store(sent)

    def _editable(self, p: dict[str, Any]) -> Sent:
        chat = self._chat(p)
        sent = self.messages.get((chat.id, int(p.get("message_id") or 0)))
        if sent is None:
            raise bad("message to edit not found")
        return sent

    def _apply_edit(self, sent: Sent, html: str | None, p: dict[str, Any]) -> dict[str, Any]:
        markup = markup_param(p)
        new_html = sent.html if html is None else html
        parse_mode = sent.parse_mode if html is None else p.get("parse_mode")
        if new_html == sent.html and markup == sent.markup and parse_mode == sent.parse_mode:
            raise bad(NOT_MODIFIED)
        sent.html, sent.parse_mode, sent.markup = new_html, parse_mode, markup
        sent.edits += 1
        return self._wire_message(sent)

    async def _m_editMessageText(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        sent = self._editable(p)
        if sent.photo is not None or sent.document is not None:
            raise bad("there is no text in the message to edit")
        return self._apply_edit(sent, text_param(p, "text", TEXT_LIMIT, required=True), p)

    async def _m_editMessageCaption(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        sent = self._editable(p)
        if sent.photo is None and sent.document is None:
            raise bad("there is no caption in the message to edit")
        return self._apply_edit(sent, text_param(p, "caption", CAPTION_LIMIT, False), p)

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
        caption = text_param(p, "caption", CAPTION_LIMIT, required=False)
        data = self._upload(p.get("photo"), f, "photo")
        if not is_image(data):
            raise bad("IMAGE_PROCESS_FAILED")
        sent = Sent(chat.id, chat.new_id(), "sendPhoto", thread_id, caption, p.get("parse_mode"))
        sent.photo, sent.markup = data, markup_param(p)
        return self._store(sent)

    async def _m_sendDocument(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat(p)
        thread_id = self._thread(chat, p)
        caption = text_param(p, "caption", CAPTION_LIMIT, required=False)
        sent = Sent(
            chat.id, chat.new_id(), "sendDocument", thread_id, caption, p.get("parse_mode")
        )
        sent.document, sent.markup = (
            self._upload(p.get("document"), f, "document"),
            markup_param(p),
        )
        return self._store(sent)

    async def _m_sendMediaGroup(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat(p)
        thread_id = self._thread(chat, p)
        media = json_param(p.get("media")) or []
        if not 2 <= len(media) <= 10:
            raise bad("media group must include 2-10 items")
        group_id = f"1339{next(self._ids):08d}"
        out = []
        for item in media:
            if item.get("type") != "photo":
                raise bad("only photos are supported by this fake in media groups")
            caption = text_param(item, "caption", CAPTION_LIMIT, required=False)
            data = self._upload(item.get("media"), f, "media")
            if not is_image(data):
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

    async def _m_closeForumTopic(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat(p)
        thread = int(p.get("message_thread_id") or 0)
        if thread not in chat.topics:
            raise bad("message thread not found")
        if thread in chat.closed_topics:
            raise bad("TOPIC_NOT_MODIFIED")
        chat.closed_topics.add(thread)
        return True

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

    async def _m_getChat(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat(p)
        if chat.type != "private" and self.bot_id not in chat.members:
            raise bad("chat not found")
        full = chat.wire() | {"accent_color_id": 0, "max_reaction_count": 11}
        gifts = dict.fromkeys(
            ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
             "gifts_from_channels"),
            False,
        )  # fmt: skip
        return full | {"accepted_gift_types": gifts}

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
