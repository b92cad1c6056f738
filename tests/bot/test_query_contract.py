"""The store's query role (bot.storage.base.QueryStore), against every store implementation:
the same `store` fixture as the rest of the contract suite (tests/bot/conftest.py)."""

from __future__ import annotations

from dataclasses import replace

from bot.storage.base import Store
from bot.storage.records import Miss, MissKind, OutboxStatus, TicketQuery, TicketStatus
from bot.storage.writes import Feedback, TurnWrites
from tests.bot.test_store_contract import delivery, message, ticket


async def _tickets(store: Store) -> list[int]:
    a = await store.create_ticket(
        ticket(
            "telegram:11",
            user_name="李雷",
            category="account/banned",
            summary="账号被封了",
            created_at=100.0,
            answers=[("账号", "uid-778")],
        )
    )
    b = await store.create_ticket(
        ticket(
            "discord:22",
            platform="discord",
            user_name="Ann",
            category="payment",
            summary="refund 50% please",
            created_at=200.0,
        )
    )
    c = await store.create_ticket(
        ticket(
            "telegram:33",
            user_name="Bo",
            category="account",
            created_at=300.0,
            status=TicketStatus.CLOSED,
            closed_at=400.0,
        )
    )
    await store.add_message(message(b.id, "the charge appeared TWICE"))
    return [a.id, b.id, c.id]


async def test_find_by_each_criterion(store: Store) -> None:
    a, b, c = await _tickets(store)

    async def ids(**criteria: object) -> list[int]:
        return [t.id for t in await store.find_tickets(TicketQuery(**criteria))]

    assert await ids() == [c, b, a]
    assert await ids(number=b) == [b]
    assert await ids(user="李") == [a]
    assert await ids(user="22") == [b]  # the platform id alone
    assert await ids(user="discord:22") == [b]
    assert await ids(text="twice") == [b]  # the history, whatever the case
    assert await ids(text="50%") == [b]  # typed literally, not a pattern
    assert await ids(text="uid-778") == [a]  # the form answers
    assert await ids(text="被封") == [a]
    assert await ids(category="account") == [c, a]  # and below it
    assert await ids(category="account/banned") == [a]
    assert await ids(status=TicketStatus.CLOSED) == [c]
    assert await ids(since=150.0, until=300.0) == [b]
    assert await ids(category="acc") == []
    assert await ids(limit=1) == [c]


async def test_the_change_mark_moves_on_every_change(store: Store) -> None:
    marks = [await store.change_mark()]
    first = await store.create_ticket(ticket("telegram:1", created_at=1.0))
    marks.append(await store.change_mark())
    await store.add_message(message(first.id, "hi"))
    marks.append(await store.change_mark())
    await store.update_ticket(replace(first, status=TicketStatus.CLAIMED, claimed_by="m"))
    marks.append(await store.change_mark())
    await store.touch_paged(first.id, 5.0)
    marks.append(await store.change_mark())
    assert len(set(marks)) == len(marks)
    assert await store.change_mark() == marks[-1]  # nothing changed: the same mark


async def test_ticket_facts_cover_created_or_closed_in_the_period(store: Store) -> None:
    await store.create_ticket(ticket("telegram:1", created_at=50.0))  # before
    old = await store.create_ticket(
        ticket(
            "telegram:2",
            created_at=60.0,
            status=TicketStatus.CLOSED,
            closed_at=150.0,
            closed_by="user:telegram:2",
        )
    )
    new = await store.create_ticket(
        ticket(
            "discord:3",
            platform="discord",
            category="pay",
            created_at=120.0,
            first_response_at=130.0,
            claimed_by="desk:bob",
            rating=4,
            status=TicketStatus.CLOSED,
            closed_at=170.0,
            closed_by="desk:bob",
        )
    )
    other = await store.create_ticket(
        ticket(
            "telegram:4",
            created_at=140.0,
            status=TicketStatus.CLOSED,
            closed_at=199.0,
            closed_by="web:local:amy",
        )
    )
    await store.create_ticket(ticket("telegram:5", created_at=200.0))  # at the end: excluded
    facts = await store.ticket_facts(100.0, 200.0)
    assert [f.id for f in facts] == [old.id, new.id, other.id]
    assert facts[0].handler == ""  # the user closed it
    assert facts[1] == facts[1].__class__(
        new.id, "discord", "pay", TicketStatus.CLOSED, 120.0, 130.0, 170.0, "desk:bob", 4
    )
    assert facts[2].handler == "web:local:amy"


