"""SqliteStore: the Store in one SQLite file (WAL), shared by kefu chat, desk and run."""

from __future__ import annotations

from bot.storage.sqlite.accounts import SqliteAccountStore
from bot.storage.sqlite.conn import StoreError
from bot.storage.sqlite.copy import SqlitePortable
from bot.storage.sqlite.outbox import SqliteOutboxStore
from bot.storage.sqlite.queries import SqliteQueryStore
from bot.storage.sqlite.turns import SqliteTurnStore

__all__ = ["SqliteStore", "StoreError"]


class SqliteStore(
    SqliteTurnStore, SqliteOutboxStore, SqliteQueryStore, SqliteAccountStore, SqlitePortable
):
    """Every role of the store on SQLite: turns, users, tickets, files, snippets, stats (turns.py
    and tickets.py), the outbox (outbox.py), the desk's queries (queries.py), the web desk's
    accounts (accounts.py), on one connection's discipline (conn.py)."""

    async def acquire_lease(self, name: str, ttl: float) -> bool:
        """One `kefu run` process serves a SQLite file: it holds every lease."""
        return True

    async def release_lease(self, name: str) -> None:
        """Nothing to give up (see acquire_lease)."""
