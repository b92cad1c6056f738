"""What the PostgreSQL store adds to the contract (test_store_contract.py runs it too): a
versioned schema, and several processes (here: several stores, each a node) on one database."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from bot.state import Conversation
from bot.storage import codec
from bot.storage.postgres import PostgresStore
from bot.storage.postgres.coordination import PostgresLocks
from bot.storage.postgres.migrate import SchemaTooNew, latest
from bot.storage.records import OutboxItem, Ticket
from bot.storage.writes import Conflict, TurnWrites
from tests.helpers.pg import TestDatabases


def delivery(key: str, chat_id: str = "1") -> OutboxItem:
    """A pending delivery to a Telegram chat."""
    return OutboxItem("telegram", chat_id, {"text": key}, key)


async def test_an_empty_database_is_migrated_once_and_the_version_recorded(
    pg_databases: TestDatabases,
) -> None:
    url = pg_databases.empty()
    for _ in range(2):  # the second open finds nothing to do
        async with await PostgresStore.open(url) as store:
            await store.set_snippet("hi", "你好")
    with psycopg.connect(url) as db:
        versions = [row[0] for row in db.execute("SELECT version FROM kefu_schema")]
        assert versions == list(range(1, latest() + 1))
        db.execute("INSERT INTO kefu_schema (version) VALUES (%s)", (latest() + 1,))
    with pytest.raises(SchemaTooNew):
        await PostgresStore.open(url)


async def test_a_database_part_way_gets_the_functions_in_their_current_form(
    pg_databases: TestDatabases,
) -> None:
    """A database at an older version (its functions as they were then) migrated to the newest
    has the functions of functions.sql: the newest file's transaction applies them."""
    url = pg_databases.empty()
    first = codec.schema_scripts("postgres")[0][1]
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "CREATE TABLE kefu_schema (version integer PRIMARY KEY, "
            "applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        db.execute(first.encode())
        db.execute(b"CREATE FUNCTION kefu_commit_turn(w jsonb) RETURNS void "
                   b"LANGUAGE sql AS 'SELECT 1'")  # fmt: skip
        db.execute("INSERT INTO kefu_schema (version) VALUES (1)")
    async with await PostgresStore.open(url) as store:
        await store.set_snippet("hi", "你好")
    with psycopg.connect(url) as db:
        row = db.execute("SELECT pg_get_functiondef('kefu_commit_turn'::regproc)").fetchone()
        assert row is not None and "INSERT INTO moderators" in row[0]


def test_each_function_has_one_definition() -> None:
    """The numbered files define no function: functions.sql holds each one, once."""
    for version, script in codec.schema_scripts("postgres"):
        assert "CREATE FUNCTION" not in script.upper().replace("OR REPLACE ", ""), version
    functions = codec.schema_functions("postgres")
    for name in ("kefu_commit_turn", "kefu_lock_and_load", "kefu_expect", "kefu_flood_reserve"):
        assert functions.count(f"FUNCTION {name}(") == 1, name


async def test_two_processes_claim_each_delivery_once_in_lane_order(pg_url: str) -> None:
    async with await PostgresStore.open(pg_url) as a, await PostgresStore.open(pg_url) as b:
        a1 = await a.enqueue(delivery("a1", "A"))
        a2 = await a.enqueue(delivery("a2", "A"))
        b1 = await a.enqueue(delivery("b1", "B"))
        assert [i.id for i in await b.due(["telegram"], 1.0)] == [a1, b1]
        assert await a.mark_inflight([a1], 1.0) == [a1]
        assert await b.mark_inflight([a1, b1], 1.0) == [b1]  # a1 is a's
        # a's send of a1 holds lane A for every process: a2 waits behind it
        assert await b.due(["telegram"], 1.0, skip=[b1]) == []
        await a.mark_sent(a1, 2.0)
        assert [i.id for i in await b.due(["telegram"], 2.0, skip=[b1])] == [a2]


async def test_what_a_dead_process_claimed_comes_back_maybe_doubled(pg_url: str) -> None:
    async with await PostgresStore.open(pg_url) as b:
        a = await PostgresStore.open(pg_url)
        a1 = await a.enqueue(delivery("a1"))
        assert await a.mark_inflight([a1], 1.0) == [a1]
        assert await b.due(["telegram"], 2.0) == []  # a is alive: its send is under way
        await a.close()  # gone (a SIGKILL is the same once its heartbeat is old)
        [item] = await b.due(["telegram"], 3.0)
        assert (item.id, item.maybe_doubled) == (a1, True)
        assert await b.mark_inflight([a1], 3.0) == [a1]


