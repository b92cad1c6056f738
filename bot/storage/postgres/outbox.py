"""PostgresOutboxStore: durable deliveries, claimed by one process at a time, in order per lane
across every process of the deployment."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Collection, Sequence

import psycopg

from bot.storage.gathered import Gathered
from bot.storage.postgres import rows, sql
from bot.storage.postgres.conn import NODE_TTL, PostgresConnection, Row
from bot.storage.records import OutboxItem, OutboxStatus

log = logging.getLogger(__name__)

RELISTEN_AFTER = 1.0  # seconds before LISTEN is tried again after its connection broke


_Sent = tuple[int, float, bool]  # a delivery's id, when it was sent, maybe doubled
# Sends recorded together: those that end within this many seconds of the first (a send is
# recorded only after the platform took it; a process killed meanwhile sends it again,
# counted as maybe doubled, as it would be if killed just before the mark).
SENT_GATHER = 0.005
TOPICS_KEPT = 1024  # tickets' topics read by claims, kept for their sends' thread_of


class PostgresOutboxStore(PostgresConnection):
    """The outbox role of the PostgreSQL store (see bot.storage.base.OutboxStore)."""

    @functools.cached_property
    def _sent(self) -> Gathered[_Sent]:
        """Sends to record together, in one statement."""
        return Gathered(self._write_sent, SENT_GATHER)

    _here: list[str]

    def deliver_here(self, platforms: Collection[str]) -> None:
        """A turn's commit NOTIFYs the other processes only of deliveries to other platforms
        (kefu_commit_turn): the outbox here claims its own after the hub wakes it."""
        self._here = sorted(platforms)

    async def enqueue(self, item: OutboxItem) -> int:
        """Add a delivery; returns its id (the existing one, unchanged, when the key was seen)."""
        outcome, _ = await self._batch(
            [(sql.INSERT_OUTBOX_ID, rows.outbox_params(item)), (sql.NOTIFY_OUTBOX, ())]
        )
        if outcome.rows:
            return int(outcome.rows[0]["id"])
        row = await self._row(sql.OUTBOX_ID, (item.key,))
        if row is None:
            raise RuntimeError(f"outbox key {item.key!r} neither inserted nor found")
        return int(row["id"])

    async def due(
        self,
        platforms: Sequence[str],
        now: float,
        limit: int = 50,
        skip: Collection[int] = (),
    ) -> list[OutboxItem]:
        """Committed pending deliveries whose time has come, oldest first, each lane's oldest,
        leaving out `skip` (under way here) and what another live process is sending."""
        if not platforms:
            return []
        params = self._due_params(platforms, now, limit, skip)
        return [rows.due_from_row(row) for row in await self._rows(sql.DUE, params)]

    def _due_params(
        self, platforms: Sequence[str], now: float, limit: int, skip: Collection[int]
    ) -> dict[str, object]:
        """What DUE and SENT_AND_CLAIM read: lanes of these platforms due by `now`, not under
        way here (`skip`) nor claimed by another live node."""
        return {
            "platforms": list(platforms),
            "now": now,
            "skip": list(skip),
            "limit": limit,
            "me": self.node,
            "ttl": NODE_TTL,
        }

    async def mark_inflight(self, item_ids: Sequence[int], now: float) -> list[int]:
        """Claim pending deliveries for this process (their sends start now); the ids claimed
        (another process may have claimed some first: those are not ours to send)."""
        if not item_ids:
            return []
        params = {"ids": list(item_ids), "now": now, "me": self.node, "ttl": NODE_TTL}
        return [int(row["id"]) for row in await self._rows(sql.CLAIM, params)]

    async def claim(
        self,
        platforms: Sequence[str],
        now: float,
        limit: int = 50,
        skip: Collection[int] = (),
    ) -> list[OutboxItem]:
        """Due lane heads claimed for this process in one statement, oldest first; the sends
        waiting to be recorded are recorded by it (a statement less for them)."""
        if not platforms:
            return []
        params = self._due_params(platforms, now, limit, skip)
        found = await self._sent.write_with(functools.partial(self._claim_rows, params))
        items = []
        for row in found:
            was, chat, topic = row.pop("was"), row.pop("topic_chat"), row.pop("topic")
            item = rows.outbox_from_row(row)
            if chat is not None and item.ticket_id is not None:
                self._claimed_topic(item.ticket_id, item.platform, (chat, topic))
            item.maybe_doubled = item.maybe_doubled or was is not None
            items.append(item)
        return sorted(items, key=lambda i: i.id)

    async def _claim_rows(self, params: dict[str, object], sent: list[_Sent]) -> list[Row]:
        """The claim's rows; the statement records the `sent` (if any) first."""
        ids, times, doubled = ([b[n] for b in sent] for n in range(3))
        marked = {**params, "sent": ids, "sent_at": times, "doubled": doubled}
        return await self._rows(sql.SENT_AND_CLAIM, marked)

    def _claimed_topic(self, ticket_id: int, platform: str, topic: tuple[str, str]) -> None:
        """A ticket's topic as the claim of a delivery to it read it, for the send's thread_of
        (a few milliseconds later: a topic deleted meanwhile fails that send as it would
        have failed a moment later, and is forgotten then: clear_thread)."""
        if len(self._topics) >= TOPICS_KEPT:  # sends that never asked (they failed first)
            self._topics.clear()
        self._topics[(ticket_id, platform)] = topic

    async def queued_behind(self, head: OutboxItem, limit: int) -> list[OutboxItem]:
        """The pending deliveries behind `head` in its lane, oldest first."""
        params = {
            "platform": head.platform,
            "chat_id": head.chat_id,
            "lane": head.lane,
            "head": head.id,
            "limit": limit,
        }
        return [rows.due_from_row(row) for row in await self._rows(sql.QUEUED_BEHIND, params)]

    async def claim_run(self, item_ids: Sequence[int], now: float) -> list[int]:
        """Claim deliveries behind a head for this process, in id order up to the first that
        is not free (one statement: a compare-and-set on each row)."""
        if not item_ids:
            return []
        params = {"ids": sorted(item_ids), "now": now, "me": self.node, "ttl": NODE_TTL}
        return sorted(int(row["id"]) for row in await self._rows(sql.CLAIM_RUN, params))

    async def mark_sent(self, item_id: int, now: float, maybe_doubled: bool = False) -> None:
        """The delivery succeeded; the in-flight mark is cleared. Sends that end within
        SENT_GATHER seconds of each other are recorded in one statement."""
        await self._sent.add((item_id, now, maybe_doubled))

    async def _write_sent(self, batch: list[_Sent]) -> None:
        ids, times, doubled = ([b[n] for b in batch] for n in range(3))
        await self._one(sql.MARK_SENT_MANY, (ids, times, doubled))

    async def mark_retry(
        self, item_id: int, next_at: float, error: str, maybe_delivered: bool = False
    ) -> None:
        """The delivery failed for now; count the attempt and try again at `next_at`."""
        await self._one(sql.MARK_RETRY, (next_at, error, maybe_delivered, item_id))

    async def mark_dead(self, item_id: int, error: str) -> None:
        """The delivery will not succeed: dead-letter it (the in-flight mark is cleared)."""
        await self._one(sql.MARK_DEAD, (error, item_id))

    async def retry_dead(self, item_id: int, now: float) -> bool:
        """Put a dead delivery back to pending, due now; False when there is none with that id."""
        done, _ = await self._batch([(sql.RETRY_DEAD, (now, item_id)), (sql.NOTIFY_OUTBOX, ())])
        return done.rowcount == 1

    async def outbox_items(
        self, statuses: Sequence[OutboxStatus] = (), limit: int = 100
    ) -> list[OutboxItem]:
        """Deliveries in those states (all when empty), oldest first."""
        if statuses:
            wanted = [OutboxStatus(s).value for s in statuses]
            found = await self._rows(sql.OUTBOX_ITEMS_IN, (wanted, limit))
        else:
            found = await self._rows(sql.OUTBOX_ITEMS, (limit,))
        return [rows.outbox_from_row(row) for row in found]

    async def outbox_item(self, item_id: int) -> OutboxItem | None:
        """One delivery by id."""
        row = await self._row(sql.OUTBOX_ITEM, (item_id,))
        return None if row is None else rows.outbox_from_row(row)

    async def recent_sends(
        self, platform: str, chat_ids: Sequence[str], since: float
    ) -> dict[str, int]:
        """How busy each chat is: deliveries sent to it since `since`, and those waiting."""
        found = await self._rows(sql.RECENT_SENDS, (platform, list(chat_ids), since))
        return {str(row["chat_id"]): int(row["n"]) for row in found}

    async def waiting(self, platform: str, chat_ids: Sequence[str]) -> dict[str, int]:
        """Deliveries waiting to be sent to each of these chats."""
        found = await self._rows(sql.WAITING, (platform, list(chat_ids)))
        return {str(row["chat_id"]): int(row["n"]) for row in found}

    async def prune_log(self, before: float) -> int:
        """Forget deliveries sent before `before` and event ids seen before it."""
        sent, seen = await self._batch([(sql.PRUNE_SENT, (before,)), (sql.PRUNE_SEEN, (before,))])
        return sent.rowcount + seen.rowcount

    async def backlog(self) -> list[tuple[str, str, int, float]]:
        """What waits per chat, the longest waiting first."""
        found = await self._rows(sql.BACKLOG)
        return [
            (str(r["platform"]), str(r["chat_id"]), int(r["n"]), float(r["oldest"])) for r in found
        ]

    async def watch_outbox(self, wake: Callable[[], None]) -> None:
        """Call `wake` whenever any process enqueued deliveries (LISTEN/NOTIFY), until
        cancelled. A hint only: the outbox polls as well, so a lost notification (the
        connection broke) delays a delivery and never loses it."""
        while True:
            try:
                conn = await self.connect()
                async with conn:
                    await conn.execute("LISTEN kefu_outbox")
                    wake()  # whatever was enqueued while not listening
                    async for _ in conn.notifies():
                        wake()
            except (psycopg.Error, OSError) as exc:
                log.warning("LISTEN kefu_outbox failed (%s); polling meanwhile", exc)
            await asyncio.sleep(RELISTEN_AFTER)
