"""Relays packed within a group's budget: what the stores hand out behind a lane's head, which
of it may join the head's message, how the outbox sends and records a packed run (on both
stores)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.deliveries import PACK_CHARS, pack_run, to_ticket_topic
from bot.outbox import Outbox
from bot.ports import Rejected, RetryLater
from bot.storage import Store
from bot.storage.postgres import PostgresStore
from bot.storage.records import OutboxItem, OutboxStatus, Ticket
from bot.types import ChatKind, ChatRef, OutFile, Reply
from tests.helpers.fakes import Clock, FakeAdapter

GROUP = ChatRef("telegram", "-100", ChatKind.MODERATION)


def relay(n: int, text: str = "", ticket: int = 1, **reply: Any) -> OutboxItem:
    """User's line `n` relayed to a ticket's topic, packable unless it carries files."""
    said = Reply(text or f"User: line {n}", **reply)
    return to_ticket_topic(GROUP, ticket, said, f"r{ticket}:{n}", 1000.0 + n, pack=True)


def notice(n: int, ticket: int = 1) -> OutboxItem:
    """A notice to the same topic that is not a relay (never packed)."""
    return to_ticket_topic(GROUP, ticket, Reply(f"notice {n}"), f"n{ticket}:{n}", 1000.0 + n)


class Reports:
    """DeliveryReports that join packed texts with a bar (the real wording is a flow's)."""

    async def card(self, ticket_id: int) -> Reply | None:
        """No card: the topics here exist already."""
        return None

    async def failed(self, item: OutboxItem, reason: str, unreachable: bool) -> None:
        """Nobody to tell."""

    async def late(self, item: OutboxItem) -> None:
        """Nobody to tell."""

    def packed(self, items: Sequence[OutboxItem]) -> Reply:
        """The items' texts, in order."""
        return Reply(" | ".join(str(i.payload["text"]) for i in items))


async def with_topic(store: Store) -> None:
    """Ticket #1, whose topic exists: deliveries go straight into it."""
    made = await store.create_ticket(Ticket("telegram:7", "telegram", "7", created_at=1.0))
    assert made.id == 1
    await store.set_thread(made.id, "telegram", GROUP.id, "t1")


async def sent_texts(adapter: FakeAdapter) -> list[str]:
    """What the platform received, in order."""
    return [out.reply.text for out in adapter.sent]


# the policy


def test_a_run_is_the_packable_due_items_right_behind_a_packable_head() -> None:
    head, a, b = relay(1), relay(2), relay(3)
    photo = relay(4, files=(OutFile("/x.png", "x.png", "image/png"),))
    assert not photo.pack  # photos go as photos
    assert pack_run(head, [a, b, photo, relay(5)], now=2000.0) == [a, b]
    assert pack_run(head, [a, notice(3), b], now=2000.0) == [a]
    assert pack_run(notice(0), [a, b], now=2000.0) == []  # a head that is not a relay
    b.next_at = 3000.0  # waiting for a retry of its own
    assert pack_run(head, [a, b], now=2000.0) == [a]


def test_a_run_stays_one_message_long() -> None:
    long = [relay(n, "x" * 400) for n in range(10)]
    run = pack_run(long[0], long[1:], now=2000.0)
    assert 0 < len(run) < 9
    assert sum(len(i.payload["text"]) + 12 for i in [long[0], *run]) <= PACK_CHARS


# the stores


async def test_queued_behind_is_the_lane_after_its_head(store: Store) -> None:
    ids = [await store.enqueue(relay(n)) for n in range(4)]
    await store.enqueue(relay(9, ticket=2))  # another topic: another lane
    head, _other = await store.claim(["telegram"], 5.0)
    behind = await store.queued_behind(head, 10)
    assert [(i.id, i.pack, i.maybe_doubled) for i in behind] == [
        (ids[1], True, False),
        (ids[2], True, False),
        (ids[3], True, False),
    ]
    assert [i.id for i in await store.queued_behind(head, 2)] == ids[1:3]


async def test_claim_run_claims_in_order_up_to_the_first_it_cannot(store: Store) -> None:
    ids = [await store.enqueue(relay(n)) for n in range(5)]
    await store.claim(["telegram"], 5.0)
    await store.mark_dead(ids[3], "gone")  # no longer pending: the run stops before it
    assert await store.claim_run([ids[4], ids[2], ids[1], ids[3]], 6.0) == ids[1:3]
    items = {i.id: i for i in await store.outbox_items()}
    assert [items[i].inflight_at for i in ids] == [5.0, 6.0, 6.0, None, None]
    assert await store.claim_run([], 6.0) == []


async def test_a_run_another_live_process_claimed_is_not_taken(
    pg_url: str,
) -> None:
    async with await PostgresStore.open(pg_url) as mine, await PostgresStore.open(pg_url) as other:
        ids = [await mine.enqueue(relay(n)) for n in range(4)]
        await mine.claim(["telegram"], 5.0)
        assert await other.claim_run([ids[2]], 5.0) == [ids[2]]  # (never happens: shows CAS)
        assert await mine.claim_run(ids[1:], 6.0) == [ids[1]]


async def test_an_item_of_a_run_left_in_flight_comes_back_maybe_doubled(store: Store) -> None:
    ids = [await store.enqueue(relay(n)) for n in range(3)]
    await store.claim(["telegram"], 5.0)
    await store.claim_run(ids[1:], 5.0)  # the process died before recording the send
    [head] = await store.claim(["telegram"], 6.0)
    assert [i.maybe_doubled for i in await store.queued_behind(head, 10)] == [True, True]


# the outbox


async def test_lines_waiting_behind_a_head_go_as_one_message(store: Store) -> None:
    await with_topic(store)
    for item in (relay(1), relay(2), relay(3), notice(4), relay(5)):
        await store.enqueue(item)
    photo = Reply("User: look", files=(OutFile("/x.png", "x.png", "image/png"),))
    await store.enqueue(to_ticket_topic(GROUP, 1, photo, "photo", 1006.0, pack=True))
    await store.enqueue(relay(7))
    adapter, clock = FakeAdapter("telegram"), Clock()
    box = Outbox(store, {"telegram": adapter}, clock, Reports())
    while await box.step():
        pass
    assert await sent_texts(adapter) == [
        "User: line 1 | User: line 2 | User: line 3",
        "notice 4",
        "User: line 5",
        "User: look",
        "User: line 7",
    ]
    assert box.sent == 7
    items = await store.outbox_items()
    assert {i.status for i in items} == {OutboxStatus.SENT}
    assert all(i.inflight_at is None for i in items)


async def test_a_packed_send_that_fails_is_retried_whole_and_in_order(store: Store) -> None:
    await with_topic(store)
    for n in range(1, 4):
        await store.enqueue(relay(n))
    adapter, clock = FakeAdapter("telegram"), Clock()
    adapter.failures.append(RetryLater("429", retry_after=30.0, maybe_delivered=True))
    box = Outbox(store, {"telegram": adapter}, clock, Reports())
    assert await box.step()
    waiting = await store.outbox_items()
    assert {(i.status, i.attempts, i.inflight_at, i.maybe_doubled) for i in waiting} == {
        (OutboxStatus.PENDING, 1, None, True)
    }
    assert len({i.next_at for i in waiting}) == 1  # due together: packed together again
    assert not await box.step()  # not before retry_after
    await store.enqueue(relay(4))
    clock.now = max(i.next_at for i in waiting)
    assert await box.step()
    assert await sent_texts(adapter) == [
        "User: line 1 | User: line 2 | User: line 3 | User: line 4"
    ]
    assert (box.sent, box.maybe_doubled) == (4, 3)


async def test_a_packed_send_that_is_refused_dead_letters_the_run_once(store: Store) -> None:
    await with_topic(store)
    for n in range(1, 3):
        await store.enqueue(relay(n))
    adapter = FakeAdapter("telegram")
    adapter.failures.append(Rejected("400 bad request"))
    box = Outbox(store, {"telegram": adapter}, Clock(), Reports())
    assert await box.step()
    assert [i.status for i in await store.outbox_items()] == [OutboxStatus.DEAD] * 2
