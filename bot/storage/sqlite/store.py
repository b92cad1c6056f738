"""SqliteStore: the Store in one SQLite file (WAL), shared by kefu chat, desk and run."""

from __future__ import annotations

from bot.storage.sqlite.conn import StoreError
from bot.storage.sqlite.outbox import SqliteOutboxStore
from bot.storage.sqlite.queries import SqliteQueryStore
from bot.storage.sqlite.turns import SqliteTurnStore

__all__ = ["SqliteStore", "StoreError"]


class SqliteStore(SqliteTurnStore, SqliteOutboxStore, SqliteQueryStore):
    """Every role of the store on SQLite: turns, users, tickets, files, snippets, stats (turns.py
    and tickets.py), the outbox (outbox.py), the desk's queries (queries.py), on one
    connection's discipline (conn.py)."""
