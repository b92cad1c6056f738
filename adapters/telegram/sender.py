"""Delivery of one Outgoing: the planned Bot API calls, with progress kept across retries.

A reply may take several calls (an album, then a long text in parts). When call 3 of 4 fails
with a passing error the outbox retries the whole Outgoing; the calls that already succeeded
are remembered by the Outgoing's key and not repeated, so each page goes out exactly once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

from telegram import Bot, InputMediaPhoto
from telegram.error import BadRequest, TelegramError

from adapters.telegram.errors import delivery_error
from adapters.telegram.render import Step, edit_caption_kwargs, edit_kwargs, plan
from bot.ports import Rejected
from bot.types import Delivered, MessageRef, OutFile, Outgoing

log = logging.getLogger(__name__)

PROGRESS_MEMORY = 1000  # Outgoings whose partial progress is remembered


async def read_file(file: OutFile) -> bytes:
    """The bytes of a stored file, read off the event loop."""
    try:
        return await asyncio.to_thread(Path(file.path).read_bytes)
    except OSError as exc:
        raise Rejected(f"cannot read {file.name}: {exc.strerror}") from exc


def target(out: Outgoing) -> dict[str, Any]:
    """chat_id and message_thread_id (a forum topic) of an Outgoing."""
    thread = int(out.to.thread_id) if out.to.thread_id else None
    return {"chat_id": int(out.to.id), "message_thread_id": thread}


class Sender:
    """Sends Outgoing replies through a Bot; maps failures to bot.ports errors."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        self._progress: OrderedDict[str, list[tuple[str, ...]]] = OrderedDict()

    async def send(self, out: Outgoing) -> Delivered:
        """Deliver one reply (or edit); raises a DeliveryError subclass on failure."""
        try:
            if out.reply.edit is not None:
                return await self._edit(out, out.reply.edit)
            steps = plan(out.reply)
        except ValueError as exc:
            raise Rejected(str(exc)) from exc
        key = f"{out.key}|{out.to.id}|{out.to.thread_id}" if out.key else ""
        done = self._progress.pop(key, []) if key else []
        for step in steps[len(done) :]:
            try:
                done.append(await self._run(step, target(out)))
            except TelegramError as exc:
                self._remember(key, done)
                raise delivery_error(exc) from exc
            except Rejected:
                self._remember(key, done)
                raise
        if out.reply.close_thread and out.to.thread_id:
            await self._close_topic(out)
        return Delivered(tuple(i for ids in done for i in ids))

    async def _close_topic(self, out: Outgoing) -> None:
        """closeForumTopic after the note that says where the ticket went (a move): the note
        arrived, so a topic that cannot be closed is logged, not retried."""
        try:
            await self._bot.close_forum_topic(int(out.to.id), int(out.to.thread_id))
        except TelegramError as exc:
            if "not_modified" not in exc.message.lower().replace(" ", "_"):
                log.warning("topic %s could not be closed: %s", out.to.thread_id, exc.message)

    def _remember(self, key: str, done: list[tuple[str, ...]]) -> None:
        if key and done:
            self._progress[key] = done
            while len(self._progress) > PROGRESS_MEMORY:
                self._progress.popitem(last=False)

    async def _run(self, step: Step, where: dict[str, Any]) -> tuple[str, ...]:
        kwargs = {**where, **step.kwargs}
        if step.kind == "text":
            message = await self._bot.send_message(**kwargs)
        elif step.kind == "photo":
            data = await read_file(step.files[0])
            message = await self._bot.send_photo(photo=data, filename=step.files[0].name, **kwargs)
        elif step.kind == "document":
            data = await read_file(step.files[0])
            doc: dict[str, Any] = {"document": data, "filename": step.files[0].name}
            message = await self._bot.send_document(**doc, **kwargs)
        else:
            media = [InputMediaPhoto(await read_file(f), filename=f.name) for f in step.files]
            messages = await self._bot.send_media_group(media=media, **kwargs)
            return tuple(str(m.message_id) for m in messages)
        return (str(message.message_id),)

    async def _edit(self, out: Outgoing, ref: MessageRef) -> Delivered:
        where: dict[str, Any] = {"chat_id": int(ref.chat.id), "message_id": int(ref.id)}
        try:
            await self._bot.edit_message_text(**where, **edit_kwargs(out.reply))
        except BadRequest as exc:
            return await self._edit_fallback(out, exc, where)
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        return Delivered((ref.id,))

    async def _edit_fallback(
        self, out: Outgoing, exc: BadRequest, where: dict[str, Any]
    ) -> Delivered:
        """Edits that Telegram refuses for a reason Kefu can work around."""
        text = exc.message.lower()
        delivered = Delivered((str(where["message_id"]),))
        if "not modified" in text:
            return delivered  # the message already says this
        if "no text in the message" in text:  # the target is a photo with a caption
            try:
                await self._bot.edit_message_caption(**where, **edit_caption_kwargs(out.reply))
            except TelegramError as again:
                if "not modified" not in again.message.lower():
                    raise delivery_error(again) from again
            return delivered
        if "message to edit not found" in text or "can't be edited" in text:
            log.info(
                "message %s cannot be edited any more; sending a new one", where["message_id"]
            )
            fresh = dataclasses.replace(out.reply, edit=None)
            return await self.send(dataclasses.replace(out, reply=fresh))
        raise delivery_error(exc) from exc
