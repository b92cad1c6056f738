"""What several processes coordinate through PostgreSQL: one turn at a time per conversation
(an advisory lock held by the turn's transaction), leases (one holder of a role at a time),
and platform flood limits shared by every process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from bot.locks import InProcessLocks
from bot.storage.postgres.store import PostgresStore

LOCK_KEY = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"


class PostgresLocks:
    """A conversation's lock across processes: its turn runs in one transaction that holds a
    transaction-scoped advisory lock on the conversation's key, released by COMMIT or ROLLBACK
    (and by the server when the process dies). Waiters in this process queue in memory first,
    so that one connection per process, not one per waiting event, waits in the database."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._local = InProcessLocks()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the lock of `key` for the block; the block's store calls join its transaction
        (raising rolls it back)."""
        async with self._local.hold(key), self._store.transaction():
            await self._store.execute(LOCK_KEY, (key,))
            yield


class PostgresFloodGate:
    """Sends paced across every process: each key (a bot, a chat, a group) admits one send per
    its gap of seconds (kefu_flood_slot in the schema reserves the slot atomically)."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    async def reserve(self, keys: Sequence[tuple[str, float]]) -> float:
        """Reserve the next send under all `keys` (key, gap in seconds); seconds to wait."""
        if not keys:
            return 0.0
        names, gaps = [k for k, _ in keys], [g for _, g in keys]
        row = await self._store.execute_row(
            "SELECT kefu_flood_slot(%s::text[], %s::float8[]) AS wait", (names, gaps)
        )
        return 0.0 if row is None else max(0.0, float(row["wait"]))
