"""Wires adapters to the engine: fetches and checks attachments, one error boundary."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from bot.deliveries import to_chat
from bot.engine import Engine
from bot.media import FileStore, MediaError, check_image
from bot.ports import Adapter, Metrics, NoMetrics, RetryLater
from bot.redact import Redactor
from bot.storage.base import FileRecords, OutboxStore, Transactions, TurnStore
from bot.texts import Texts, normalize_lang
from bot.types import (
    Attachment,
    ButtonPressed,
    ChatKind,
    CommandReceived,
    FormSubmitted,
    IncomingEvent,
    Reply,
    TextReceived,
)

log = logging.getLogger(__name__)

EVENT_KINDS = {
    TextReceived: "text",
    ButtonPressed: "button",
    CommandReceived: "command",
    FormSubmitted: "form",
}  # the `kind` label of kefu_events_received_total: bounded
FETCH_TRIES = 3  # a download that fails passingly is tried this often before the user is asked


class HubStorage(Transactions, TurnStore, FileRecords, OutboxStore, Protocol):
    """The roles the hub uses: stored files, and the apology for an event that failed."""


class Hub:
    """The sink every adapter hands its events to."""

    def __init__(
        self,
        engine: Engine,
        store: HubStorage,
        files: FileStore,
        adapters: Mapping[str, Adapter],
        texts: Texts,
        clock: Callable[[], float],
        wake: Callable[[], None] = lambda: None,
        max_image_bytes: int = 8 * 1024 * 1024,
        redact: Callable[[str], str] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._engine = engine
        self._store = store
        self._files = files
        self._adapters = dict(adapters)
        self._texts = texts
        self._clock = clock
        self._wake = wake
        self._max_bytes = max_image_bytes
        self._redact = redact or Redactor()
        self._metrics = metrics or NoMetrics()

    def add_adapter(self, adapter: Adapter) -> None:
        """Register an adapter whose attachments the hub may fetch."""
        self._adapters[adapter.platform] = adapter

    async def sink(self, event: IncomingEvent) -> None:
        """Handle one event durably; never raises for a bad event (it would be redelivered)."""
        started = time.perf_counter()
        self._metrics.event(event.chat.platform, EVENT_KINDS.get(type(event), "other"))
        try:
            event = await self._resolve(event)
            await self._engine.handle(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The one error boundary: log without message text, apologise, mark it handled.
            log.exception("event %s from %s failed", event.event_id, event.chat.platform)
            await self._apologise(event)
        self._metrics.turn(time.perf_counter() - started)
        self._wake()

    async def _apologise(self, event: IncomingEvent) -> None:
        lang = normalize_lang(event.user.locale)
        text = (
            self._texts.both("internal_error") if not lang else self._texts(lang, "internal_error")
        )
        chat = event.chat
        key = f"{chat.platform}:{event.event_id}:error"
        try:
            async with self._store.transaction():
                await self._store.mark_seen(chat.platform, event.event_id, self._clock())
                await self._store.enqueue(to_chat(chat, Reply(text), key, self._clock()))
        except Exception:
            log.exception("could not record the failure of event %s", event.event_id)

    async def _resolve(self, event: IncomingEvent) -> IncomingEvent:
        with_files = TextReceived | CommandReceived | FormSubmitted
        if not isinstance(event, with_files) or not event.attachments:
            return event
        if event.chat.kind == ChatKind.PRIVATE or event.user.is_moderator:
            owner = event.user.key if event.chat.kind == ChatKind.PRIVATE else ""
            checked = tuple(
                [await self._fetch(event.chat.platform, a, owner) for a in event.attachments]
            )
            return dataclasses.replace(event, attachments=checked)
        return event

    async def _download(self, adapter: Adapter, attachment: Attachment) -> bytes:
        """The bytes, retrying a passing failure (429, 5xx, reset) a few times."""
        for attempt in range(FETCH_TRIES):
            try:
                return await adapter.fetch_attachment(attachment, self._max_bytes)
            except RetryLater as exc:
                if attempt == FETCH_TRIES - 1:
                    raise
                await asyncio.sleep(min(exc.retry_after or 0.5 * 2**attempt, 5.0))
        raise AssertionError("unreachable")

    async def _fetch(self, platform: str, attachment: Attachment, owner: str) -> Attachment:
        if attachment.error or attachment.sha256:
            return attachment
        if attachment.size is not None and attachment.size > self._max_bytes:
            return dataclasses.replace(attachment, error="err_too_large")
        adapter = self._adapters.get(platform)
        if adapter is None:
            return dataclasses.replace(attachment, error="err_image_fetch")
        try:
            data = await self._download(adapter, attachment)
        except ValueError:
            return dataclasses.replace(attachment, error="err_too_large")
        except Exception as exc:
            log.warning(  # no traceback: exception texts may hold secrets
                "could not fetch an attachment from %s: %s: %s",
                platform,
                type(exc).__name__,
                self._redact(str(exc)),
            )
            return dataclasses.replace(attachment, error="err_image_fetch")
        try:
            info = await asyncio.to_thread(check_image, data, self._max_bytes)
        except MediaError as exc:
            return dataclasses.replace(attachment, error=exc.key)
        stored = self._files.save(data, info, self._clock())
        await self._store.add_file(stored, owner)
        return dataclasses.replace(
            attachment, sha256=stored.sha256, mime=info.mime, size=stored.size
        )
