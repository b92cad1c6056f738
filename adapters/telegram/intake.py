"""Exactly-once intake: the safe getUpdates offset, and albums collected into one event.

Telegram forgets every update below the offset a getUpdates call confirms, so the offset may
only pass an update once the core's sink has returned for it. An album (media group) arrives as
separate updates with no end marker: its parts wait here for a short quiet period, and until
the merged event is handed over none of them is confirmed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum

from adapters.telegram.convert import merge_album
from bot.types import IncomingEvent

log = logging.getLogger(__name__)

ALBUM_MAX = 10  # Telegram: a media group holds at most 10 items


class _State(Enum):
    PENDING = "pending"  # handed over (or waiting in an album), not finished yet
    DONE = "done"  # the sink returned: safe to confirm
    FAILED = "failed"  # the sink raised: must be redelivered, so the offset stays below it


class OffsetTracker:
    """Which update ids are handled, so the confirmed offset never passes an unhandled one."""

    def __init__(self) -> None:
        self._state: dict[int, _State] = {}
        self._floor: int | None = None

    def claim(self, update_id: int) -> bool:
        """True when this update must be processed now (new, or failed before)."""
        if self._floor is not None and update_id < self._floor:
            return False
        if self._state.get(update_id) in (_State.PENDING, _State.DONE):
            return False
        self._state[update_id] = _State.PENDING
        return True

    def done(self, update_id: int) -> None:
        """The sink returned for this update."""
        self._state[update_id] = _State.DONE

    def failed(self, update_id: int) -> None:
        """The sink raised for this update: keep it below the offset until redelivered."""
        self._state[update_id] = _State.FAILED

    @property
    def busy(self) -> bool:
        """Whether some update is still waiting (an album being collected)."""
        return any(s is _State.PENDING for s in self._state.values())

    def offset(self) -> int | None:
        """The offset to confirm: the lowest unfinished id, else one past the highest seen."""
        if self._state:
            open_ids = [u for u, s in self._state.items() if s is not _State.DONE]
            self._floor = min(open_ids) if open_ids else max(self._state) + 1
            self._state = {u: s for u, s in self._state.items() if u >= self._floor}
        return self._floor


@dataclass
class _Album:
    chat: str
    deadline: float
    done: asyncio.Future[None]
    events: list[IncomingEvent] = field(default_factory=list)
    timer: asyncio.Task[None] | None = None


class Albums:
    """Collects the parts of each album and hands the merged event to the sink once."""

    def __init__(self, sink: Callable[[IncomingEvent], Awaitable[None]], delay: float) -> None:
        self._sink = sink
        self._delay = delay
        self._open: dict[str, _Album] = {}
        self._flushing: dict[str, _Album] = {}

    def add(self, key: str, chat: str, event: IncomingEvent) -> asyncio.Future[None]:
        """Add one part; the future resolves once the whole album went to the sink."""
        loop = asyncio.get_running_loop()
        album = self._open.get(key)
        if album is None:
            album = _Album(chat, 0.0, loop.create_future())
            self._open[key] = album
            album.timer = asyncio.create_task(self._expire(key), name=f"album {key}")
        album.events.append(event)
        album.deadline = loop.time() + self._delay
        if len(album.events) >= ALBUM_MAX and album.timer is not None:
            album.timer.cancel()  # complete: no need to wait for more parts
            album.timer = asyncio.create_task(self._flush(key), name=f"album {key}")
        return album.done

    async def _expire(self, key: str) -> None:
        """Flush the album once no part arrived for `delay` seconds (the debounce)."""
        loop = asyncio.get_running_loop()
        while True:
            album = self._open.get(key)
            if album is None:
                return
            left = album.deadline - loop.time()
            if left <= 0:
                break
            await asyncio.sleep(left)
        await self._flush(key)

    async def _flush(self, key: str) -> None:
        album = self._open.pop(key, None)
        if album is None:
            return
        if album.timer is not None and album.timer is not asyncio.current_task():
            album.timer.cancel()
        self._flushing[key] = album
        try:
            await self._sink(merge_album(album.events))
        except Exception as exc:  # handed to whoever waits for the album
            log.exception("album %s not handled; it will be delivered again", key)
            album.done.set_exception(exc)
        else:
            album.done.set_result(None)
        finally:
            self._flushing.pop(key, None)

    async def flush_chat(self, chat: str) -> None:
        """Hand over this chat's albums now, so a later message never overtakes them."""
        for key in [k for k, a in self._open.items() if a.chat == chat]:
            await self._flush(key)
        waiting = [a.done for a in self._flushing.values() if a.chat == chat]
        if waiting:
            await asyncio.wait(waiting)  # never raises: the album's owner reads its outcome

    async def close(self) -> None:
        """Drop what is still collecting: unconfirmed, it will be delivered again."""
        albums = [*self._open.values(), *self._flushing.values()]
        self._open.clear()
        tasks = [a.timer for a in albums if a.timer is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for album in albums:
            if not album.done.done():
                album.done.cancel()
