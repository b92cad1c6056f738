"""Durable delivery: every reply, page and relayed message goes out through here.

Items are written in the same transaction as the state change that made them, then a
dispatcher sends them with retries (exponential backoff with jitter, honouring retry_after),
one at a time per destination so order holds, and dead-letters what cannot be delivered.

The platforms have no idempotency key, so a process killed after the platform took a send but
before the store recorded it sends it again after the restart. That copy cannot be avoided, but
it is counted: each batch is marked in flight in the store (one committed write) before its
sends, the outcome clears the mark, and an item found still marked comes back from `due()`
flagged `maybe_doubled`.

Relays are packed: a destination's head waits for its send slot under the flood limits (the
gate), then takes the run of packable items queued behind it by then (a user's text lines to
a ticket's topic, claimed like the head) and sends them as one message that a flow words
(`DeliveryReports.packed`). Each item of the run is recorded like the head: sent, retried in
order at the head's time, or dead-lettered; nothing of a run is lost or reordered.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from bot.deliveries import PACK_ITEMS, pack_run, payload_to_reply
from bot.flood import FloodGate, FloodRule
from bot.ports import (
    Adapter,
    Metrics,
    ModerationSurface,
    NoMetrics,
    Rejected,
    RetryLater,
    ThreadGone,
    Unreachable,
)
from bot.redact import Redactor
from bot.storage.base import OutboxStore, TicketStore
from bot.storage.records import OutboxItem
from bot.types import ChatKind, ChatRef, Delivered, Outgoing, Reply

log = logging.getLogger(__name__)

LATE_AFTER = 3  # failed tries of a page or relay after which the ticket's user is told
MAX_IN_FLIGHT = 100  # deliveries under way at once (each to a different destination)
# Where a claim is a round trip to a shared server (PostgreSQL), a wake waits this long for
# others before it, so that one claim takes the deliveries of several turns: 0.65 claims a
# message became 0.21 (benchmarks/engine.py --store postgresql --processes 2), for at most
# 5 ms more before a send. (On SQLite a claim is a read in the process, and waiting only
# lets the pending rows each claim walks grow: 992 messages/s became 838.)
GATHER_SECONDS = 0.005


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next try: retry_after when given, else 1, 2, 4 … 300 with jitter."""
    if retry_after is not None:
        return max(0.0, retry_after) + random.uniform(0, 0.25)
    base: float = min(300.0, 2.0 ** min(attempts, 9))
    return base / 2 + random.uniform(0, base / 2)


class DeliveryReports(Protocol):
    """What the outbox tells the rest of Kefu about its deliveries; a flow decides who is told
    what (bot.flows.delivery)."""

    async def card(self, ticket_id: int) -> Reply | None:
        """The ticket's card as it stands, for a topic opened (or opened again) now."""
        ...

    async def failed(self, item: OutboxItem, reason: str, unreachable: bool) -> None:
        """A delivery failed for good, or arrived degraded (`unreachable`: the recipient)."""
        ...

    async def late(self, item: OutboxItem) -> None:
        """A delivery has failed LATE_AFTER times and is being retried."""
        ...

    def packed(self, items: Sequence[OutboxItem]) -> Reply:
        """One message that says what each of `items` says, in order (a run of packable
        deliveries, bot.deliveries.pack_run)."""
        ...


class OutboxStorage(OutboxStore, TicketStore, Protocol):
    """The roles the outbox uses: its items, and the tickets' topics."""


