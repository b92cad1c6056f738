"""One contract for every Store: each test runs against every implementation (SqliteStore and
PostgresStore, on a real server: see tests/helpers/pg.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.state import Conversation, Step
from bot.storage import open_store
from bot.storage.base import Store
from bot.storage.portable import TABLES
from bot.storage.postgres import PostgresStore
from bot.storage.records import (
    Author,
    Loaded,
    Miss,
    MissKind,
    OutboxItem,
    OutboxStatus,
    StoredFile,
    TaughtExample,
    Ticket,
    TicketMessage,
    TicketStatus,
    UserRecord,
)
from bot.storage.sqlite import SqliteStore, rows
from bot.storage.writes import AlreadyHandled, Conflict, Feedback, TurnWrites
from bot.types import ChatKind

NASTY = "'; DROP TABLE tickets; --"
sqlite_only = pytest.mark.parametrize("store", ["sqlite"], indirect=True)


def ticket(user: str = "telegram:1", **fields: Any) -> Ticket:
    """A ticket for `user` with defaults a test can override."""
    values: dict[str, Any] = {"platform": "telegram", "chat_id": user.rpartition(":")[2]}
    values.update(fields)
    return Ticket(user_key=user, **values)


def message(ticket_id: int, text: str, **fields: Any) -> TicketMessage:
    """A user's message in a ticket, with defaults a test can override."""
    values: dict[str, Any] = {
        "author": Author.USER,
        "author_id": "telegram:1",
        "author_name": "Li",
    }
    values.update(fields)
    return TicketMessage(ticket_id=ticket_id, text=text, **values)


def delivery(key: str, chat_id: str = "1", **fields: Any) -> OutboxItem:
    """A pending delivery to a Telegram chat, with defaults a test can override."""
    values: dict[str, Any] = {"platform": "telegram", "payload": {"text": key}}
    values.update(fields)
    return OutboxItem(chat_id=chat_id, key=key, **values)


def png(sha: str) -> StoredFile:
    """A stored screenshot record."""
    return StoredFile(sha, "image/png", 10, 1, 1, f"files/{sha}.png", created_at=1.0)


# inbound events, users, conversations


async def test_an_event_is_seen_once(store: Store) -> None:
    assert await store.mark_seen("telegram", "42", 1.0)
    assert not await store.mark_seen("telegram", "42", 2.0)
    assert await store.mark_seen("discord", "42", 3.0)


async def test_users_upsert_and_keep_their_first_created_at(store: Store) -> None:
    assert await store.get_user("telegram:1") is None
    await store.upsert_user(
        UserRecord("telegram:1", "telegram", "1", "李雷", "zh-CN", created_at=5)
    )
    await store.upsert_user(
        UserRecord("telegram:1", "telegram", "1", "Li Lei", "en", True, True, created_at=9)
    )
    assert await store.get_user("telegram:1") == UserRecord(
        "telegram:1", "telegram", "1", "Li Lei", "en", False, False, created_at=5
    )


async def test_banned_and_blocked_are_set_only_on_their_own(store: Store) -> None:
    """A user's own turn saves their name and language; a moderator's block and a failed
    delivery set their flags, and neither write undoes the other."""
    await store.upsert_user(UserRecord("telegram:1", "telegram", "1", "Li", "zh-CN"))
    await store.set_banned("telegram:1", True)
    await store.set_blocked_bot("telegram:1", True)
    await store.upsert_user(UserRecord("telegram:1", "telegram", "1", "Li Lei", "en"))
    user = await store.get_user("telegram:1")
    assert user is not None
    assert (user.display_name, user.banned, user.blocked_bot) == ("Li Lei", True, True)
    await store.set_banned("telegram:1", False)
    await store.set_blocked_bot("telegram:1", False)
    user = await store.get_user("telegram:1")
    assert user is not None and (user.banned, user.blocked_bot) == (False, False)


async def test_a_conversation_round_trips_with_unicode_and_nested_data(store: Store) -> None:
    data = {"form": {"id": "appeal", "answers": {"why": '误判 ✅ "引号"\n第二行'}}, "n": [1, 2.5]}
    conv = Conversation("telegram:1", Step.FORM, data, "zh-CN", 3, 10.0)
    assert await store.load_conversation("telegram:1") is None
    await store.save_conversation(conv)
    assert await store.load_conversation("telegram:1") == conv
    await store.save_conversation(Conversation("telegram:1", Step.MENU, {}, "en", 4, 11.0))
    assert await store.load_conversation("telegram:1") == Conversation(
        "telegram:1", Step.MENU, {}, "en", 4, 11.0
    )


async def test_callers_cannot_change_stored_records_by_accident(store: Store) -> None:
    conv = Conversation("telegram:1", Step.MENU, {"path": ["a"]})
    await store.save_conversation(conv)
    conv.data["path"].append("b")
    loaded = await store.load_conversation("telegram:1")
    assert loaded is not None
    loaded.data["path"].append("c")
    assert (await store.load_conversation("telegram:1")) == Conversation(
        "telegram:1", Step.MENU, {"path": ["a"]}
    )
    made = await store.create_ticket(ticket(images=["s1"]))
    made.images.append("s2")
    assert (await store.get_ticket(made.id)) == ticket(images=["s1"], id=made.id)


async def test_load_turn_reads_what_the_turn_needs(store: Store) -> None:
    assert await store.load_turn("telegram:1") == Loaded(None, None, None)
    user = UserRecord("telegram:1", "telegram", "1", "李雷", "zh-CN", created_at=5)
    conv = Conversation("telegram:1", Step.FORM, {"form": {"id": "appeal"}}, "zh-CN", 2, 3.0)
    await store.upsert_user(user)
    await store.save_conversation(conv)
    await store.create_ticket(ticket(status=TicketStatus.CLOSED))
    claimed = await store.create_ticket(ticket(status=TicketStatus.CLAIMED))
    assert await store.load_turn("telegram:1") == Loaded(user, conv, claimed)
    assert await store.load_turn("telegram:1", conversation=False) == Loaded(user, None, claimed)


async def test_what_load_turn_returns_is_the_callers_own(store: Store) -> None:
    await store.save_conversation(Conversation("telegram:1", Step.MENU, {"path": ["a"]}))
    loaded = await store.load_turn("telegram:1")
    assert loaded.conversation is not None
    loaded.conversation.data["path"].append("b")
    assert await store.load_conversation("telegram:1") == Conversation(
        "telegram:1", Step.MENU, {"path": ["a"]}
    )


