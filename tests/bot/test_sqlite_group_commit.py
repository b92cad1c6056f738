"""Group commit in SqliteStore: units that finish together share one COMMIT, none of them
returns before it, nothing is sent out (the outbox reads durably) before it, and a turn that
read what a failed COMMIT lost is refused."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.records import OutboxItem, UserRecord
from bot.storage.sqlite import SqliteStore, StoreError, rows
from bot.storage.writes import Conflict, TurnWrites


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


async def test_a_read_sees_finished_units_without_forcing_their_commit(
    store: SqliteStore, tmp_path: Path
) -> None:
    """A turn's load reads what finished units wrote; it commits after them, in order."""
    writer = asyncio.create_task(store.upsert_user(user(7)))
    await asyncio.sleep(0)  # the unit ran and now waits for its group's COMMIT
    assert not writer.done()
    assert await store.get_user("telegram:7") is not None
    assert committed_keys(tmp_path / "kefu.sqlite3") == set()  # the group is still one
    await writer
    assert committed_keys(tmp_path / "kefu.sqlite3") == {"telegram:7"}


async def test_what_is_sent_out_is_read_only_once_committed(
    store: SqliteStore, tmp_path: Path
) -> None:
    item = OutboxItem("telegram", "1", {"text": "hi"}, "k1")
    writer = asyncio.create_task(store.enqueue(item))
    await asyncio.sleep(0)
    assert not writer.done()
    [due] = await store.due(["telegram"], 1.0)  # the outbox's read commits the group first
    assert due.key == "k1"
    with sqlite3.connect(tmp_path / "kefu.sqlite3") as db:
        assert db.execute("SELECT key FROM outbox").fetchall() == [("k1",)]
    db.close()
    await writer


async def test_a_failed_commit_fails_every_unit_of_the_group(
    store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rows.run_ops

    def broken_commit(conn: sqlite3.Connection, ops: list[rows.Op], atomic: bool) -> object:
        if list(ops) == [rows.COMMIT]:
            raise sqlite3.OperationalError("disk I/O error")
        return real(conn, ops, atomic)

    monkeypatch.setattr(rows, "run_ops", broken_commit)
    results = await asyncio.gather(
        store.upsert_user(user(1)), store.upsert_user(user(2)), return_exceptions=True
    )
    assert [type(r) for r in results] == [StoreError, StoreError]
    monkeypatch.setattr(rows, "run_ops", real)
    assert committed_keys(tmp_path / "kefu.sqlite3") == set()
    await store.upsert_user(user(3))  # the store goes on working
    assert committed_keys(tmp_path / "kefu.sqlite3") == {"telegram:3"}


async def test_a_turn_that_read_what_a_failed_commit_lost_is_refused(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rows.run_ops

    def broken_commit(conn: sqlite3.Connection, ops: list[rows.Op], atomic: bool) -> object:
        if list(ops) == [rows.COMMIT]:
            raise sqlite3.OperationalError("disk I/O error")
        return real(conn, ops, atomic)

    monkeypatch.setattr(rows, "run_ops", broken_commit)
    writer = asyncio.create_task(store.upsert_user(user(1)))
    await asyncio.sleep(0)
    loaded = await store.load_turn("telegram:1")  # sees the user the COMMIT will lose
    assert loaded.user is not None
    with pytest.raises(StoreError):
        await writer
    monkeypatch.setattr(rows, "run_ops", real)
    with pytest.raises(Conflict):
        await store.commit_turn(TurnWrites(seen=("telegram", "e1"), now=1.0))
    assert (await store.load_turn("telegram:1")).user is None  # a fresh load: handled again
    await store.commit_turn(TurnWrites(seen=("telegram", "e1"), now=1.0))
