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
from bot.storage.postgres.conn import Held, Op
from bot.storage.postgres.store import PostgresStore

# Turns in the database at once, per process (the pool holds POOL_SIZE connections). More do
# not overlap more work on a small machine: each waits on the server's cores as well, and each
# keeps one more backend busy, switched to and from (engine.py --store postgresql --processes
# 2: 24 took 6-10% more CPU a message than 8).
TURNS = 8
# The lock time is kept in the session for the test-only audit below.
LOCK_KEY = """
SELECT pg_advisory_lock(hashtextextended(%s, 0)),
       set_config('kefu.locked_at', clock_timestamp()::text, false)
"""
UNLOCK_KEY = "SELECT pg_advisory_unlock(hashtextextended(%s, 0))"
# Test-only (KEFU_TEST_AUDIT_TURNS): each turn's time under its lock, into a table the test made
# with an exclusion constraint, so that two turns of one conversation at once would be refused
# by the database itself (tests/reliability/test_cluster.py); then the unlock.
AUDIT_AND_UNLOCK = """
WITH audit AS (
    INSERT INTO turn_audit (key, node, during) VALUES (%(key)s, %(node)s,
        tstzrange(current_setting('kefu.locked_at')::timestamptz, clock_timestamp()))
)
SELECT pg_advisory_unlock(hashtextextended(%(key)s, 0))
"""


class PostgresLocks:
    """A conversation's lock across processes: its turn holds one pooled connection, which
    holds a session advisory lock on the conversation's key from before the turn's load to
    after its commit (one statement, atomic: bot/storage/postgres/turns.py); the server
    releases it should the process die. Waiters in this process queue in memory first, so
    that one connection per process, not one per waiting event, waits in the database.

    The lock is taken by the block's first statement (a turn's load: one round trip for
    both) and released with the turn's commit: the block is exclusive from its first
    statement on; before it, it has neither read nor written anything.
    """

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
        unlock: Op = (UNLOCK_KEY, (key,))
        if self._audit:
            unlock = (AUDIT_AND_UNLOCK, {"key": key, "node": self._store.node})
        # The lock goes out with the turn's load, the unlock with its commit (Held).
        held_turn = self._store.held([(LOCK_KEY, (key,))], [unlock], key, self._audit)
        async with self._local.hold(key), self._slots, held_turn as held:
            try:
                yield
            finally:
                await self._release(held)

    async def _release(self, held: Held) -> None:
        """Unlock, unless the commit's round trip did (or no statement ever took the lock)."""
        if held.ahead:
            return
        try:
            for statement, params in held.behind:
                await self._store.execute(statement, params)
        except BaseException:
            # The lock must not outlive the turn on a pooled connection: closed, the
            # connection's session ends and the server releases it.
            await held.conn.close()
            raise


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