def _writes(event: str = "e1", **fields: Any) -> TurnWrites:
    return TurnWrites(seen=("telegram", event), now=10.0, **fields)


async def test_a_turn_commits_everything_it_decided_at_once(store: Store) -> None:
    user = UserRecord("telegram:1", "telegram", "1", "李雷", "zh-CN", created_at=5)
    conv = Conversation("telegram:1", Step.MENU, {"category": "account"}, "zh-CN")
    new = ticket(id=await store.next_ticket_id(), summary="封号了")
    writes = _writes(user=user, conversation=conv, new_tickets=[new])
    writes.messages.append(message(new.id, "截图如下", attachments=["s1"]))
    writes.outbox.append(delivery("e1:0"))
    writes.feedback.append(Feedback("account-banned", "封号", False))
    writes.misses.append(Miss("登不上"))
    writes.snippets.append(("hi", "您好"))
    committed = await store.commit_turn(writes)
    assert committed.orphan_files == []
    assert await store.is_seen("telegram", "e1")
    assert await store.get_user("telegram:1") == user
    assert await store.load_conversation("telegram:1") == Conversation(
        "telegram:1", Step.MENU, {"category": "account"}, "zh-CN", 1, 10.0
    )
    assert await store.get_ticket(new.id) == new
    assert [m.text for m in await store.messages(new.id)] == ["截图如下"]
    assert [i.key for i in await store.outbox_items()] == ["e1:0"]
    assert await store.article_stats() == [("account-banned", 0, 1)]
    assert await store.top_misses() == [("登不上", 1)]
    assert await store.get_snippet("hi") == "您好"


async def _moderator_rows(store: Store) -> list[tuple[str, str, float]]:
    """The moderators table as `kefu db copy` reads it (the turn's write has no reader but
    the names: its time shows whether a turn wrote the row again)."""
    assert isinstance(store, SqliteStore | PostgresStore)
    table = next(t for t in TABLES if t.name == "moderators")
    return [(r["key"], r["name"], r["updated_at"]) for r in await store.read_rows(table, 0, 10)]


async def test_a_moderators_turn_records_their_latest_name_only_when_it_changed(
    store: Store,
) -> None:
    await store.commit_turn(_writes("e1", moderator=("telegram:5012345", "王芳")))
    again = TurnWrites(seen=("telegram", "e2"), now=20.0, moderator=("telegram:5012345", "王芳"))
    await store.commit_turn(again)
    assert await _moderator_rows(store) == [("telegram:5012345", "王芳", 10.0)]  # not rewritten
    renamed = TurnWrites(seen=("telegram", "e3"), now=30.0, moderator=("telegram:5012345", "Fang"))
    await store.commit_turn(renamed)
    await store.commit_turn(_writes("e4", moderator=("web:local:amy", "amy")))
    assert await _moderator_rows(store) == [
        ("telegram:5012345", "Fang", 30.0),
        ("web:local:amy", "amy", 10.0),
    ]
    assert await store.moderator_names(["telegram:5012345", "web:local:amy"]) == {
        "telegram:5012345": "Fang",
        "web:local:amy": "amy",
    }


async def test_a_refused_turn_records_no_moderator_name(store: Store) -> None:
    await store.commit_turn(_writes("e1"))
    with pytest.raises(AlreadyHandled):
        await store.commit_turn(_writes("e1", moderator=("telegram:5012345", "王芳")))
    assert await store.moderator_names(["telegram:5012345"]) == {}


async def test_a_redelivered_event_commits_nothing(store: Store) -> None:
    await store.commit_turn(_writes())
    again = _writes(outbox=[delivery("e1:0")], misses=[Miss("x")])
    with pytest.raises(AlreadyHandled):
        await store.commit_turn(again)
    assert await store.outbox_items() == []
    assert await store.top_misses() == []


async def test_a_conversation_saved_meanwhile_is_a_conflict(store: Store) -> None:
    """Two turns loaded the same conversation: the second to commit writes nothing."""
    first = (await store.load_turn("telegram:1")).conversation or Conversation("telegram:1")
    second = Conversation("telegram:1")
    await store.commit_turn(_writes("e1", conversation=first))
    with pytest.raises(Conflict):
        await store.commit_turn(_writes("e2", conversation=second, outbox=[delivery("e2:0")]))
    assert not await store.is_seen("telegram", "e2")  # it will be handled again
    assert [i.key for i in await store.outbox_items()] == []
    loaded = await store.load_conversation("telegram:1")
    assert loaded is not None and loaded.version == 1
    await store.commit_turn(_writes("e2", conversation=loaded))
    assert (await store.load_conversation("telegram:1")).version == 2  # type: ignore[union-attr]


async def test_a_ticket_changed_meanwhile_is_a_conflict(store: Store) -> None:
    made = await store.create_ticket(ticket())
    mine, theirs = replace(made), replace(made)
    theirs.status = TicketStatus.CLAIMED
    await store.commit_turn(_writes("e1", tickets={made.id: theirs}))
    mine.status = TicketStatus.CLOSED
    with pytest.raises(Conflict):
        await store.commit_turn(_writes("e2", tickets={made.id: mine}))
    saved = await store.get_ticket(made.id)
    assert saved is not None and (saved.status, saved.version) == (TicketStatus.CLAIMED, 1)
    with pytest.raises(Conflict):
        await store.update_ticket(mine)
    assert (await store.update_ticket(replace(saved, priority=3))).version == 2


async def test_targeted_ticket_writes_move_its_version_on(store: Store) -> None:
    made = await store.create_ticket(ticket())
    assert await store.set_user_unreachable(made.id, True)
    assert not await store.set_user_unreachable(made.id, True)  # it was so already
    await store.touch_paged(made.id, 42.0)
    saved = await store.get_ticket(made.id)
    assert saved is not None
    assert (saved.user_unreachable, saved.last_paged_at, saved.version) == (True, 42.0, 2)
    with pytest.raises(Conflict):
        await store.update_ticket(made)  # loaded before: it would undo both


async def test_ticket_numbers_are_never_handed_out_twice(store: Store) -> None:
    first = await store.next_ticket_id()
    made = await store.create_ticket(ticket())
    second = await store.next_ticket_id()
    assert first < made.id < second


async def test_a_turn_that_forgets_the_user_reports_the_orphan_files(store: Store) -> None:
    await store.add_file(png("s1"), owner="telegram:1")
    writes = _writes(forget="telegram:1")
    committed = await store.commit_turn(writes)
    assert committed.orphan_files == ["files/s1.png"]
    assert await store.get_file("s1") is None


