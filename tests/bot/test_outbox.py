"""The outbox counts what a crash may have doubled: a send it started whose outcome no process
recorded goes out again at the next start, flagged `maybe_doubled`, and nothing else is flagged.

A "dead process" is an Outbox whose step was cut off mid-send (cancelled, as SIGKILL would stop
it) or the store state it leaves behind; the next process is a new Outbox on the same store
(reopened from its file for SQLite).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.deliveries import reply_to_payload
from bot.outbox import Outbox
from bot.ports import RetryLater
from bot.storage import Store, open_store
from bot.storage.postgres import PostgresStore
from bot.storage.records import OutboxItem, OutboxStatus
from bot.types import Delivered, Outgoing, Reply
from tests.helpers.fakes import Clock, FakeAdapter

USERS = "fake"


class Stores:
    """A store of one kind, which can be closed and opened again (a process restart; on
    PostgreSQL the closed one leaves the deployment, as a killed one does once silent)."""

    def __init__(self, kind: str, tmp_path: Path, url: str = "") -> None:
        self.path = tmp_path / f"kefu-{kind}.sqlite3"
        self.url = url
        self.store: Store

    async def _open(self) -> Store:
        if self.url:
            return await PostgresStore.open(self.url)
        return await open_store(self.path)

    async def open(self) -> Store:
        """The store, as a fresh process would open it."""
        self.store = await self._open()
        return self.store

    async def restart(self) -> Store:
        """The same data in a new store object."""
        await self.store.close()
        self.store = await self._open()
        return self.store


@pytest.fixture(params=["sqlite", "postgres"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    """A fresh store of each kind."""
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else ""
    made = Stores(request.param, tmp_path, url)
    await made.open()
    try:
        yield made
    finally:
        await made.store.close()


class HangingAdapter(FakeAdapter):
    """A platform that takes each send and never answers: its process dies waiting."""

    def __init__(self) -> None:
        super().__init__(USERS)
        self.taken: list[Outgoing] = []
        self.arrived = asyncio.Event()

    async def send(self, out: Outgoing) -> Delivered:
        """Record the send as taken, then wait forever."""
        self.taken.append(out)
        self.arrived.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class NoReports:
    """DeliveryReports that need no tickets: these deliveries are to users' chats."""

    async def card(self, ticket_id: int) -> Reply | None:
        """No ticket, no card."""
        return None

    async def failed(self, item: OutboxItem, reason: str, unreachable: bool) -> None:
        """Nobody to tell."""

    async def late(self, item: OutboxItem) -> None:
        """Nobody to tell."""


def outbox(
    store: Store,
    adapter: FakeAdapter,
    clock: Clock,
    accept: Callable[[OutboxItem], bool] | None = None,
) -> Outbox:
    """An Outbox delivering to `adapter` only."""
    return Outbox(store, {USERS: adapter}, clock, NoReports(), accept=accept)


async def enqueue(store: Store, chat_id: str, text: str) -> int:
    """A reply to a user's chat."""
    payload = reply_to_payload(Reply(text))
    return await store.enqueue(OutboxItem(USERS, chat_id, payload, f"k-{chat_id}-{text}"))


async def stored(store: Store, item_id: int) -> OutboxItem:
    """The item as the store has it."""
    [item] = [i for i in await store.outbox_items() if i.id == item_id]
    return item


async def killed_mid_send(
    store: Store, clock: Clock, accept: Callable[[OutboxItem], bool] | None = None
) -> HangingAdapter:
    """Run one step of an Outbox until its platform has taken a send, then stop it dead."""
    adapter = HangingAdapter()
    step = asyncio.create_task(outbox(store, adapter, clock, accept).step())
    await asyncio.wait_for(adapter.arrived.wait(), 5)
    step.cancel()
    with pytest.raises(asyncio.CancelledError):
        await step
    return adapter


