"""Kefu's own getUpdates loop: an update's offset is confirmed only after the sink returned.

python-telegram-bot's Updater confirms the offset as soon as it has queued updates, so a crash
loses whatever was queued; this loop asks for the next batch with the offset the tracker allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Awaitable, Callable
from functools import partial

from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut

from adapters.telegram.intake import OffsetTracker

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
Handler = Callable[[Update], Awaitable["asyncio.Future[None] | None"]]


def _lane(update: Update) -> tuple[int, int]:
    """Updates of one chat and one person are handled in order; others alongside."""
    chat, user = update.effective_chat, update.effective_user
    return (chat.id if chat else 0, user.id if user else 0)


def backoff(failures: int) -> float:
    """Seconds to wait after `failures` failures in a row: 0.5, 1, 2, ... up to 30."""
    return float(min(30.0, 0.5 * 2 ** max(failures - 1, 0)))


class Poller:
    """Long-polls getUpdates and hands each update to `handle`, advancing the offset safely."""

    def __init__(self, bot: Bot, handle: Handler, *, timeout: int = 30, idle: float = 0.2) -> None:
        self._bot = bot
        self._handle = handle
        self._timeout = timeout
        self._idle = idle  # pause between short polls while an album is being collected
        self.tracker = OffsetTracker()

    async def run(self) -> None:
        """Poll until cancelled; raises only for an invalid token."""
        failures = 0
        while True:
            updates = await self._poll(failures)
            if updates is None:
                failures += 1
                await asyncio.sleep(backoff(failures))
                continue
            ok, fresh = await self._process(updates)
            failures = 0 if ok else failures + 1
            if not ok:
                await asyncio.sleep(backoff(failures))
            elif not fresh and self.tracker.busy:
                await asyncio.sleep(self._idle)

    async def _poll(self, failures: int) -> tuple[Update, ...] | None:
        # While an album is open its parts stay unconfirmed and come back at once: short-poll.
        timeout = 0 if self.tracker.busy else self._timeout
        try:
            return await self._bot.get_updates(
                offset=self.tracker.offset(), timeout=timeout, allowed_updates=ALLOWED_UPDATES
            )
        except InvalidToken:
            raise
        except TimedOut:
            return ()
        except (NetworkError, TelegramError) as exc:
            log.warning("getUpdates failed (%s); retry #%d", exc.message, failures + 1)
            return None
        except Exception as exc:  # the SDK could not parse an update in the batch
            log.warning(
                "getUpdates returned an update the SDK cannot read (%s)", type(exc).__name__
            )
            return await self._poll_raw()

    async def _poll_raw(self) -> tuple[Update, ...] | None:
        """The batch as raw JSON, parsed one update at a time; unreadable ones are skipped."""
        try:
            with warnings.catch_warnings():
                # PTB warns that Bot.get_updates exists; here the raw JSON is the point.
                warnings.simplefilter("ignore")
                raw = await self._raw_updates()
        except TelegramError as exc:
            log.warning("getUpdates (raw) failed (%s)", exc.message)
            return None
        return self._parse_each(raw)

    async def _raw_updates(self) -> object:
        return await self._bot.do_api_request(
            "getUpdates",
            api_kwargs={
                "offset": self.tracker.offset(),
                "timeout": 0,
                "allowed_updates": list(ALLOWED_UPDATES),
            },
        )

    def _parse_each(self, raw: object) -> tuple[Update, ...]:
        updates: list[Update] = []
        for item in raw if isinstance(raw, list) else []:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            try:
                update = Update.de_json(item, self._bot)
            except Exception:
                update = None
            if update is not None:
                updates.append(update)
            elif isinstance(update_id, int) and self.tracker.claim(update_id):
                log.warning("update %d cannot be read; it is skipped", update_id)
                self.tracker.done(update_id)  # confirm past it: it would fail forever
        return tuple(updates)

    async def _process(self, updates: tuple[Update, ...]) -> tuple[bool, int]:
        """Hand over a batch: one lane per chat and person, lanes side by side.

        Order holds within a lane (a person's messages stay in order); across lanes nobody
        waits behind another person's burst. A lane stops at its first failure.
        """
        lanes: dict[tuple[int, int], list[Update]] = {}
        for update in updates:
            if self.tracker.claim(update.update_id):
                lanes.setdefault(_lane(update), []).append(update)
        fresh = sum(len(lane) for lane in lanes.values())
        if not lanes:
            return True, 0
        results = await asyncio.gather(*(self._run_lane(lane) for lane in lanes.values()))
        return all(results), fresh

    async def _run_lane(self, lane: list[Update]) -> bool:
        for n, update in enumerate(lane):
            uid = update.update_id
            try:
                pending = await self._handle(update)
            except Exception:
                log.exception("update %d not handled; it will be delivered again", uid)
                for rest in lane[n:]:  # the rest of the lane comes back with it, in order
                    self.tracker.failed(rest.update_id)
                return False
            if pending is None:
                self.tracker.done(uid)
            else:
                pending.add_done_callback(partial(self._settle, uid))
        return True

    def _settle(self, update_id: int, future: asyncio.Future[None]) -> None:
        if future.cancelled() or future.exception() is not None:
            self.tracker.failed(update_id)
        else:
            self.tracker.done(update_id)

    async def confirm(self) -> None:
        """Confirm what was handled, so a clean restart does not receive it again."""
        offset = self.tracker.offset()
        if offset is None:
            return
        with contextlib.suppress(Exception):  # an unreadable update must not stop a shutdown
            await self._bot.get_updates(offset=offset, timeout=0, limit=1)
