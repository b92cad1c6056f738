"""What several processes coordinate through PostgreSQL besides the outbox's claims: one turn
at a time per conversation (an advisory lock held by the turn's transaction), and platform
flood limits shared by every process. (Leases are the store's own role: store.py.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from bot.flood import FloodRule
from bot.locks import InProcessLocks
from bot.storage.postgres.store import PostgresStore

TURNS = 8  # turns in the database at once, per process (the pool holds POOL_SIZE connections)
LOCK_KEY = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0)), clock_timestamp() AS at"
# Test-only (KEFU_TEST_AUDIT_TURNS): each committed turn's time under its lock, into a table the
# test made with an exclusion constraint, so that two turns of one conversation at once would
# be refused by the database itself (tests/reliability/test_cluster.py).
AUDIT = """
INSERT INTO turn_audit (key, node, during) VALUES (%s, %s, tstzrange(%s, clock_timestamp()))
"""


class PostgresLocks:
    """A conversation's lock across processes: its turn runs in one transaction that holds a
    transaction-scoped advisory lock on the conversation's key, released by COMMIT or ROLLBACK
    (and by the server when the process dies). Waiters in this process queue in memory first,
    so that one connection per process, not one per waiting event, waits in the database."""

    def __init__(self, store: PostgresStore, audit: bool = False, turns: int = TURNS) -> None:
        self._store = store
        self._local = InProcessLocks()
        self._audit = audit
        # A turn holds a pooled connection from its lock to its commit: at most `turns` at
        # once, so that the outbox and the hub always find a connection free (else their
        # deliveries queue behind every waiting turn, and replies lag).
        self._slots = asyncio.Semaphore(turns)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the lock of `key` for the block; the block's store calls join its transaction
        (raising rolls it back)."""
        async with self._local.hold(key), self._slots, self._store.transaction():
            locked = await self._store.execute_row(LOCK_KEY, (key,))
            yield
            if self._audit and locked is not None:
                await self._store.execute(AUDIT, (key, self._store.node, locked["at"]))


class PostgresFloodGate:
    """Sends paced across every process of the deployment: a send is reserved under each of
    its keys (kefu_flood_reserve in the schema: a sliding window per key, in the server)."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    async def reserve(self, rules: Sequence[FloodRule]) -> float:
        """Reserve the next send under every rule's key; seconds to wait before sending."""
        if not rules:
            return 0.0
        keys = [r.key for r in rules]
        limits = [r.limit for r in rules]
        windows = [r.window for r in rules]
        row = await self._store.execute_row(_RESERVE, (keys, limits, windows))
        return 0.0 if row is None else max(0.0, float(row["wait"]))


_RESERVE = "SELECT kefu_flood_reserve(%s::text[], %s::integer[], %s::float8[]) AS wait"