async def test_a_turn_of_another_process_that_saved_first_wins(pg_url: str) -> None:
    async with await PostgresStore.open(pg_url) as a, await PostgresStore.open(pg_url) as b:
        mine = (await a.load_turn("telegram:1")).conversation or Conversation("telegram:1")
        theirs = (await b.load_turn("telegram:1")).conversation or Conversation("telegram:1")
        await b.commit_turn(TurnWrites(seen=("telegram", "e1"), conversation=theirs, now=1.0))
        with pytest.raises(Conflict):
            await a.commit_turn(
                TurnWrites(seen=("telegram", "e2"), conversation=mine, outbox=[delivery("x")])
            )
        assert not await a.is_seen("telegram", "e2")
        assert await a.outbox_items() == []


async def test_a_conversation_lock_holds_across_processes(pg_url: str) -> None:
    async with await PostgresStore.open(pg_url) as a, await PostgresStore.open(pg_url) as b:
        first, second = PostgresLocks(a), PostgresLocks(b)
        order: list[str] = []

        async def other() -> None:
            async with second.hold("telegram:1"):
                await b.load_turn("telegram:1")  # a turn starts with its load: locked there
                order.append("b")

        async with first.hold("telegram:1"):
            await a.load_turn("telegram:1")
            waiting = asyncio.create_task(other())
            async with second.hold("telegram:2"):  # another conversation: not held up
                await b.load_turn("telegram:2")
                order.append("b2")
            await asyncio.sleep(0.2)
            assert not waiting.done()  # it waits in the database for a's turn to end
            order.append("a")
        await asyncio.wait_for(waiting, 5)
        assert order == ["b2", "a", "b"]


async def test_a_turn_that_raises_under_its_lock_releases_it(pg_url: str) -> None:
    async with await PostgresStore.open(pg_url) as a, await PostgresStore.open(pg_url) as b:
        with pytest.raises(RuntimeError):
            async with PostgresLocks(a).hold("telegram:1"):
                raise RuntimeError("boom")
        async with asyncio.timeout(5), PostgresLocks(b).hold("telegram:1"):
            pass


async def test_another_process_is_woken_by_what_one_enqueues(pg_url: str) -> None:
    async with await PostgresStore.open(pg_url) as a, await PostgresStore.open(pg_url) as b:
        woken = asyncio.Event()
        watcher = asyncio.create_task(b.watch_outbox(woken.set))
        try:
            await asyncio.wait_for(woken.wait(), 5)  # once when it starts listening
            woken.clear()
            await a.commit_turn(TurnWrites(seen=("telegram", "e1"), outbox=[delivery("x")]))
            await asyncio.wait_for(woken.wait(), 5)
            woken.clear()
            await a.enqueue(delivery("y"))
            await asyncio.wait_for(woken.wait(), 5)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)


async def test_a_commit_wakes_no_process_for_deliveries_its_own_outbox_sends(
    pg_url: str,
) -> None:
    async with await PostgresStore.open(pg_url) as a, await PostgresStore.open(pg_url) as b:
        a.deliver_here(["telegram"])  # a's outbox sends Telegram's deliveries: none for b
        wakes: list[int] = []
        woken = asyncio.Event()

        def wake() -> None:
            wakes.append(1)
            woken.set()

        async def next_wake() -> None:
            await asyncio.wait_for(woken.wait(), 5)
            woken.clear()

        watcher = asyncio.create_task(b.watch_outbox(wake))
        try:
            await next_wake()  # once when it starts listening
            await a.commit_turn(TurnWrites(seen=("telegram", "e1"), outbox=[delivery("x")]))
            other = OutboxItem("discord", "9", {"text": "y"}, "y")
            await a.commit_turn(TurnWrites(seen=("telegram", "e2"), outbox=[other]))
            await next_wake()  # Discord's (NOTIFYs arrive in commit order: Telegram's first)
            assert len(wakes) == 2
            a.deliver_here([])  # a's outbox stopped: every commit wakes the others
            await a.commit_turn(TurnWrites(seen=("telegram", "e3"), outbox=[delivery("z")]))
            await next_wake()
            assert len(wakes) == 3
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)