# tickets


async def test_ticket_ids_increase_and_every_field_round_trips(store: Store) -> None:
    first = await store.create_ticket(ticket(created_at=1.0))
    second = await store.create_ticket(ticket("discord:9", created_at=2.0))
    assert 0 < first.id < second.id
    full = ticket(
        id=first.id,
        user_name="王芳",
        category="account/banned",
        form_id="appeal",
        answers=[("账号", "123"), ("原因", "误判")],
        images=["aa", "bb"],
        status=TicketStatus.CLOSED,
        priority=7,
        lang="zh-CN",
        summary="封号了",
        created_at=1.0,
        claimed_by="telegram:99",
        claimed_at=2.0,
        first_response_at=3.0,
        closed_at=4.0,
        closed_by="telegram:99",
        close_reason="solved",
        rating=5,
        user_unreachable=True,
        last_paged_at=1.5,
    )
    saved = await store.update_ticket(full)
    assert saved == replace(full, version=1)
    assert await store.get_ticket(first.id) == saved
    assert await store.get_ticket(second.id + 100) is None
    with pytest.raises(KeyError):
        await store.update_ticket(ticket(id=second.id + 100))


async def test_only_an_open_or_claimed_ticket_is_the_open_one(store: Store) -> None:
    assert await store.open_ticket_for("telegram:1") is None
    closed = await store.create_ticket(ticket(status=TicketStatus.CLOSED))
    assert await store.open_ticket_for("telegram:1") is None
    assert await store.latest_ticket_for("telegram:1") == closed
    claimed = await store.create_ticket(ticket(status=TicketStatus.CLAIMED))
    await store.create_ticket(ticket("telegram:2"))
    assert await store.open_ticket_for("telegram:1") == claimed
    assert await store.latest_ticket_for("telegram:1") == claimed
    assert await store.latest_ticket_for("telegram:3") is None


async def test_list_tickets_filters_by_status_newest_first(store: Store) -> None:
    a = await store.create_ticket(ticket("telegram:1"))
    b = await store.create_ticket(ticket("telegram:2", status=TicketStatus.CLOSED))
    c = await store.create_ticket(ticket("telegram:3", status=TicketStatus.CLAIMED))
    assert [t.id for t in await store.list_tickets()] == [c.id, b.id, a.id]
    assert [t.id for t in await store.list_tickets(limit=2)] == [c.id, b.id]
    active = [TicketStatus.OPEN, TicketStatus.CLAIMED]
    assert [t.id for t in await store.list_tickets(active)] == [c.id, a.id]


async def test_the_queue_is_priority_then_age_then_id(store: Store) -> None:
    low_old = await store.create_ticket(ticket("telegram:1", priority=1, created_at=1.0))
    high_new = await store.create_ticket(ticket("telegram:2", priority=5, created_at=9.0))
    await store.create_ticket(ticket("telegram:3", priority=9, status=TicketStatus.CLOSED))
    high_old = await store.create_ticket(
        ticket("telegram:4", priority=5, created_at=2.0, status=TicketStatus.CLAIMED)
    )
    tie = await store.create_ticket(ticket("telegram:5", priority=5, created_at=2.0))
    queue = [t.id for t in await store.queue()]
    assert queue == [high_old.id, tie.id, high_new.id, low_old.id]


async def test_messages_keep_their_attachments_in_order(store: Store) -> None:
    t = await store.create_ticket(ticket())
    other = await store.create_ticket(ticket("telegram:2"))
    first = await store.add_message(message(t.id, "截图如下", attachments=["c", "a", "b"]))
    await store.add_message(message(other.id, "elsewhere"))
    second = await store.add_message(
        message(t.id, "我们看看", author=Author.MODERATOR, author_id="telegram:99")
    )
    assert 0 < first.id < second.id
    history = await store.messages(t.id)
    assert history == [first, second]
    assert history[0].attachments == ["c", "a", "b"]
    assert await store.messages(other.id + 100) == []


async def test_messages_after_is_every_ticket_oldest_first(store: Store) -> None:
    t = await store.create_ticket(ticket())
    other = await store.create_ticket(ticket("telegram:2"))
    made = [
        await store.add_message(message(t.id, "one", attachments=["x"])),
        await store.add_message(message(other.id, "two")),
        await store.add_message(message(t.id, "three", attachments=["y", "z"])),
    ]
    assert await store.messages_after(0) == made
    assert await store.messages_after(made[0].id) == made[1:]
    assert await store.messages_after(made[0].id, limit=1) == made[1:2]
    assert await store.messages_after(made[-1].id) == []


async def test_recent_first_responses_are_the_latest_answered_first(store: Store) -> None:
    await store.create_ticket(ticket(created_at=0.0, first_response_at=60.0))
    await store.create_ticket(ticket(created_at=100.0, first_response_at=400.0))
    await store.create_ticket(ticket(created_at=200.0))
    await store.create_ticket(ticket(created_at=300.0, first_response_at=330.0))
    assert await store.recent_first_responses() == [300.0, 30.0, 60.0]
    assert await store.recent_first_responses(limit=2) == [300.0, 30.0]


async def test_active_moderators_counts_writers_claimers_and_closers(store: Store) -> None:
    t = await store.create_ticket(
        ticket(claimed_by="mod:a", claimed_at=50.0, closed_by="mod:b", closed_at=60.0)
    )
    await store.create_ticket(ticket(claimed_by="mod:old", claimed_at=5.0))
    await store.create_ticket(ticket(closed_by="user:telegram:1", closed_at=70.0))
    await store.add_message(message(t.id, "hi", author=Author.MODERATOR, author_id="mod:a"))
    await store.add_message(message(t.id, "n", author=Author.NOTE, author_id="mod:c"))
    await store.add_message(message(t.id, "old", author=Author.MODERATOR, author_id="mod:d"))
    await store.add_message(message(t.id, "me", created_at=80.0))  # a user, not a moderator
    assert await store.active_moderators(0.0) == 5
    assert await store.active_moderators(10.0) == 2  # mod:a claimed, mod:b closed
    assert await store.active_moderators(100.0) == 0


