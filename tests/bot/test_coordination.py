"""Leases and flood limits held in PostgreSQL for every process (here: several stores on one
database, each a node of the deployment); the SIGKILL tests in tests/reliability/ do the same
with real `kefu run` processes."""

from __future__ import annotations

import asyncio
import itertools
import time

from bot.deliveries import reply_to_payload
from bot.flood import FloodRule, platform_limits
from bot.leases import while_held
from bot.outbox import Outbox
from bot.storage.postgres import PostgresStore
from bot.storage.postgres.coordination import PostgresFloodGate
from bot.storage.records import OutboxItem
from bot.types import ChatKind, Delivered, Outgoing, Reply
from tests.helpers.fakes import FakeAdapter

GROUP = "-100123"


async def test_a_lease_has_one_holder_until_released_or_expired(pg_url: str) -> None:
    async with await PostgresStore.open(pg_url) as a, await PostgresStore.open(pg_url) as b:
        assert await a.acquire_lease("poller", 10.0)
        assert await a.acquire_lease("poller", 10.0)  # renewed
        assert not await b.acquire_lease("poller", 10.0)
        assert await b.acquire_lease("scheduler", 10.0)  # another role
        await a.release_lease("poller")
        assert await b.acquire_lease("poller", 0.3)
        assert not await a.acquire_lease("poller", 10.0)
        await asyncio.sleep(0.5)  # b did not renew: expired
        assert await a.acquire_lease("poller", 10.0)


class Silenced:
    """A process's leases after its death: every renewal fails (its store is unreachable)."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self.dead = False
        self.refused = 0  # tries that found the lease held by another

    async def acquire_lease(self, name: str, ttl: float) -> bool:
        if self.dead:
            raise ConnectionError("gone")
        held = await self.store.acquire_lease(name, ttl)
        self.refused += not held
        return held

    async def release_lease(self, name: str) -> None:
        if not self.dead:
            await self.store.release_lease(name)


async def test_the_work_moves_to_a_standby_when_its_holder_goes_silent(pg_url: str) -> None:
    async with await PostgresStore.open(pg_url) as a, await PostgresStore.open(pg_url) as b:
        running: list[str] = []

        def work(name: str) -> object:
            async def run() -> None:
                running.append(name)
                try:
                    await asyncio.Event().wait()
                finally:
                    running.remove(name)

            return run

        first, second = Silenced(a), Silenced(b)
        holder = asyncio.create_task(while_held(first, "poller", work("a"), ttl=1.0, every=0.1))  # type: ignore[arg-type]
        started = time.monotonic()
        while running != ["a"]:
            assert time.monotonic() - started < 5, running
            await asyncio.sleep(0.01)
        standby = asyncio.create_task(while_held(second, "poller", work("b"), ttl=1.0, every=0.1))  # type: ignore[arg-type]
        while second.refused < 3:  # the standby asked three times and was refused
            assert time.monotonic() - started < 10, second.refused
            await asyncio.sleep(0.01)
        assert running == ["a"]
        first.dead = True
        started = time.monotonic()
        while running != ["b"]:
            assert time.monotonic() - started < 5, running
            await asyncio.sleep(0.05)
        # the silent holder stopped its work before the lease could pass (0.75 of the TTL)
        for task in (holder, standby):
            task.cancel()
        await asyncio.gather(holder, standby, return_exceptions=True)


async def test_flood_limits_count_every_processs_sends(pg_url: str) -> None:
    async with await PostgresStore.open(pg_url) as a, await PostgresStore.open(pg_url) as b:
        gates = [PostgresFloodGate(a), PostgresFloodGate(b)]
        rule = [FloodRule(f"telegram:chat:{GROUP}", 20, 60.0)]
        waits = await asyncio.gather(*(gates[n % 2].reserve(rule) for n in range(25)))
        assert sum(w < 1.0 for w in waits) == 20
        assert all(w > 55.0 for w in sorted(waits)[20:])  # the next 5 wait for the window


def _group_page(n: int) -> OutboxItem:
    return OutboxItem(
        "telegram",
        GROUP,
        reply_to_payload(Reply(f"page {n}")),
        f"page:{n}",
        thread=str(100 + n),  # one topic each: their lanes do not hold each other up
        chat_kind=ChatKind.MODERATION,
    )


class _TimedAdapter(FakeAdapter):
    """Records when each send reached the platform (in `times`, shared by the processes)."""

    def __init__(self, times: list[float], done: asyncio.Event, expected: int) -> None:
        super().__init__("telegram")
        self.times, self.done, self.expected = times, done, expected

    async def send(self, out: Outgoing) -> Delivered:
        """Record the time, then the send."""
        self.times.append(time.monotonic())
        if len(self.times) >= self.expected:
            self.done.set()
        return await super().send(out)


SLOT = 0.3  # a group's 20 a minute, scaled: 20 per 6 s, one slot every 0.3 s


async def test_two_processes_sending_to_one_group_keep_its_slots(pg_url: str) -> None:
    """Two outboxes (two processes' worth) deliver 10 pages to one group: they leave one slot
    apart (the group's budget spread evenly), whichever process holds them."""
    async with await PostgresStore.open(pg_url) as a, await PostgresStore.open(pg_url) as b:
        for n in range(10):
            await a.enqueue(_group_page(n))
        times: list[float] = []
        done = asyncio.Event()
        adapters = [_TimedAdapter(times, done, 10), _TimedAdapter(times, done, 10)]
        rules = lambda item: platform_limits(item, {"telegram"}, 20, 20 * SLOT)  # noqa: E731
        # Each takes its own half (as two processes would, claiming by turns).
        outboxes = [
            Outbox(
                store,
                {"telegram": fake},
                time.time,
                _NoReports(),
                accept=lambda item, half=half: int(item.key.split(":")[1]) % 2 == half,
                gate=PostgresFloodGate(store),
                rules=rules,
            )
            for half, (store, fake) in enumerate(zip((a, b), adapters, strict=True))
        ]
        tasks = [asyncio.create_task(o.run()) for o in outboxes]
        try:
            await done.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    assert all(f.sent for f in adapters)  # both processes sent some of them
    # The slots are reserved in the database; what separates two sends here is the slot, give
    # or take the two reservations' round trips.
    assert min(b - a for a, b in itertools.pairwise(sorted(times))) > SLOT * 2 / 3


class _NoReports:
    async def card(self, ticket_id: int) -> Reply | None:
        return None

    async def failed(self, item: OutboxItem, reason: str, unreachable: bool) -> None:
        return None

    async def late(self, item: OutboxItem) -> None:
        return None
