"""Group commit in SqliteStore: units that finish together share one COMMIT, and none of
them returns, nor is seen by a reader, before that COMMIT."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import sqlite as sqlite_module
from bot.storage import sqlite_rows as rows
from bot.storage.base import UserRecord
from bot.storage.sqlite import SqliteStore, StoreError


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with await SqliteStore.open(tmp_path / "kefu.sqlite3") as opened:
        yield opened


def user(n: int) -> UserRecord:
    return UserRecord(key=f"telegram:{n}", platform="telegram", platform_id=str(n))


def committed_keys(path: Path) -> set[str]:
    """The user keys another connection sees: only what is committed."""
    with sqlite3.connect(path) as db:
        found = {key for (key,) in db.execute("SELECT key FROM users")}
    db.close()
    return found


async def test_units_that_finish_together_share_one_commit(
    store: SqliteStore, tmp_path: Path
) -> None:
    before = store._writes
    await asyncio.gather(*(store.upsert_user(user(n)) for n in range(10)))
    assert store._writes - before == 1
    # Every unit returned after the COMMIT: another connection already sees all ten.
    assert committed_keys(tmp_path / "kefu.sqlite3") == {f"telegram:{n}" for n in range(10)}


async def test_a_failing_unit_leaves_the_rest_of_its_group_alone(
    store: SqliteStore, tmp_path: Path
) -> None:
    async def fails() -> None:
        async with store.transaction():
            await store.upsert_user(user(2))
            raise RuntimeError("the turn broke")

    results = await asyncio.gather(
        store.upsert_user(user(1)), fails(), store.upsert_user(user(3)), return_exceptions=True
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], RuntimeError)
    assert committed_keys(tmp_path / "kefu.sqlite3") == {"telegram:1", "telegram:3"}


async def test_a_read_outside_a_unit_commits_the_finished_units_first(
    store: SqliteStore, tmp_path: Path
) -> None:
    writer = asyncio.create_task(store.upsert_user(user(7)))
    await asyncio.sleep(0)  # the unit ran and now waits for its group's COMMIT
    assert not writer.done()
    assert committed_keys(tmp_path / "kefu.sqlite3") == set()
    found = await store.get_user("telegram:7")
    assert found is not None
    assert committed_keys(tmp_path / "kefu.sqlite3") == {"telegram:7"}
    await writer


async def test_a_failed_commit_fails_every_unit_of_the_group(
    store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rows.run_ops

    def broken_commit(conn: sqlite3.Connection, ops: list[rows.Op], atomic: bool) -> object:
        if list(ops) == [rows.COMMIT]:
            raise sqlite3.OperationalError("disk I/O error")
        return real(conn, ops, atomic)

    monkeypatch.setattr(sqlite_module.rows, "run_ops", broken_commit)
    results = await asyncio.gather(
        store.upsert_user(user(1)), store.upsert_user(user(2)), return_exceptions=True
    )
    assert [type(r) for r in results] == [StoreError, StoreError]
    monkeypatch.setattr(sqlite_module.rows, "run_ops", real)
    assert committed_keys(tmp_path / "kefu.sqlite3") == set()
    await store.upsert_user(user(3))  # the store goes on working
    assert committed_keys(tmp_path / "kefu.sqlite3") == {"telegram:3"}
