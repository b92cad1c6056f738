"""Fixtures of the core's tests: a fresh store of each kind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import open_store
from bot.storage.base import Store
from bot.storage.postgres import PostgresStore


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh store of each kind (SQLite in a temporary file, PostgreSQL in a new database)."""
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        made: Store = await PostgresStore.open(url)
    else:
        made = await open_store(tmp_path / "kefu.sqlite3")
    try:
        yield made
    finally:
        await made.close()
