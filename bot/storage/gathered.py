"""Calls that end close together, written in one statement: each caller waits for it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

_T = TypeVar("_T")


class Gathered(Generic[_T]):
    """Items added within `delay` seconds of the first (0: in the same turn of the event loop)
    are handed to `write` together; `add` returns once that write did, or raises what it
    raised."""

    def __init__(self, write: Callable[[list[_T]], Awaitable[None]], delay: float = 0.0) -> None:
        """Gather for `write`, waiting `delay` seconds after the first item."""
        self._write = write
        self._delay = delay
        self._items: list[tuple[_T, asyncio.Future[None]]] = []
        self._writing: set[asyncio.Task[None]] = set()

    async def add(self, item: _T) -> None:
        """Add `item` to the next write and wait for it."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if not self._items:
            if self._delay:
                loop.call_later(self._delay, self._flush)
            else:
                loop.call_soon(self._flush)
        self._items.append((item, done))
        await done

    def _flush(self) -> None:
        batch, self._items = self._items, []
        task = asyncio.create_task(self._run(batch))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def _run(self, batch: list[tuple[_T, asyncio.Future[None]]]) -> None:
        try:
            await self._write([item for item, _ in batch])
        except BaseException as exc:
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
