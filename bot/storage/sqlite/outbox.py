"""SqliteOutboxStore: durable deliveries, sent in order per lane."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Collection, Sequence

from bot.storage.gathered import Gathered
from bot.storage.records import OutboxItem, OutboxStatus
from bot.storage.sqlite import rows, sql
from bot.storage.sqlite.conn import SqliteConnection
from bot.storage.sqlite.tickets import new_id

_Sent = tuple[int, float, bool]  # a delivery's id, when it was sent, maybe doubled


class SqliteOutboxStore(SqliteConnection):
    """The outbox role of the SQLite store (see bot.storage.base.OutboxStore)."""

    @functools.cached_property
    def _sent(self) -> Gathered[_Sent]:
        """Sends to record at the next turn of the event loop, in one statement."""
        return Gathered(self._write_sent)

    async def enqueue(self, item: OutboxItem) -> int:
        """Add a delivery; returns its id (the existing one, unchanged, when the key was seen)."""
        [outcome] = await self._write((sql.INSERT_OUTBOX, rows.outbox_params(item)))
        if outcome.rowcount == 1:  # inserted; 0 when the key was seen
            return new_id(outcome)
        row = await self._row(sql.OUTBOX_ID, (item.key,))
        if row is None:
            raise RuntimeError(f"outbox key {item.key!r} neither inserted nor found")
        return int(row[0])

    async def due(
        self,
        platforms: Sequence[str],
        now: float,
        limit: int = 50,
        skip: Collection[int] = (),
    ) -> list[OutboxItem]:
        """Committed pending deliveries whose time has come, oldest first, each lane's oldest,
        leaving out `skip` (those are under way, and still hold their lanes)."""
        if not platforms:
            return []
        wanted, skipped = rows.dump_json(list(platforms)), rows.dump_json(list(skip))
        [found] = await self._durable_reads((sql.DUE, (wanted, now, skipped, limit)))
        return [rows.due_from_row(row) for row in found]

    async def mark_inflight(self, item_ids: Sequence[int], now: float) -> list[int]:
        """Mark pending deliveries as being sent, in one statement committed now; the ids
        marked (one process sends from a SQLite file: every pending one given)."""
        if not item_ids:
            return []
        [done] = await self._write((sql.MARK_INFLIGHT, (now, rows.dump_json(list(item_ids)))))
        return [int(row[0]) for row in done.rows]

    async def claim(
        self,
        platforms: Sequence[str],
        now: float,
        limit: int = 50,
        skip: Collection[int] = (),
    ) -> list[OutboxItem]:
        """Due lane heads, marked in flight (one process sends from a SQLite file: nobody
        else claims between the two steps)."""
        due = await self.due(platforms, now, limit, skip)
        claimed = set(await self.mark_inflight([i.id for i in due], now))
        for item in due:
            item.inflight_at = now
        return [i for i in due if i.id in claimed]

    def deliver_here(self, platforms: Collection[str]) -> None:
        """SQLite tells no other process about commits: nothing to change."""

    async def queued_behind(self, head: OutboxItem, limit: int) -> list[OutboxItem]:
        """The pending deliveries behind `head` in its lane, oldest first."""
        params = (head.platform, head.chat_id, head.lane, head.id, limit)
        [found] = await self._durable_reads((sql.QUEUED_BEHIND, params))
        return [rows.due_from_row(row) for row in found]

    async def claim_run(self, item_ids: Sequence[int], now: float) -> list[int]:
        """Mark deliveries behind a head in flight, in id order up to the first that is no
        longer pending (one process sends from a SQLite file: nobody else claims them)."""
        if not item_ids:
            return []
        params = {"ids": rows.dump_json(sorted(item_ids)), "now": now}
        [done] = await self._write((sql.CLAIM_RUN, params))
        return sorted(int(row[0]) for row in done.rows)

    async def mark_sent(self, item_id: int, now: float, maybe_doubled: bool = False) -> None:
        """The delivery succeeded; the in-flight mark is cleared. Sends that end in the same
        turn of the event loop are recorded in one statement (inside a transaction: at once,
        in it)."""
        if self._joined():
            await self._defer(sql.MARK_SENT, (now, int(maybe_doubled), item_id))
            return
        await self._sent.add((item_id, now, maybe_doubled))

    async def _write_sent(self, batch: list[_Sent]) -> None:
        marks = rows.dump_json([[ident, at, int(doubled)] for ident, at, doubled in batch])
        await self._defer(sql.MARK_SENT_MANY, (marks,))

    async def mark_retry(
        self, item_id: int, next_at: float, error: str, maybe_delivered: bool = False
    ) -> None:
        """The delivery failed for now; count the attempt and try again at `next_at`."""
        await self._defer(sql.MARK_RETRY, (next_at, error, int(maybe_delivered), item_id))

    async def mark_dead(self, item_id: int, error: str) -> None:
        """The delivery will not succeed: dead-letter it (the in-flight mark is cleared)."""
        await self._defer(sql.MARK_DEAD, (error, item_id))

    async def retry_dead(self, item_id: int, now: float) -> bool:
        """Put a dead delivery back to pending, due now; False when there is none with that id."""
        [outcome] = await self._write((sql.RETRY_DEAD, (now, item_id)))
        return outcome.rowcount == 1

    async def outbox_items(
        self, statuses: Sequence[OutboxStatus] = (), limit: int = 100
    ) -> list[OutboxItem]:
        """Deliveries in those states (all when empty), oldest first."""
        if statuses:
            wanted = rows.dump_json([OutboxStatus(s).value for s in statuses])
            found = await self._rows(sql.OUTBOX_ITEMS_IN, (wanted, limit))
        else:
            found = await self._rows(sql.OUTBOX_ITEMS, (limit,))
        return [rows.outbox_from_row(row) for row in found]

    async def watch_outbox(self, wake: Callable[[], None]) -> None:
        """SQLite tells nobody about commits: the outbox's polling finds them; wait forever."""
        await asyncio.Event().wait()

    async def outbox_item(self, item_id: int) -> OutboxItem | None:
        """One delivery by id."""
        row = await self._row("SELECT * FROM outbox WHERE id = ?", (item_id,))
        return None if row is None else rows.outbox_from_row(row)

    async def recent_sends(
        self, platform: str, chat_ids: Sequence[str], since: float
    ) -> dict[str, int]:
        """How busy each chat is: deliveries sent to it since `since`, and those waiting."""
        found = await self._rows(
            sql.RECENT_SENDS, (platform, rows.dump_json(list(chat_ids)), since)
        )
        return {str(row[1]): int(row[2]) for row in found}

    async def backlog(self) -> list[tuple[str, str, int, float]]:
        """What waits per chat, the longest waiting first."""
        found = await self._rows(sql.BACKLOG)
        return [(str(r[0]), str(r[1]), int(r[2]), float(r[3])) for r in found]

    async def waiting(self, platform: str, chat_ids: Sequence[str]) -> dict[str, int]:
        """Deliveries waiting to be sent to each of these chats."""
        found = await self._rows(sql.WAITING, (platform, rows.dump_json(list(chat_ids))))
        return {str(row[0]): int(row[1]) for row in found}

    async def prune_log(self, before: float) -> int:
        """Forget deliveries sent before `before` and event ids seen before it."""
        async with self.transaction():
            sent, seen = await self._write(
                (sql.PRUNE_SENT, (before,)), (sql.PRUNE_SEEN, (before,))
            )
        return sent.rowcount + seen.rowcount