async def test_feedback_and_misses_are_counted_within_the_period(store: Store) -> None:
    await store.add_feedback("a1", "login", True, 10.0)
    await store.add_feedback("a1", "login", False, 11.0)
    await store.add_feedback("a1", "login", False, 12.0)
    await store.add_feedback("a2", "pay", True, 13.0)
    await store.add_feedback("a2", "pay", True, 99.0)  # outside
    counts = await store.feedback_counts(10.0, 50.0)
    assert [(c.article_id, c.query, c.solved, c.not_solved) for c in counts] == [
        ("a1", "login", 1, 2),
        ("a2", "pay", 1, 0),
    ]
    for when, query in ((10.0, "Dark  Mode"), (11.0, "dark mode"), (12.0, "x"), (60.0, "x")):
        await store.add_search_miss(Miss(query, created_at=when))
    await store.add_search_miss(Miss("x", MissKind.NOT_SOLVED, "a1", created_at=13.0))
    assert await store.miss_counts(0.0, 50.0, 10) == [("dark mode", 2), ("x", 1)]
    assert await store.miss_counts(0.0, 50.0, 1) == [("dark mode", 2)]


async def test_the_ops_snapshot_counts_queue_outbox_and_breaches(store: Store) -> None:
    sla = 100.0
    await store.create_ticket(ticket("telegram:1", created_at=0.0))  # waiting past the SLA
    await store.create_ticket(ticket("telegram:2", created_at=950.0))  # waiting, within it
    await store.create_ticket(
        ticket(
            "discord:3",
            platform="discord",
            created_at=0.0,
            first_response_at=50.0,
            status=TicketStatus.CLAIMED,
            claimed_by="m",
        )
    )
    await store.create_ticket(
        ticket(
            "discord:4",
            platform="discord",
            created_at=0.0,
            first_response_at=500.0,
            status=TicketStatus.CLOSED,
            closed_at=600.0,
        )  # answered late
    )
    await store.enqueue(delivery("k1", created_at=7.0))
    await store.enqueue(delivery("k2", created_at=9.0))
    dead = await store.enqueue(delivery("k3", created_at=3.0))
    await store.mark_dead(dead, "gone")
    snap = await store.ops_snapshot(1000.0, sla)
    assert (snap.queue_open, snap.queue_claimed) == (2, 1)
    assert (snap.outbox_pending, snap.oldest_pending_at, snap.dead_letters) == (2, 7.0, 1)
    assert snap.opened == {"telegram": 2, "discord": 2}
    assert snap.closed == {"telegram": 0, "discord": 1}
    assert snap.sla_breaches == 2
    assert (await store.ops_snapshot(1000.0, 0.0)).sla_breaches == 0
    assert (await store.outbox_items([OutboxStatus.DEAD]))[0].id == dead


async def test_a_turns_feedback_is_counted(store: Store) -> None:
    await store.commit_turn(
        TurnWrites(seen=("t", "e1"), feedback=[Feedback("a9", "q", True)], now=5.0)
    )
    assert [c.solved for c in await store.feedback_counts(0.0, 10.0)] == [1]


async def test_moderator_names_map_the_keys_asked_that_have_one(store: Store) -> None:
    assert await store.moderator_names([]) == {}
    await store.commit_turn(
        TurnWrites(seen=("discord", "e1"), now=1.0, moderator=("discord:8812", "Ann"))
    )
    await store.commit_turn(
        TurnWrites(seen=("desk", "e2"), now=2.0, moderator=("desk:bob", "bob"))
    )
    asked = ["discord:8812", "telegram:5012345", "discord:8812", "x'); DROP TABLE moderators;--"]
    assert await store.moderator_names(asked) == {"discord:8812": "Ann"}
    assert await store.moderator_names({"desk:bob", "discord:8812"}) == {
        "desk:bob": "bob",
        "discord:8812": "Ann",
    }