async def test_threads_round_trip_look_up_and_clear(store: Store) -> None:
    t = await store.create_ticket(ticket())
    assert await store.thread_of(t.id, "telegram") is None
    await store.set_thread(t.id, "telegram", "-100", "77")
    await store.set_thread(t.id, "discord", "555", "888")
    assert await store.thread_of(t.id, "telegram") == ("-100", "77")
    assert await store.ticket_by_thread("telegram", "-100", "77") == t.id
    assert await store.ticket_by_thread("discord", "-100", "77") is None
    await store.set_thread(t.id, "telegram", "-100", "78")  # the topic was recreated
    assert await store.ticket_by_thread("telegram", "-100", "77") is None
    await store.clear_thread(t.id, "telegram")
    assert await store.thread_of(t.id, "telegram") is None
    assert await store.thread_of(t.id, "discord") == ("555", "888")


async def test_files_are_idempotent_by_hash(store: Store) -> None:
    assert await store.get_file("s1") is None
    await store.add_file(png("s1"))
    await store.add_file(StoredFile("s1", "image/jpeg", 99, 9, 9, "other", 2.0))
    assert await store.get_file("s1") == png("s1")


# outbox


async def test_enqueue_is_idempotent_by_key(store: Store) -> None:
    first = await store.enqueue(delivery("k1", payload={"text": "你好", "buttons": [["a"]]}))
    again = await store.enqueue(delivery("k1", chat_id="2", payload={"text": "changed"}))
    other = await store.enqueue(delivery("k2"))
    assert first == again != other
    items = await store.outbox_items()
    assert [(i.id, i.chat_id, i.payload) for i in items] == [
        (first, "1", {"text": "你好", "buttons": [["a"]]}),
        (other, "1", {"text": "k2"}),
    ]


async def test_due_gives_only_each_destinations_oldest(store: Store) -> None:
    a1 = await store.enqueue(delivery("a1", chat_id="A"))
    await store.enqueue(delivery("a2", chat_id="A"))
    b1 = await store.enqueue(delivery("b1", chat_id="B"))
    t1 = await store.enqueue(delivery("t1", chat_id="A", thread="7"))
    d1 = await store.enqueue(delivery("d1", platform="discord", chat_id="A"))
    later = await store.enqueue(delivery("c1", chat_id="C", next_at=100.0))
    due = await store.due(["telegram"], now=10.0)
    assert [i.id for i in due] == [a1, b1, t1]
    assert [i.id for i in await store.due(["telegram"], now=10.0, limit=2)] == [a1, b1]
    assert [i.id for i in await store.due(["telegram", "discord"], 100.0)] == [
        a1,
        b1,
        t1,
        d1,
        later,
    ]
    assert await store.due([], now=10.0) == []


async def test_a_failing_head_blocks_only_its_own_destination(store: Store) -> None:
    a1 = await store.enqueue(delivery("a1", chat_id="A"))
    a2 = await store.enqueue(delivery("a2", chat_id="A"))
    b1 = await store.enqueue(delivery("b1", chat_id="B"))
    await store.mark_retry(a1, next_at=50.0, error="429")
    assert [i.id for i in await store.due(["telegram"], now=10.0)] == [b1]
    [head] = [i for i in await store.outbox_items() if i.id == a1]
    assert (head.attempts, head.next_at, head.last_error) == (1, 50.0, "429")
    await store.mark_sent(b1, now=11.0)
    assert [i.id for i in await store.due(["telegram"], now=50.0)] == [a1]
    await store.mark_sent(a1, now=51.0, maybe_doubled=True)
    assert [i.id for i in await store.due(["telegram"], now=51.0)] == [a2]
    sent = await store.outbox_items([OutboxStatus.SENT])
    assert [(i.id, i.sent_at, i.maybe_doubled) for i in sent] == [
        (a1, 51.0, True),
        (b1, 11.0, False),
    ]


async def test_dead_letters_step_aside_and_can_be_retried(store: Store) -> None:
    a1 = await store.enqueue(delivery("a1", chat_id="A"))
    a2 = await store.enqueue(delivery("a2", chat_id="A"))
    await store.mark_dead(a1, "403 blocked")
    assert [i.id for i in await store.due(["telegram"], now=1.0)] == [a2]
    [dead] = await store.outbox_items([OutboxStatus.DEAD])
    assert (dead.id, dead.status, dead.last_error) == (a1, OutboxStatus.DEAD, "403 blocked")
    assert not await store.retry_dead(a2, now=5.0)  # not dead
    assert not await store.retry_dead(a2 + 100, now=5.0)  # not there
    assert await store.retry_dead(a1, now=5.0)
    assert [i.id for i in await store.due(["telegram"], now=5.0)] == [a1]
    assert await store.outbox_items([OutboxStatus.DEAD]) == []


async def test_each_tickets_topic_is_its_own_destination(store: Store) -> None:
    mods = {"chat_id": "-100", "to_ticket": True, "chat_kind": ChatKind.MODERATION}
    one = await store.enqueue(delivery("p1", ticket_id=1, **mods))
    await store.enqueue(delivery("p1b", ticket_id=1, **mods))
    two = await store.enqueue(delivery("p2", ticket_id=2, card=True, **mods))
    await store.mark_retry(one, next_at=99.0, error="topic gone")
    [item] = await store.due(["telegram"], now=1.0)
    assert (item.id, item.to_ticket, item.ticket_id, item.card) == (two, True, 2, True)
    assert item.chat_kind is ChatKind.MODERATION


async def _item(store: Store, item_id: int) -> OutboxItem:
    [found] = [i for i in await store.outbox_items() if i.id == item_id]
    return found


async def test_an_item_left_in_flight_comes_back_maybe_doubled(store: Store) -> None:
    """A process died between marking a batch in flight and recording its outcome."""
    a1 = await store.enqueue(delivery("a1", chat_id="A"))
    b1 = await store.enqueue(delivery("b1", chat_id="B"))
    await store.mark_inflight([a1], now=5.0)
    assert (await _item(store, a1)).inflight_at == 5.0
    due = await store.due(["telegram"], now=6.0)
    assert [(i.id, i.maybe_doubled) for i in due] == [(a1, True), (b1, False)]
    await store.mark_sent(a1, now=7.0, maybe_doubled=due[0].maybe_doubled)
    sent = await _item(store, a1)
    assert (sent.status, sent.maybe_doubled, sent.inflight_at) == (OutboxStatus.SENT, True, None)


