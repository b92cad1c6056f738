"""PostgresStore: the Store in a PostgreSQL database that several processes share."""

from __future__ import annotations

from bot.storage.postgres.copy import PostgresPortable
from bot.storage.postgres.outbox import PostgresOutboxStore
from bot.storage.postgres.turns import PostgresTurnStore

__all__ = ["PostgresStore"]


class PostgresStore(PostgresTurnStore, PostgresOutboxStore, PostgresPortable):
    """Every role of the store on PostgreSQL: turns, users, tickets, files, snippets, stats
    (turns.py and tickets.py), the outbox (outbox.py), on one pool's discipline (conn.py)."""