async def test_an_item_a_dead_process_left_in_flight_is_sent_once_and_counted(
    stores: Stores,
) -> None:
    store, clock = stores.store, Clock()
    item_id = await enqueue(store, "1", "hello")
    [due] = await store.due([USERS], clock())
    await store.mark_inflight([due.id], clock())  # the dead process got no further
    store = await stores.restart()
    adapter = FakeAdapter(USERS)
    later = outbox(store, adapter, clock)
    assert await later.step()
    assert not await later.step()
    assert [out.reply.text for out in adapter.sent] == ["hello"]
    assert (later.sent, later.maybe_doubled) == (1, 1)
    item = await stored(store, item_id)
    assert (item.status, item.maybe_doubled, item.inflight_at) == (OutboxStatus.SENT, True, None)


async def test_a_send_cut_off_by_a_kill_is_counted_by_the_next_process(stores: Stores) -> None:
    store, clock = stores.store, Clock()
    item_id = await enqueue(store, "1", "hello")
    other_id = await enqueue(store, "2", "not yet")
    dead = await killed_mid_send(store, clock, accept=lambda i: i.chat_id == "1")
    assert [out.reply.text for out in dead.taken] == ["hello"]
    store = await stores.restart()
    adapter = FakeAdapter(USERS)
    later = outbox(store, adapter, clock)
    assert await later.step()
    assert sorted(out.reply.text for out in adapter.sent) == ["hello", "not yet"]
    assert (later.sent, later.maybe_doubled) == (2, 1)
    assert (await stored(store, item_id)).maybe_doubled
    assert not (await stored(store, other_id)).maybe_doubled  # never accepted, never marked


async def test_a_terminal_session_marks_only_what_it_accepts(stores: Stores) -> None:
    store, clock = stores.store, Clock()
    mine = await enqueue(store, "1", "yours")
    theirs = await enqueue(store, "2", "someone else's")
    await killed_mid_send(store, clock, accept=lambda i: i.chat_id == "1")
    assert (await stored(store, mine)).inflight_at == clock()
    assert (await stored(store, theirs)).inflight_at is None


async def test_a_retry_in_the_same_process_is_not_counted(stores: Stores) -> None:
    store, clock = stores.store, Clock()
    item_id = await enqueue(store, "1", "hello")
    adapter = FakeAdapter(USERS)
    adapter.failures.append(RetryLater("502 bad gateway"))
    box = outbox(store, adapter, clock)
    assert await box.step()
    failed = await stored(store, item_id)
    assert (failed.status, failed.attempts, failed.inflight_at) == (OutboxStatus.PENDING, 1, None)
    clock.now += 600
    assert await box.step()
    assert (box.sent, box.maybe_doubled) == (1, 0)
    item = await stored(store, item_id)
    assert (item.status, item.maybe_doubled) == (OutboxStatus.SENT, False)


async def test_a_send_that_may_have_acted_stays_counted_across_retries(stores: Stores) -> None:
    store, clock = stores.store, Clock()
    item_id = await enqueue(store, "1", "hello")
    adapter = FakeAdapter(USERS)
    adapter.failures.append(RetryLater("timed out", maybe_delivered=True))
    box = outbox(store, adapter, clock)
    assert await box.step()
    clock.now += 600
    assert await box.step()
    assert (box.sent, box.maybe_doubled) == (1, 1)
    assert (await stored(store, item_id)).maybe_doubled


async def test_a_stop_waits_for_the_sent_mark_under_way(stores: Stores) -> None:
    """Stopping the outbox while a send's "sent" mark is being written waits for the mark:
    it was left running past the stop, and the store closed under it (on PostgreSQL a
    PoolClosed "Task exception was never retrieved"), or the item was sent again later."""
    store, clock = stores.store, Clock()
    item_id = await enqueue(store, "1", "hello")
    writing, may_finish = asyncio.Event(), asyncio.Event()
    mark_sent = store.mark_sent

    async def slow_mark(ident: int, at: float, doubled: bool = False) -> None:
        writing.set()
        await may_finish.wait()
        await mark_sent(ident, at, doubled)

    store.mark_sent = slow_mark  # type: ignore[method-assign]
    delivering = asyncio.create_task(outbox(store, FakeAdapter(USERS), clock).run())
    await asyncio.wait_for(writing.wait(), 5)
    delivering.cancel()
    asyncio.get_running_loop().call_soon(may_finish.set)  # the write ends after the cancel
    with pytest.raises(asyncio.CancelledError):
        await delivering
    assert (await stored(store, item_id)).status == OutboxStatus.SENT
