"""PostgresStore: the Store in a PostgreSQL database that several processes share."""

from __future__ import annotations

from bot.storage.postgres.accounts import PostgresAccountStore
from bot.storage.postgres.copy import PostgresPortable
from bot.storage.postgres.outbox import PostgresOutboxStore
from bot.storage.postgres.queries import PostgresQueryStore
from bot.storage.postgres.turns import PostgresTurnStore

__all__ = ["PostgresStore"]


class PostgresStore(
    PostgresTurnStore,
    PostgresOutboxStore,
    PostgresQueryStore,
    PostgresAccountStore,
    PostgresPortable,
):
    """Every role of the store on PostgreSQL: turns, users, tickets, files, snippets, stats
    (turns.py and tickets.py), the outbox (outbox.py), the desk's queries (queries.py), the web
    desk's accounts (accounts.py), on one pool's discipline (conn.py)."""

    async def acquire_lease(self, name: str, ttl: float) -> bool:
        """Take or renew the lease (server time: hosts' clocks need not agree)."""
        row = await self._row(_ACQUIRE, (name, self.node, ttl))
        return row is not None

    async def release_lease(self, name: str) -> None:
        """Give the lease up at once, if this node holds it."""
        await self._one(_RELEASE, (name, self.node))


# Taken when free or expired, renewed by its holder; any other holder's live lease stays.
_ACQUIRE = """
INSERT INTO leases (name, holder, expires_at)
VALUES (%s, %s, clock_timestamp() + make_interval(secs => %s))
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE leases.holder = excluded.holder OR leases.expires_at < clock_timestamp()
RETURNING holder
"""
_RELEASE = "DELETE FROM leases WHERE name = %s AND holder = %s"
