"""Kefu's storage: the Store Protocol (base), SqliteStore, MemoryStore and `open_store`."""

from __future__ import annotations

from pathlib import Path

from bot.storage.base import Store
from bot.storage.memory import MemoryStore
from bot.storage.sqlite import SqliteStore

__all__ = ["MemoryStore", "SqliteStore", "Store", "open_store"]


async def open_store(path: Path | None) -> Store:
    """The SQLite store in that file, or a MemoryStore when `path` is None; close it after."""
    if path is None:
        return MemoryStore()
    return await SqliteStore.open(path)