async def test_processes_claiming_at_once_share_the_deliveries_out(pg_url: str) -> None:
    async with await PostgresStore.open(pg_url) as a, await PostgresStore.open(pg_url) as b:
        for n in range(40):
            await a.enqueue(delivery(f"k{n}", f"chat{n}"))
        mine, theirs = await asyncio.gather(
            a.claim(["telegram"], 1.0, limit=25), b.claim(["telegram"], 1.0, limit=25)
        )
        ids = [i.id for i in mine] + [i.id for i in theirs]
        assert len(ids) == len(set(ids)) == 40  # each claimed once, by one of them


async def test_a_claim_records_the_sends_waiting_and_claims_their_lanes_next(
    pg_url: str,
) -> None:
    """A send recorded while a claim is made goes out in the claim's statement: the item is
    sent, and its lane's next item is the head the same claim takes."""
    async with await PostgresStore.open(pg_url) as store:
        a1 = await store.enqueue(delivery("a1", "A"))
        a2 = await store.enqueue(delivery("a2", "A"))
        [head] = await store.claim(["telegram"], 1.0)
        assert head.id == a1
        recording = asyncio.create_task(store.mark_sent(a1, 2.0, maybe_doubled=True))
        await asyncio.sleep(0)  # waiting for its write (SENT_GATHER)
        [nxt] = await store.claim(["telegram"], 2.0, skip=[a1])
        assert nxt.id == a2  # a1 was recorded sent in the claim's statement
        await asyncio.sleep(0)
        assert recording.done()  # by the claim, not by a write of its own
        sent = await store.outbox_item(a1)
        assert sent is not None
        assert (sent.status, sent.sent_at, sent.maybe_doubled) == ("sent", 2.0, True)
        assert sent.inflight_at is None


async def test_a_claim_reads_the_topic_its_send_asks_for_next(pg_url: str) -> None:
    """A delivery to a ticket's topic is claimed with the topic as it is (its send's thread_of
    asks no more); a topic forgotten or moved since is read again."""
    async with await PostgresStore.open(pg_url) as store:
        t = await store.create_ticket(
            Ticket(user_key="telegram:1", platform="telegram", chat_id="1")
        )
        await store.set_thread(t.id, "telegram", "-100", "77")
        page = OutboxItem("telegram", "-100", {"text": "p"}, "p1", ticket_id=t.id, to_ticket=True)
        await store.enqueue(page)
        [claimed] = await store.claim(["telegram"], 1.0)
        with psycopg.connect(pg_url, autocommit=True) as db:  # behind the store's back
            db.execute("DELETE FROM ticket_threads")
        assert await store.thread_of(t.id, "telegram") == ("-100", "77")  # as claimed
        assert await store.thread_of(t.id, "telegram") is None  # read again
        await store.set_thread(t.id, "telegram", "-100", "78")
        await store.mark_retry(claimed.id, 1.0, "later")
        await store.claim(["telegram"], 2.0)
        await store.clear_thread(t.id, "telegram")  # the topic was deleted after the claim
        assert await store.thread_of(t.id, "telegram") is None


async def test_a_ticket_read_before_a_turn_is_read_again_by_its_load(pg_url: str) -> None:
    """The engine reads a moderator event's ticket to find the conversation to lock, then again
    under the lock: the turn's load reads it (after the lock), and the turn's get_ticket takes
    that copy once."""
    async with await PostgresStore.open(pg_url) as store:
        t = await store.create_ticket(
            Ticket(user_key="telegram:1", platform="telegram", chat_id="1")
        )
        before = await store.get_ticket(t.id)
        assert before is not None and before.summary == ""
        with psycopg.connect(pg_url, autocommit=True) as db:  # another process, before the lock
            db.execute("UPDATE tickets SET summary = 'claimed', version = version + 1")
        async with PostgresLocks(store).hold("telegram:1"):
            await store.load_turn("telegram:1", True, ("telegram", "e1"))
            with psycopg.connect(pg_url, autocommit=True) as db:
                db.execute("UPDATE tickets SET summary = 'after the load'")
            read = await store.get_ticket(t.id)
            assert read is not None and (read.summary, read.version) == ("claimed", 1)
            again = await store.get_ticket(t.id)
            assert again is not None and again.summary == "after the load"  # asked again: read
