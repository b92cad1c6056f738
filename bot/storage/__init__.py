"""Kefu's storage: the store's roles (base), its records, a turn's writes, and SqliteStore."""

from __future__ import annotations

from pathlib import Path

from bot.storage.base import Store
from bot.storage.sqlite import SqliteStore

__all__ = ["SqliteStore", "Store", "open_store"]


async def open_store(path: Path) -> Store:
    """The SQLite store in that file; close it after."""
    return await SqliteStore.open(path)