async def test_a_retry_clears_the_in_flight_mark(store: Store) -> None:
    """The outcome of the try is known: the next try is not counted as a possible double."""
    a1 = await store.enqueue(delivery("a1"))
    await store.mark_inflight([a1], now=5.0)
    await store.mark_retry(a1, next_at=6.0, error="502")
    [item] = await store.due(["telegram"], now=6.0)
    assert (item.id, item.maybe_doubled, item.inflight_at, item.attempts) == (a1, False, None, 1)
    await store.mark_inflight([a1], now=6.0)  # a retry that may have acted stays counted
    await store.mark_retry(a1, next_at=7.0, error="timed out", maybe_delivered=True)
    [item] = await store.due(["telegram"], now=7.0)
    assert (item.maybe_doubled, item.inflight_at) == (True, None)


async def test_mark_sent_clears_the_in_flight_mark_and_flags_only_when_told(store: Store) -> None:
    a1 = await store.enqueue(delivery("a1", chat_id="A"))
    b1 = await store.enqueue(delivery("b1", chat_id="B"))
    await store.mark_inflight([a1, b1], now=5.0)
    await store.mark_sent(a1, now=6.0)
    await store.mark_sent(b1, now=6.0, maybe_doubled=True)
    sent = await store.outbox_items([OutboxStatus.SENT])
    assert [(i.id, i.maybe_doubled, i.inflight_at) for i in sent] == [
        (a1, False, None),
        (b1, True, None),
    ]
    assert await store.due(["telegram"], now=7.0) == []


async def test_mark_inflight_marks_only_the_pending_items_it_is_given(store: Store) -> None:
    a1 = await store.enqueue(delivery("a1", chat_id="A"))
    b1 = await store.enqueue(delivery("b1", chat_id="B"))
    c1 = await store.enqueue(delivery("c1", chat_id="C"))
    await store.mark_dead(c1, "403 blocked")
    await store.mark_inflight([], now=4.0)
    await store.mark_inflight([a1, c1, c1 + 100], now=5.0)
    items = await store.outbox_items()
    assert [(i.id, i.inflight_at) for i in items] == [(a1, 5.0), (b1, None), (c1, None)]
    await store.mark_dead(a1, "400 bad request")
    assert (await _item(store, a1)).inflight_at is None
    assert await store.retry_dead(a1, now=6.0)
    assert [(i.id, i.maybe_doubled) for i in await store.due(["telegram"], 6.0)] == [
        (a1, False),
        (b1, False),
    ]


# snippets, feedback, misses


async def test_snippets_are_set_replaced_and_listed_by_name(store: Store) -> None:
    assert await store.get_snippet("hi") is None
    await store.set_snippet("hi", "您好")
    await store.set_snippet("bye", "再见")
    await store.set_snippet("hi", "你好!")
    assert await store.get_snippet("hi") == "你好!"
    assert await store.list_snippets() == [("bye", "再见"), ("hi", "你好!")]


# the web desk's accounts and session key


async def test_accounts_are_set_replaced_listed_and_removed(store: Store) -> None:
    assert await store.account_hash("amy") is None
    assert await store.account_names() == []
    assert await store.set_account("amy", "$argon2id$one", 1.0)
    assert await store.set_account("Bob", "$argon2id$two", 1.0)
    assert await store.set_account("amy", "$argon2id$three", 2.0)  # a new password
    assert not await store.set_account("amy", "$argon2id$four", 3.0, replace=False)
    assert await store.set_account(NASTY, NASTY, 3.0, replace=False)
    assert await store.account_hash("amy") == "$argon2id$three"
    assert await store.account_hash(NASTY) == NASTY
    assert await store.account_names() == sorted(["Bob", "amy", NASTY], key=str.encode)
    assert await store.remove_account("amy")
    assert not await store.remove_account("amy")
    assert await store.account_hash("amy") is None
    assert "amy" not in await store.account_names()


