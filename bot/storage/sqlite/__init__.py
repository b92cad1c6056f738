"""The embedded store: one SQLite file in WAL mode, shared by processes on one host."""

from bot.storage.sqlite.store import SqliteStore, StoreError

__all__ = ["SqliteStore", "StoreError"]
