"""Live updates: one poller per process asks the store for its change mark (a handful of
integers, see QueryStore.change_mark) and wakes every open server-sent-event stream when it
moves, whichever process or platform made the change."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # a change reaches the browsers within this, plus a page fetch
KEEPALIVE_SECONDS = 15.0  # a comment line now and then keeps proxies from closing the stream


class ChangeWatch:
    """Polls while someone listens; `changed` is replaced by a fresh event at each change."""

    def __init__(self, mark: Callable[[], Awaitable[tuple[int, ...]]]) -> None:
        self._mark = mark
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self.listeners = 0

    async def _poll(self) -> None:
        last = await self._mark()
        while not self._closing.is_set():
            await asyncio.sleep(POLL_SECONDS)
            try:
                mark = await self._mark()
            except Exception:  # the store is busy or gone for a moment: try again
                log.warning("change poll failed", exc_info=True)
                continue
            if mark != last:
                last = mark
                changed, self._changed = self._changed, asyncio.Event()
                changed.set()

    def _ensure(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll())

    async def stream(self) -> AsyncIterator[str]:
        """Server-sent events: "change" at every change, a comment to keep the line open."""
        self._ensure()
        self.listeners += 1
        try:
            yield "retry: 1000\n\n"
            while not self._closing.is_set():
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(KEEPALIVE_SECONDS):
                        await _first(changed.wait(), self._closing.wait())
                if changed.is_set():
                    yield "event: change\ndata: 1\n\n"
                elif not self._closing.is_set():
                    yield ": keepalive\n\n"
        finally:
            self.listeners -= 1

    async def close(self) -> None:
        """End every stream and the poller."""
        self._closing.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def _first(*waits: Awaitable[object]) -> None:
    """Return when the first of the awaitables is done; cancel the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