class Outbox:
    """Sends due items for the platforms this process hosts."""

    def __init__(
        self,
        store: OutboxStorage,
        adapters: Mapping[str, Adapter],
        clock: Callable[[], float],
        reports: DeliveryReports,
        max_attempts: int = 10,
        poll_seconds: float = 0.25,
        gather_seconds: float = 0.0,
        accept: Callable[[OutboxItem], bool] | None = None,
        redact: Callable[[str], str] | None = None,
        gate: FloodGate | None = None,
        rules: Callable[[OutboxItem], Sequence[FloodRule]] = lambda _item: (),
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._adapters = dict(adapters)
        self._clock = clock
        self._reports = reports
        self._redact = redact or Redactor()
        self._metrics = metrics or NoMetrics()
        self._max_attempts = max_attempts
        self._poll = poll_seconds
        self._gather = gather_seconds
        # A terminal session serves one person: it must leave other people's deliveries alone.
        self._accept = accept or (lambda _item: True)
        self._accept_all = accept is None
        # Flood limits held across processes: each send waits for its slot (bot.flood).
        self._gate, self._rules = gate, rules
        self._wake = asyncio.Event()
        self._recording: set[asyncio.Future[None]] = set()  # sent marks being written
        self._card_owed: set[tuple[int, str]] = set()
        self._running: dict[int, asyncio.Task[None]] = {}  # item id → its delivery under way
        self._full = False  # the last claim took all it had room for
        self.sent = 0
        self.maybe_doubled = 0

    def wake(self) -> None:
        """Something was enqueued: look now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver forever (until cancelled).

        Each destination's head goes out in a task of its own, so a send that hangs until its
        timeout (or waits out a 429) holds up only its own destination: the loop goes on
        starting the others' deliveries as they come due.
        """
        self._store.deliver_here(list(self._adapters) if self._accept_all else [])
        try:
            while True:
                self._wake.clear()
                # Again at once only when the claim was full: else there is nothing due that
                # a wake (the hub's, a NOTIFY, a delivery ending) or the next poll would miss.
                if not await self._launch() or not self._full:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel
                    # that lands as the wake does, and the outbox would never stop.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._poll):
                            await self._wake.wait()
                            if self._gather:  # the wakes of the turns ending meanwhile:
                                await asyncio.sleep(self._gather)  # one claim for them all
        finally:
            self._store.deliver_here([])
            running = list(self._running.values())
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            # the sent marks their cancel left running: written before the store may close
            await asyncio.gather(*self._recording, return_exceptions=True)

    async def step(self) -> bool:
        """Deliver one batch of due items (one per destination) and wait for it; False when
        there were none (tests and terminal sessions step by hand)."""
        tasks = await self._launch()
        await asyncio.gather(*tasks)
        return bool(tasks)

    async def _launch(self) -> list[asyncio.Task[None]]:
        """Start delivering every due item not already under way; the tasks started."""
        room = MAX_IN_FLIGHT - len(self._running)
        if room <= 0:
            return []
        items = await self._claim(room)
        self._full = len(items) >= room
        tasks = []
        for item in items:
            task = asyncio.create_task(self._deliver_one(item))
            self._running[item.id] = task
            task.add_done_callback(functools.partial(self._done, item.id))
            tasks.append(task)
        return tasks

    async def _claim(self, room: int) -> list[OutboxItem]:
        """Due items, marked in flight (committed) before the first send: should this process
        die before an outcome is recorded, the next one finds them marked and counts their
        delivery as maybe doubled. Only the accepted items: a terminal session leaves the
        others alone; and only those claimed: another process may have the rest."""
        platforms, now = list(self._adapters), self._clock()
        if self._accept_all:
            return await self._store.claim(platforms, now, room, self._running)
        due = await self._store.due(platforms, now, room, self._running)
        items = [i for i in due if i.id not in self._running and self._accept(i)][:room]
        if not items:
            return []
        claimed = set(await self._store.mark_inflight([i.id for i in items], now))
        return [i for i in items if i.id in claimed]

    def _done(self, ident: int, task: asyncio.Task[None]) -> None:
        self._running.pop(ident, None)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # _deliver records every platform error; this is the store failing under it. The
            # item stays pending (or in flight) and is tried again.
            log.error(  # no traceback: exception texts may hold secrets
                "delivery %s failed: %s: %s", ident, type(exc).__name__, self._redact(str(exc))
            )
        self.wake()  # the destination's next item may be due now

    async def _deliver_one(self, item: OutboxItem) -> None:
        pack = [item]
        done = await self._deliver(pack)
        if done is None:
            return
        for one in pack:
            self.sent += 1
            self._metrics.delivery(one.platform, "sent")
            self.maybe_doubled += int(one.maybe_doubled)
        if done.note:
            await self._reports.failed(item, done.note, True)

    async def _mark_sent(self, pack: Sequence[OutboxItem]) -> None:
        """Record a send the moment the platform took it: the items packed behind the head
        first, the head last (while the head is pending its lane is held, so no other send
        can take an item of the run meanwhile).

        Shielded from cancellation: a stop (Ctrl-C) right after a send must not leave an item
        pending, or the next start would send it again.
        """
        recording = asyncio.ensure_future(self._record_sent(pack))
        self._recording.add(recording)
        recording.add_done_callback(self._recording.discard)
        await asyncio.shield(recording)

    async def _record_sent(self, pack: Sequence[OutboxItem]) -> None:
        now = self._clock()
        head, *run = pack
        if run:
            await asyncio.gather(*(self._store.mark_sent(i.id, now, i.maybe_doubled) for i in run))
        await self._store.mark_sent(head.id, now, head.maybe_doubled)

    async def drain(self, platform: str, seconds: float = 10.0) -> None:
        """Wait until `platform` has no delivery due now (used by piped terminal sessions)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            due = await self._store.due([platform], self._clock(), limit=100)
            if not any(self._accept(i) for i in due):
                return
            self.wake()
            await asyncio.sleep(0.01)

    async def _target(self, item: OutboxItem, adapter: Adapter) -> ChatRef:
        chat = ChatRef(item.platform, item.chat_id, item.chat_kind, item.thread)
        if not item.to_ticket or item.ticket_id is None:
            return chat
        ticket_id = item.ticket_id
        known = await self._store.thread_of(ticket_id, item.platform)
        if known is None:
            return await self._open_thread(item, ticket_id, adapter, chat)
        target = ChatRef(item.platform, known[0], ChatKind.MODERATION, known[1])
        if (ticket_id, item.platform) in self._card_owed:
            await self._send_card(item, ticket_id, adapter, target)
        return target

    async def _send_card(
        self, item: OutboxItem, ticket_id: int, adapter: Adapter, target: ChatRef
    ) -> None:
        """Post the ticket's card into a new topic; if that fails, it is owed on the retry."""
        owed = (ticket_id, item.platform)
        self._card_owed.add(owed)
        fresh = await self._reports.card(ticket_id)
        if fresh is not None:
            await adapter.send(Outgoing(target, fresh, f"{item.key}:card", ticket_id))
        self._card_owed.discard(owed)

    async def _open_thread(
        self, item: OutboxItem, ticket_id: int, adapter: Adapter, chat: ChatRef
    ) -> ChatRef:
        if not isinstance(adapter, ModerationSurface):
            raise Rejected(f"{item.platform} cannot open ticket threads")
        fresh = await self._reports.card(ticket_id)
        title = (fresh.title if fresh else "") or f"#{ticket_id}"
        thread = await adapter.open_thread(
            ChatRef(chat.platform, chat.id, ChatKind.MODERATION), title
        )
        target = ChatRef(chat.platform, chat.id, ChatKind.MODERATION, thread)
        # Remember the topic first: if the card send below fails, the retry reuses this topic
        # instead of opening a second, empty one.
        await self._store.set_thread(ticket_id, item.platform, chat.id, thread)
        if not item.card:
            # A new topic for a later message (the old one was deleted): the card goes first.
            await self._send_card(item, ticket_id, adapter, target)
        return target

    async def _deliver(self, pack: list[OutboxItem]) -> Delivered | None:
        """Send a lane's head, with the run of packable items behind it joined into its
        message (appended to `pack`), and record the outcome; what the platform said, if it
        took it."""
        item = pack[0]
        adapter = self._adapters[item.platform]
        try:
            await self._pace(item)
            # After the wait for the slot: what the user typed meanwhile goes in this message.
            pack += await self._pack_behind(item)
            target = await self._target(item, adapter)
            reply = self._reports.packed(pack) if len(pack) > 1 else payload_to_reply(item.payload)
            done = await adapter.send(Outgoing(target, reply, item.key, item.ticket_id))
        except Exception as exc:  # an adapter bug must not stop delivery of everything else
            await self._failed(pack, exc)
            return None
        await self._mark_sent(pack)
        return done

    async def _pack_behind(self, head: OutboxItem) -> list[OutboxItem]:
        """The run of packable items queued behind `head` and due now, claimed for this
        process like the head; only a claimed run with no gap is joined (bot.deliveries)."""
        if not head.pack:
            return []
        now = self._clock()
        run = pack_run(head, await self._store.queued_behind(head, PACK_ITEMS), now)
        if not run:
            return []
        claimed = await self._store.claim_run([i.id for i in run], now)
        return run[: len(claimed)]

    async def _failed(self, pack: list[OutboxItem], exc: Exception) -> None:
        """Record a failed send of a head and its packed run: the same outcome for each (the
        run's outcomes first, as for a success), the platform's error reported once."""
        item = pack[0]
        if isinstance(exc, ThreadGone):
            if item.ticket_id is not None:
                await self._store.clear_thread(item.ticket_id, item.platform)
            for one in reversed(pack):
                await self._store.mark_retry(one.id, self._clock(), "thread gone")
        elif isinstance(exc, RetryLater):
            for one in pack:
                one.maybe_doubled = one.maybe_doubled or exc.maybe_delivered
            await self._retry(pack, self._redact(str(exc)), exc.retry_after)
        elif isinstance(exc, Unreachable | Rejected):
            reason, unreachable = self._redact(str(exc)), isinstance(exc, Unreachable)
            if not unreachable:
                log.warning("delivery %s rejected by %s: %s", item.id, item.platform, reason)
            why = f"{'unreachable' if unreachable else 'rejected'}: {reason}"
            for one in reversed(pack):
                await self._store.mark_dead(one.id, why)
                self._metrics.delivery(one.platform, "dead")
            await self._reports.failed(item, reason, unreachable)
        else:  # no traceback: exception texts may hold secrets; the scrubbed text says enough
            log.error(
                "delivery %s to %s failed: %s: %s",
                item.id,
                item.platform,
                type(exc).__name__,
                self._redact(str(exc)),
            )
            await self._retry(pack, type(exc).__name__, None)

    async def _pace(self, item: OutboxItem) -> None:
        """Wait for the send's slot under the platform's flood limits (every process's sends
        count), when a gate is set."""
        if self._gate is None:
            return
        rules = self._rules(item)
        if rules:
            wait = await self._gate.reserve(rules)
            if wait > 0:
                await asyncio.sleep(wait)

    async def _retry(
        self, pack: Sequence[OutboxItem], error: str, retry_after: float | None
    ) -> None:
        """Try again later, every item at the same time (the run behind the head comes due
        with it and is packed again); an item out of attempts is dead-lettered."""
        next_at = self._clock() + backoff(pack[0].attempts, retry_after)
        for item in reversed(pack):
            if item.attempts + 1 >= self._max_attempts:
                log.warning(
                    "delivery %s dead after %d attempts: %s", item.id, item.attempts + 1, error
                )
                await self._store.mark_dead(item.id, error)
                self._metrics.delivery(item.platform, "dead")
                continue
            if item.attempts + 1 == LATE_AFTER:
                await self._reports.late(item)
            self._metrics.delivery(item.platform, "retry")
            await self._store.mark_retry(item.id, next_at, error, item.maybe_doubled)
