"""Calls that end close together, written in one statement: each caller waits for it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


class Gathered(Generic[_T]):
    """Items added within `delay` seconds of the first (0: in the same turn of the event loop)
    are handed to `write` together; `add` returns once that write did, or raises what it
    raised. A statement the store runs anyway may carry them sooner (`write_with`)."""

    def __init__(self, write: Callable[[list[_T]], Awaitable[None]], delay: float = 0.0) -> None:
        """Gather for `write`, waiting `delay` seconds after the first item."""
        self._write = write
        self._delay = delay
        self._items: list[tuple[_T, asyncio.Future[None]]] = []
        self._timer: asyncio.Handle | None = None
        self._writing: set[asyncio.Task[None]] = set()

    async def add(self, item: _T) -> None:
        """Add `item` to the next write and wait for it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._items.append((item, done))
        self._schedule()
        await done

    async def write_with(self, write: Callable[[list[_T]], Awaitable[_R]]) -> _R:
        """Run `write` with the items waiting now (perhaps none), a statement that records
        them with something else, instead of their own write; their callers return with it.
        Should it fail, they wait for their own write as before."""
        batch, self._items = self._items, []
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            result = await write([item for item, _ in batch])
        except BaseException:
            if batch:  # not recorded (or not known to be): written on their own, as before
                self._items = batch + self._items
                self._schedule()
            raise
        for _, done in batch:
            if not done.done():
                done.set_result(None)
        return result

    def _schedule(self) -> None:
        """The write of the items waiting, `delay` after the first of them."""
        if self._timer is not None or not self._items:
            return
        loop = asyncio.get_running_loop()
        if self._delay:
            self._timer = loop.call_later(self._delay, self._flush)
        else:
            self._timer = loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._timer = None
        batch, self._items = self._items, []
        if not batch:
            return
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