async def test_the_session_key_is_stored_once_and_kept(store: Store) -> None:
    assert await store.session_key("first", 1.0) == "first"
    assert await store.session_key("second", 2.0) == "first"


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_two_connections_share_accounts_and_one_session_key(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Two processes (on two hosts, for PostgreSQL) see the same accounts, and when they
    start together they agree on one session key."""

    async def connect() -> Store:
        if kind == "postgres":
            return await PostgresStore.open(request.getfixturevalue("pg_url"))
        return await open_store(tmp_path / "kefu.sqlite3")

    a, b = await connect(), await connect()
    try:
        keys = await asyncio.gather(
            *(s.session_key(f"key-{n}", 1.0) for n, s in enumerate([a, b] * 4))
        )
        assert len(set(keys)) == 1
        await a.set_account("amy", "$argon2id$one", 1.0)
        assert await b.account_hash("amy") == "$argon2id$one"
        assert await b.remove_account("amy")
        assert await a.account_names() == []
    finally:
        await a.close()
        await b.close()


async def test_article_stats_put_the_worst_solve_rate_first(store: Store) -> None:
    for article, solved in [("good", 1), ("good", 1), ("bad", 0), ("bad", 0), ("bad", 1)]:
        await store.add_feedback(article, "q", bool(solved), 1.0)
    for article, solved in [("half", 1), ("half", 0), ("worst", 0), ("worst", 0), ("rare", 0)]:
        await store.add_feedback(article, "q", bool(solved), 1.0)
    assert await store.article_stats() == [
        ("worst", 0, 2),  # as bad as "rare", but more people hit it
        ("rare", 0, 1),
        ("bad", 1, 2),
        ("half", 1, 1),
        ("good", 2, 0),
    ]
    assert len(await store.article_stats(limit=2)) == 2


async def test_top_misses_group_case_and_spacing(store: Store) -> None:
    for query in ["封号", " 封号 ", "Refund", "refund", "REFUND  ", "other"]:
        await store.add_search_miss(Miss(query, created_at=1.0))
    assert await store.top_misses() == [("refund", 3), ("封号", 2), ("other", 1)]
    assert await store.top_misses(limit=1) == [("refund", 3)]


# privacy


async def _user_with_history(store: Store) -> tuple[Ticket, TicketMessage, TicketMessage]:
    await store.upsert_user(UserRecord("telegram:1", "telegram", "1", "李雷", "zh-CN"))
    await store.save_conversation(Conversation("telegram:1", Step.MENU, {"a": 1}))
    for sha in ("form", "mine", "shared", "mods"):
        await store.add_file(png(sha))
    made = await store.create_ticket(
        ticket(
            user_name="李雷",
            answers=[("账号", "123")],
            images=["form", "shared"],
            summary="封号",
            claimed_by="mod:a",
            claimed_at=5.0,
        )
    )
    said = await store.add_message(message(made.id, "我的手机号 138", attachments=["mine"]))
    reply = await store.add_message(
        message(made.id, "收到", author=Author.MODERATOR, author_id="mod:a", attachments=["mods"])
    )
    await store.create_ticket(ticket("telegram:2", images=["shared"]))
    await store.enqueue(
        delivery(
            "relay",
            chat_id="-100",
            ticket_id=made.id,
            chat_kind=ChatKind.MODERATION,
            to_ticket=True,
        )
    )
    await store.enqueue(delivery("menu", chat_id="1"))
    await store.enqueue(delivery("pending", chat_id="1"))
    for key in ("relay", "menu"):
        [item] = [i for i in await store.outbox_items() if i.key == key]
        await store.mark_sent(item.id, now=6.0)
    return made, said, reply


async def test_forget_user_removes_personal_data_and_returns_orphans(store: Store) -> None:
    made, said, reply = await _user_with_history(store)
    assert await store.forget_user("telegram:1") == ["files/form.png", "files/mine.png"]
    assert await store.get_user("telegram:1") is None
    assert await store.load_conversation("telegram:1") is None
    kept = await store.get_ticket(made.id)
    assert kept == ticket(id=made.id, claimed_by="mod:a", claimed_at=5.0)
    assert await store.messages(made.id) == [
        TicketMessage(made.id, Author.USER, "telegram:1", "", "", [], said.created_at, said.id),
        reply,
    ]
    assert await store.get_file("form") is None
    assert await store.get_file("mine") is None
    assert await store.get_file("shared") == png("shared")  # another user's ticket uses it
    assert await store.get_file("mods") == png("mods")
    payloads = {i.key: i.payload for i in await store.outbox_items()}
    assert payloads == {"relay": {}, "menu": {}, "pending": {"text": "pending"}}
    assert await store.forget_user("telegram:1") == []


# transactions, hostile text, persistence


async def test_a_transaction_that_raises_rolls_back(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction():
            made = await store.create_ticket(ticket())
            async with store.transaction():  # nested: joins the outer one
                await store.mark_seen("telegram", "1", 1.0)
                await store.set_snippet("hi", "held back until the next statement")
            raise RuntimeError("boom")
    assert await store.get_ticket(made.id) is None
    assert await store.get_snippet("hi") is None
    assert await store.mark_seen("telegram", "1", 2.0)


async def test_a_turn_whose_commit_fails_leaves_its_event_unseen(store: Store) -> None:
    made = await store.create_ticket(ticket())
    stale = replace(made, version=7)
    conv = Conversation("telegram:1", Step.MENU)
    with pytest.raises(Conflict):
        await store.commit_turn(_writes("e1", conversation=conv, tickets={made.id: stale}))
    assert await store.load_conversation("telegram:1") is None  # nothing of it was written
    assert not await store.is_seen("telegram", "e1")
    await store.commit_turn(_writes("e1", conversation=conv))  # handled again: this time
    assert await store.is_seen("telegram", "e1")


@sqlite_only
async def test_other_tasks_never_read_an_unfinished_transaction(store: Store) -> None:
    inside, done, reading = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with store.transaction():
            await store.set_snippet("hi", "not yet")
            inside.set()
            await done.wait()
            await store.set_snippet("hi", "final")

    async def reader() -> str | None:
        reading.set()  # no await before the read: once the test sees this, the read ran to
        return await store.get_snippet("hi")  # its first wait (or to its end)

    task = asyncio.create_task(writer())
    await inside.wait()
    read = asyncio.create_task(reader())
    await reading.wait()
    assert not read.done()  # it waits for the transaction instead of reading into it
    done.set()
    assert await read == "final"  # what the transaction committed, not what it held midway
    await task


@sqlite_only
async def test_a_failing_write_rolls_the_transaction_back(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with store.transaction():
            made = await store.create_ticket(ticket())
            await store.set_thread(made.id + 100, "telegram", "-100", "7")  # no such ticket
    assert await store.get_ticket(made.id) is None
    assert await store.ticket_by_thread("telegram", "-100", "7") is None


async def test_a_transaction_reads_its_own_writes(store: Store) -> None:
    async with store.transaction():
        await store.save_conversation(Conversation("telegram:1", Step.MENU, {"a": 1}))
        await store.set_snippet("hi", "你好")
        assert await store.load_conversation("telegram:1") == Conversation(
            "telegram:1", Step.MENU, {"a": 1}
        )
        assert await store.list_snippets() == [("hi", "你好")]
    async with store.transaction():
        pass  # an empty transaction is fine
    assert await store.get_snippet("hi") == "你好"


async def test_a_transaction_commits_and_other_writers_wait_for_it(store: Store) -> None:
    order: list[str] = []
    inside, trying = asyncio.Event(), asyncio.Event()

    async def other_writer() -> None:
        await inside.wait()
        trying.set()  # no await before the write: once seen, the write ran to its first wait
        await store.mark_seen("telegram", "other", 1.0)
        order.append("other")

    task = asyncio.create_task(other_writer())  # started outside: it must wait
    async with store.transaction():
        inside.set()
        await store.mark_seen("telegram", "mine", 1.0)
        await trying.wait()  # the other writer is at the store now, while this one is open
        order.append("mine")
        async with store.transaction():  # nested: joins
            await store.set_snippet("s", "nested")
    await task
    assert order == ["mine", "other"]
    assert not await store.mark_seen("telegram", "mine", 2.0)
    assert await store.get_snippet("s") == "nested"


async def test_tasks_started_inside_a_transaction_join_it(store: Store) -> None:
    async def both() -> None:
        async with store.transaction():
            await asyncio.gather(store.set_snippet("a", "1"), store.set_snippet("b", "2"))

    await asyncio.wait_for(both(), timeout=5)  # waiting for our own lock would hang
    assert await store.list_snippets() == [("a", "1"), ("b", "2")]


async def test_sql_looking_text_is_stored_verbatim(store: Store) -> None:
    await store.set_snippet(NASTY, NASTY)
    made = await store.create_ticket(ticket(NASTY, summary=NASTY, answers=[(NASTY, NASTY)]))
    await store.add_message(message(made.id, NASTY, author_name=NASTY, attachments=[NASTY]))
    await store.add_search_miss(Miss(NASTY, created_at=1.0))
    assert await store.get_snippet(NASTY) == NASTY
    assert await store.open_ticket_for(NASTY) == made
    [said] = await store.messages(made.id)
    assert (said.text, said.author_name, said.attachments) == (NASTY, NASTY, [NASTY])
    assert await store.top_misses() == [(NASTY.lower(), 1)]


async def _fill(store: Store) -> int:
    await store.mark_seen("telegram", "1", 1.0)
    await store.upsert_user(UserRecord("telegram:1", "telegram", "1", "李雷"))
    await store.save_conversation(Conversation("telegram:1", Step.REVIEW, {"x": ["封号"]}))
    made = await store.create_ticket(ticket(images=["s1"], answers=[("a", "b")]))
    await store.add_message(message(made.id, "hi", attachments=["s1"]))
    await store.set_thread(made.id, "telegram", "-100", "7")
    await store.add_file(png("s1"))
    await store.enqueue(delivery("k1"))
    await store.set_snippet("hi", "你好")
    await store.add_feedback("a1", "q", False, 1.0)
    await store.add_search_miss(Miss("q", created_at=1.0))
    return made.id


async def _snapshot(store: Store, ticket_id: int) -> tuple[object, ...]:
    return (
        await store.get_user("telegram:1"),
        await store.load_conversation("telegram:1"),
        await store.get_ticket(ticket_id),
        await store.messages(ticket_id),
        await store.thread_of(ticket_id, "telegram"),
        await store.get_file("s1"),
        await store.outbox_items(),
        await store.list_snippets(),
        await store.article_stats(),
        await store.top_misses(),
    )


async def test_reopening_the_file_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "kefu.sqlite3"
    async with await SqliteStore.open(path) as store:
        ticket_id = await _fill(store)
        before = await _snapshot(store, ticket_id)
    async with await SqliteStore.open(path) as store:
        assert await _snapshot(store, ticket_id) == before
        assert not await store.mark_seen("telegram", "1", 2.0)
        assert (await store.create_ticket(ticket())).id > ticket_id


async def test_the_schema_version_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "kefu.sqlite3"
    for _ in range(2):  # the second open finds nothing to migrate
        async with await SqliteStore.open(path):
            pass
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 1
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    assert {"tickets", "outbox", "ticket_threads", "message_attachments"} <= names


async def test_an_older_file_gains_the_in_flight_column(tmp_path: Path) -> None:
    """A database from before 0003 (schema 2) migrates and keeps its pending deliveries."""
    path = tmp_path / "kefu.sqlite3"
    older = sqlite3.connect(path, isolation_level=None)
    try:
        for version, script in rows.schema_scripts():
            if version <= 2:
                older.executescript(script)
        older.execute("PRAGMA user_version = 2")
        older.execute(
            "INSERT INTO outbox (key, platform, chat_id, lane, payload, status)"
            " VALUES ('k', 'telegram', '1', '', '{\"text\": \"hi\"}', 'pending')"
        )
    finally:
        older.close()
    async with await SqliteStore.open(path) as store:
        [item] = await store.due(["telegram"], now=1.0)
        assert (item.key, item.inflight_at, item.maybe_doubled) == ("k", None, False)
        await store.mark_inflight([item.id], now=2.0)
    async with await SqliteStore.open(path) as store:
        [item] = await store.due(["telegram"], now=3.0)
        assert (item.inflight_at, item.maybe_doubled) == (2.0, True)


async def test_two_stores_on_one_file_see_each_others_commits(tmp_path: Path) -> None:
    path = tmp_path / "kefu.sqlite3"
    async with await SqliteStore.open(path) as chat, await SqliteStore.open(path) as desk:
        made = await chat.create_ticket(ticket())
        assert await desk.queue() == [made]
        claimed = ticket(id=made.id, status=TicketStatus.CLAIMED, claimed_by="mod:a")
        async with desk.transaction():
            claimed = await desk.update_ticket(claimed)
            await desk.add_message(message(made.id, "在的", author=Author.MODERATOR))
        assert await chat.open_ticket_for("telegram:1") == claimed
        assert [m.text for m in await chat.messages_after(0)] == ["在的"]
        assert await chat.mark_seen("telegram", "5", 1.0)
        assert not await desk.mark_seen("telegram", "5", 1.0)


async def test_nested_transactions_of_two_stores_do_not_wait_for_themselves(
    tmp_path: Path,
) -> None:
    async def nested() -> None:
        a = await SqliteStore.open(tmp_path / "a.sqlite3")
        async with a, await SqliteStore.open(tmp_path / "b.sqlite3") as b:
            async with a.transaction(), b.transaction():
                await a.set_snippet("a", "1")
                await b.set_snippet("b", "2")
                async with a.transaction():
                    await a.set_snippet("a2", "3")
            assert await a.list_snippets() == [("a", "1"), ("a2", "3")]
            assert await b.list_snippets() == [("b", "2")]

    await asyncio.wait_for(nested(), timeout=5)


async def test_a_writer_in_another_process_is_waited_for_without_blocking(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kefu.sqlite3"
    async with await SqliteStore.open(path) as store:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # the desk holds the write lock
            other.execute("INSERT INTO snippets (name, text) VALUES ('desk', '1')")
            write = asyncio.create_task(store.set_snippet("chat", "2"))
            ticks = 0
            for _ in range(20):  # the event loop keeps running meanwhile
                await asyncio.sleep(0.001)
                ticks += 1
            assert ticks == 20
            assert not write.done()
            other.execute("COMMIT")
            await asyncio.wait_for(write, timeout=5)
        finally:
            other.close()
        assert await store.list_snippets() == [("chat", "2"), ("desk", "1")]


async def test_maybe_delivered_sticks_across_retries(store: Store) -> None:
    """A timeout after the platform may have acted is counted even if a later try succeeds."""
    item_id = await store.enqueue(
        OutboxItem("telegram", "42", {"text": "hi"}, "k-maybe", created_at=1.0)
    )
    await store.mark_retry(item_id, 2.0, "timed out", True)
    await store.mark_retry(item_id, 3.0, "502")
    [item] = [i for i in await store.outbox_items() if i.id == item_id]
    assert item.maybe_doubled and item.attempts == 2


async def test_expire_files_drops_attachments_of_long_closed_tickets(store: Store) -> None:
    for sha in ("old-card", "old-msg", "recent", "open", "shared"):
        await store.add_file(png(sha), owner="telegram:1")
    old = await store.create_ticket(
        ticket(images=["old-card", "shared"], status=TicketStatus.CLOSED, closed_at=10.0)
    )
    await store.add_message(message(old.id, "see", attachments=["old-msg"], created_at=5.0))
    recent = await store.create_ticket(
        ticket("telegram:2", images=["recent"], status=TicketStatus.CLOSED, closed_at=500.0)
    )
    still_open = await store.create_ticket(ticket("telegram:3", images=["open", "shared"]))
    paths = await store.expire_files(closed_before=100.0)
    assert paths == ["files/old-card.png", "files/old-msg.png"]
    assert (await store.get_ticket(old.id)).images == []  # type: ignore[union-attr]
    assert (await store.messages(old.id))[0].text == "see"  # words and times stay
    assert (await store.messages(old.id))[0].attachments == []
    assert (await store.get_ticket(recent.id)).images == ["recent"]  # type: ignore[union-attr]
    assert (await store.get_ticket(still_open.id)).images == ["open", "shared"]  # type: ignore[union-attr]
    assert await store.get_file("shared") == png("shared")  # an open ticket still shows it
    assert await store.expire_files(closed_before=100.0) == []


async def test_queue_position_counts_open_tickets_served_first(store: Store) -> None:
    low = await store.create_ticket(ticket("telegram:1", priority=0, created_at=1.0))
    high = await store.create_ticket(ticket("telegram:2", priority=3, created_at=5.0))
    later = await store.create_ticket(ticket("telegram:3", priority=0, created_at=9.0))
    taken = await store.create_ticket(
        ticket("telegram:4", priority=3, created_at=0.5, status=TicketStatus.CLAIMED)
    )
    order = [t.id for t in await store.queue() if t.status == TicketStatus.OPEN]
    assert order == [high.id, low.id, later.id]
    assert [await store.queue_position(t) for t in (high, low, later)] == [1, 2, 3]
    assert taken.id not in order


async def test_load_turn_says_whether_the_event_was_handled(store: Store) -> None:
    assert not (await store.load_turn("telegram:1", event=("telegram", "e1"))).seen
    await store.commit_turn(_writes("e1"))
    assert (await store.load_turn("telegram:1", event=("telegram", "e1"))).seen
    assert not (await store.load_turn("telegram:1", event=("discord", "e1"))).seen
    assert not (await store.load_turn("telegram:1")).seen


async def test_due_leaves_out_what_is_under_way_and_keeps_its_lane(store: Store) -> None:
    a1 = await store.enqueue(delivery("a1", chat_id="A"))
    await store.enqueue(delivery("a2", chat_id="A"))
    b1 = await store.enqueue(delivery("b1", chat_id="B"))
    assert [i.id for i in await store.due(["telegram"], 1.0, skip=[a1])] == [b1]
    assert [i.id for i in await store.due(["telegram"], 1.0, skip=[a1, b1])] == []


async def test_misses_are_kept_per_knowledge_base_until_taught(store: Store) -> None:
    await store.add_search_miss(Miss("登不上", MissKind.NOTHING, "", "kb1", 1.0))
    await store.add_search_miss(Miss("still locked", MissKind.NOT_SOLVED, "banned", "kb1", 2.0))
    await store.add_search_miss(Miss("elsewhere", MissKind.HANDOFF, "x", "kb2", 3.0))
    recent = await store.recent_misses("kb1")
    assert [(m.query, m.kind, m.article_id) for m in recent] == [
        ("still locked", MissKind.NOT_SOLVED, "banned"),
        ("登不上", MissKind.NOTHING, ""),
    ]
    assert await store.get_miss(recent[0].id) == recent[0]
    assert await store.top_misses() == [("登不上", 1)]  # only what found nothing
    taught = TaughtExample("still locked", "appeal", "kb1", "desk:mei", 4.0)
    assert await store.add_example(taught)
    assert not await store.add_example(taught)  # once
    assert [m.query for m in await store.recent_misses("kb1")] == ["登不上"]
    [saved] = await store.examples("kb1")
    assert (saved.query, saved.article_id, saved.added_by) == (
        "still locked",
        "appeal",
        "desk:mei",
    )
    assert await store.examples("kb1", after_id=saved.id) == []
    assert await store.examples("kb2") == []


async def test_backlog_and_recent_sends_say_how_busy_each_chat_is(store: Store) -> None:
    a1 = await store.enqueue(delivery("a1", chat_id="A", created_at=5.0))
    await store.enqueue(delivery("a2", chat_id="A", created_at=6.0))
    await store.enqueue(delivery("b1", chat_id="B", created_at=3.0))
    assert await store.backlog() == [("telegram", "B", 1, 3.0), ("telegram", "A", 2, 5.0)]
    assert await store.waiting("telegram", ["A", "C"]) == {"A": 2}
    await store.mark_sent(a1, now=50.0)
    assert await store.recent_sends("telegram", ["A", "B", "C"], since=40.0) == {"A": 2, "B": 1}
    assert await store.recent_sends("telegram", ["A"], since=60.0) == {"A": 1}  # a2 waits


async def test_claim_marks_each_lanes_head_in_flight(store: Store) -> None:
    a1 = await store.enqueue(delivery("a1", chat_id="A"))
    await store.enqueue(delivery("a2", chat_id="A"))
    b1 = await store.enqueue(delivery("b1", chat_id="B"))
    claimed = await store.claim(["telegram"], 5.0)
    assert [(i.id, i.inflight_at, i.maybe_doubled) for i in claimed] == [
        (a1, 5.0, False),
        (b1, 5.0, False),
    ]
    assert await store.claim(["telegram"], 6.0, skip=[a1, b1]) == []  # under way: lanes held
    again = await store.claim(["telegram"], 7.0)  # claimed, never finished: maybe doubled
    assert [(i.id, i.maybe_doubled) for i in again] == [(a1, True), (b1, True)]


async def test_pruning_the_log_keeps_what_waits_and_what_is_recent(store: Store) -> None:
    old = await store.enqueue(delivery("old", chat_id="A"))
    new = await store.enqueue(delivery("new", chat_id="B"))
    dead = await store.enqueue(delivery("dead", chat_id="C"))
    waits = await store.enqueue(delivery("waits", chat_id="D"))
    await store.mark_sent(old, now=10.0)
    await store.mark_sent(new, now=100.0)
    await store.mark_dead(dead, "403")
    assert await store.mark_seen("telegram", "e1", 10.0)
    assert await store.mark_seen("telegram", "e2", 100.0)
    assert await store.prune_log(before=50.0) == 2
    assert [i.id for i in await store.outbox_items()] == [new, dead, waits]
    assert not await store.is_seen("telegram", "e1") and await store.is_seen("telegram", "e2")
