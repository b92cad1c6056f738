"""Platform faults on every Bot API method Kefu uses: nothing lost, nothing doubled where
Telegram refused before acting, and the one case Telegram acted before the connection dropped
delivered at least once and counted (the outbox's maybe_doubled).

Each test runs the five faults side by side, one per person (or per ticket), so the retries
overlap: 429 with retry_after, 500, 502, a connection dropped before the method acts ("drop")
and one dropped after it acted ("drop_after"). The fake counts what each chat received.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import Runtime
from bot.deliveries import reply_to_payload
from bot.storage.records import OutboxItem, OutboxStatus, Ticket
from bot.types import ChatKind, ChatRef, MessageRef, Reply
from tests.adapters.telegram.dialog import Person
from tests.helpers.builders import png
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.fakes import Clock
from tests.reliability.runtime import settled, telegram_kefu

KINDS = ("429", "500", "502", "drop", "drop_after")
REFUSED_FIRST = {"429", "500", "502", "drop"}  # Telegram did not act on these
WITHIN = 9.0  # every retry here is due within ~1.3 s (retry_after=1, or the first 5xx backoff)


@dataclass
class Case:
    """One person and the fault their delivery meets."""

    kind: str
    person: Person
    ticket: Ticket | None = None
    thread: int | None = None

    @property
    def key(self) -> str:
        """The person's conversation key."""
        return f"telegram:{self.person.user.id}"


def people(tg: FakeTelegram) -> list[Case]:
    """One Telegram user per fault kind."""
    return [
        Case(kind, Person(tg, tg.user(1001 + n, f"User{n}", "en"))) for n, kind in enumerate(KINDS)
    ]


async def with_tickets(tg: FakeTelegram, rt: Runtime, cases: list[Case]) -> None:
    """Each person asks for a person; wait for every ticket's page, then note ticket and topic."""
    for case in cases:
        await case.person.says("/human")
    for case in cases:
        await case.person.sees("Ticket #")
    await settled(rt, tg, WITHIN)
    for case in cases:
        case.ticket = await rt.store.open_ticket_for(case.key)
        assert case.ticket is not None
        found = await rt.store.thread_of(case.ticket.id, "telegram")
        assert found is not None
        case.thread = int(found[1])


async def sent_items(rt: Runtime, chat_id: int) -> list[OutboxItem]:
    """Deliveries made to one chat."""
    items = await rt.store.outbox_items([OutboxStatus.SENT], limit=10_000)
    return [i for i in items if i.chat_id == str(chat_id)]


async def no_dead_letters(rt: Runtime) -> None:
    """Every delivery went out in the end."""
    dead = await rt.store.outbox_items([OutboxStatus.DEAD])
    assert dead == [], [(i.key, i.last_error) for i in dead]


async def owed_retry(rt: Runtime, within: float = 5.0) -> OutboxItem:
    """Wait until a delivery failed once and its retry is recorded in the store; that item."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        items = await rt.store.outbox_items([OutboxStatus.PENDING])
        if failed := next((i for i in items if i.attempts), None):
            return failed
        await asyncio.sleep(0.02)
    raise AssertionError(f"no failed delivery recorded within {within} s")


async def check_copies(rt: Runtime, case: Case, copies: int, chat_id: int) -> None:
    """Exactly once where Telegram refused first; twice, and counted, where it acted.

    A dropped connection looks the same to the client whether Telegram acted or not, so both
    are counted as maybe doubled; only "drop_after" (Telegram acted) shows a second copy: the
    Bot API has no idempotency key, so the retry is delivered again (at-least-once).
    """
    doubled = any(i.maybe_doubled for i in await sent_items(rt, chat_id))
    expected = (2, True) if case.kind not in REFUSED_FIRST else (1, case.kind == "drop")
    assert (copies, doubled) == expected, f"{case.kind}: (copies, counted)"


def gaps(tg: FakeTelegram, method: str, chat_id: int) -> Iterator[float]:
    """Seconds between successive calls of `method` to one chat."""
    times = [c.at for c in tg.calls_to(method) if str(c.params.get("chat_id")) == str(chat_id)]
    return (b - a for a, b in itertools.pairwise(times))


# ------------------------------------------------------------------------------- the tests


async def test_send_message_faults(tg: FakeTelegram, tmp_path: Path) -> None:
    cases = people(tg)
    async with telegram_kefu(tg, tmp_path) as rt:
        for case in cases:
            tg.fail("sendMessage", case.kind, retry_after=1, chat_id=case.person.user.id)
        for case in cases:
            await case.person.says("/start")
        await settled(rt, tg, WITHIN)
        for case in cases:
            chat = case.person.chat_id
            await check_copies(rt, case, case.person.count("How can we help?"), chat)
        await no_dead_letters(rt)
    slow = next(c for c in cases if c.kind == "429")
    assert min(gaps(tg, "sendMessage", slow.person.chat_id)) >= 1.0  # retry_after honoured


async def test_create_forum_topic_faults(tg: FakeTelegram, tmp_path: Path) -> None:
    cases = people(tg)
    async with telegram_kefu(tg, tmp_path) as rt:
        for kind in KINDS:  # every topic is in the one moderator group: one fault per call
            tg.fail("createForumTopic", kind, retry_after=1)
        for case in cases:
            await case.person.says("/human")
        await settled(rt, tg, WITHIN)
        tickets = await rt.store.list_tickets()
        await no_dead_letters(rt)
        counted = rt.outbox.maybe_doubled
    assert len(tickets) == 5
    cards = tg.texts(tg.moderator_chat_id)
    topics = []
    for ticket in tickets:
        assert sum(f"New ticket #{ticket.id} " in t for t in cards) == 1, ticket.id
        topics.append(sum(name.startswith(f"#{ticket.id} ") for name in tg.topics().values()))
    # drop_after created a topic Telegram kept while the bot saw an error: one spare topic,
    # empty, for whichever ticket's call it struck, and the delivery counted as maybe doubled.
    assert sorted(topics) == [1, 1, 1, 1, 2]
    assert len(tg.topics()) == 6
    assert counted >= 1
    assert len(tg.calls_to("createForumTopic")) == 10


async def test_answer_callback_query_faults(tg: FakeTelegram, tmp_path: Path) -> None:
    cases = people(tg)
    async with telegram_kefu(tg, tmp_path) as rt:
        for case in cases:
            await case.person.says("/start")
            await case.person.sees("How can we help?")
        await settled(rt, tg)
        for kind in KINDS:  # the query id is all the call carries: one fault per call
            tg.fail("answerCallbackQuery", kind, retry_after=1)
        for case in cases:
            await case.person.presses("Talk to a person")
        await settled(rt, tg, WITHIN)
        tickets = await rt.store.list_tickets()
        await no_dead_letters(rt)
    assert sorted(t.user_key for t in tickets) == sorted(c.key for c in cases)
    for case in cases:  # the press was handled once whatever happened to its answer
        assert case.person.count("Ticket #") == 1, case.kind
    cards = tg.texts(tg.moderator_chat_id)
    assert sum("New ticket #" in t for t in cards) == 5
    assert len(tg.calls_to("answerCallbackQuery")) == 5  # answered first, never retried


async def test_get_file_faults_lose_no_picture(tg: FakeTelegram, tmp_path: Path) -> None:
    cases = people(tg)
    async with telegram_kefu(tg, tmp_path) as rt:
        await with_tickets(tg, rt, cases)
        for kind in KINDS:  # getFile carries only a file id: one fault per call
            tg.fail("getFile", kind, retry_after=1)
        shots = {c.kind: png(6, 6, (n * 40, 9, 9)) for n, c in enumerate(cases)}
        for case in cases:
            await case.person.sends_photo(shots[case.kind])
        await settled(rt, tg, WITHIN)
        await no_dead_letters(rt)
    photos = tg.photos(tg.moderator_chat_id)
    for case in cases:
        assert case.person.count("couldn't download") == 0, case.kind
        assert photos.count(shots[case.kind]) == 1, case.kind


@pytest.mark.parametrize("method", ["sendPhoto", "sendMediaGroup"])
async def test_photo_relay_faults(tg: FakeTelegram, tmp_path: Path, method: str) -> None:
    cases = people(tg)
    mod = tg.moderator(2001, "Mei")
    async with telegram_kefu(tg, tmp_path) as rt:
        await with_tickets(tg, rt, cases)
        for case in cases:
            tg.fail(method, case.kind, retry_after=1, chat_id=case.person.user.id)
        shots = {}
        for n, case in enumerate(cases):
            where = {"chat_id": tg.moderator_chat_id, "thread_id": case.thread}
            if method == "sendPhoto":
                shots[case.kind] = [png(5, 5, (n * 40, 1, 1))]
                tg.user_sends_photo(mod, shots[case.kind][0], "this one?", **where)
            else:
                shots[case.kind] = [png(5, 5, (n * 40, 2, k)) for k in range(2)]
                tg.user_sends_album(mod, shots[case.kind], "these?", **where)
        await settled(rt, tg, WITHIN)
        for case in cases:
            got = tg.photos(case.person.chat_id)
            copies = {got.count(shot) for shot in shots[case.kind]}
            assert len(copies) == 1, f"{case.kind}: album split unevenly: {copies}"
            await check_copies(rt, case, copies.pop(), case.person.chat_id)
        await no_dead_letters(rt)


async def test_edit_message_text_faults(tg: FakeTelegram, tmp_path: Path) -> None:
    # The dialog never edits today; the outbox and adapter support edits (Reply.edit), so an
    # edit is queued the way the core would queue one.
    cases = people(tg)
    async with telegram_kefu(tg, tmp_path) as rt:
        for case in cases:
            await case.person.says("/status")
            await case.person.sees("You have no open ticket")
        await settled(rt, tg)
        for case in cases:
            tg.fail("editMessageText", case.kind, retry_after=1, chat_id=case.person.user.id)
        targets = {}
        for case in cases:
            chat = ChatRef("telegram", str(case.person.chat_id), ChatKind.PRIVATE)
            target = case.person.inbox()[-1]
            targets[case.kind] = target
            reply = Reply(f"edited for {case.kind}", edit=MessageRef(chat, str(target.message_id)))
            await rt.store.enqueue(
                OutboxItem("telegram", chat.id, reply_to_payload(reply), f"edit-{case.kind}")
            )
        rt.outbox.wake()
        await settled(rt, tg, WITHIN)
        await no_dead_letters(rt)
        for case in cases:
            target = targets[case.kind]
            assert target.text == f"edited for {case.kind}", case.kind
            assert target.edits == 1, case.kind  # a repeated edit is "not modified": no-op
            assert case.person.count(f"edited for {case.kind}") == 1  # no fallback message
            if case.kind == "drop_after":
                assert any(i.maybe_doubled for i in await sent_items(rt, case.person.chat_id))


async def test_get_updates_faults_lose_and_double_nothing(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    person = Person(tg, tg.user(1001, "Lin", "en"))
    async with telegram_kefu(tg, tmp_path) as rt:
        await tg.wait_for(lambda: tg.polls_waiting, 5)
        tg.fail("getUpdates", "drop_after")  # Telegram answered the updates; the bot never saw
        tg.fail("getUpdates", "502")
        await person.says("/start")
        await person.sees("How can we help?")
        await person.says("/human")
        await person.sees("Ticket #1 created")
        await settled(rt, tg, WITHIN)
        tickets = await rt.store.list_tickets()
    assert person.count("How can we help?") == 1
    assert len(tickets) == 1
    assert tg.pending_updates() == []


async def test_a_burst_of_429s_on_one_chat_keeps_its_order(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    person = Person(tg, tg.user(1001, "Lin", "en"))
    mod = tg.moderator(2001, "Mei")
    async with telegram_kefu(tg, tmp_path) as rt:
        await person.says("/human")
        await person.sees("Ticket #1 created")
        await settled(rt, tg)
        found = await rt.store.thread_of(1, "telegram")
        assert found is not None
        tg.fail("sendMessage", "429", times=2, retry_after=1, chat_id=person.user.id)
        for n in range(5):
            tg.mod_says(mod, int(found[1]), f"answer {n}")
        await settled(rt, tg, WITHIN)
        await no_dead_letters(rt)
    got = [t for t in tg.texts(person.chat_id) if t.startswith("Moderator: answer")]
    assert got == [f"Moderator: answer {n}" for n in range(5)]


async def test_nothing_is_lost_while_the_bot_is_down_between_retries(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    # A 502 and then a restart before the retry: the retry is owed by the store, not memory.
    # The first process's clock stands still, so its retry (backoff >= 0.5 s) never comes due.
    person = Person(tg, tg.user(1001, "Lin", "en"))
    tg.fail("sendMessage", "502", chat_id=person.user.id)
    still = Clock(time.time())
    async with telegram_kefu(tg, tmp_path, clock=still) as rt:
        await person.says("/start")
        failed = await owed_retry(rt)
    assert (failed.attempts, failed.next_at > still.now) == (1, True), failed
    assert failed.last_error.startswith("Bad Gateway (502)"), failed.last_error
    assert person.count("How can we help?") == 0
    async with telegram_kefu(tg, tmp_path) as rt:
        await person.sees("How can we help?")
        await settled(rt, tg, WITHIN)
    assert person.count("How can we help?") == 1


async def test_timeouts_before_and_after_telegram_acted(tg: FakeTelegram, tmp_path: Path) -> None:
    # No answer until the SDK's read timeout (5 s): whether Telegram acted cannot be known, so
    # both are retried and counted as maybe doubled; only the one that acted shows twice.
    before = Person(tg, tg.user(1001, "Lin", "en"))
    after = Person(tg, tg.user(1002, "Wen", "en"))
    tg.fail("sendMessage", "timeout", chat_id=before.user.id)
    tg.fail("sendMessage", "timeout_after", chat_id=after.user.id)
    async with telegram_kefu(tg, tmp_path) as rt:
        await before.says("/start")
        await after.says("/start")
        await settled(rt, tg, 20.0)
        await no_dead_letters(rt)
        for person in (before, after):
            items = await sent_items(rt, person.chat_id)
            assert any(i.maybe_doubled for i in items), person.user.first_name
    assert before.count("How can we help?") == 1
    assert after.count("How can we help?") == 2


async def test_a_silent_chat_holds_up_nobody_else(tg: FakeTelegram, tmp_path: Path) -> None:
    # One chat's send hangs until the read timeout; another person's reply goes out meanwhile.
    stuck = Person(tg, tg.user(1001, "Lin", "en"))
    other = Person(tg, tg.user(1002, "Wen", "en"))
    tg.fail("sendMessage", "timeout", chat_id=stuck.user.id)
    async with telegram_kefu(tg, tmp_path) as rt:
        await stuck.says("/start")
        await tg.wait_for(lambda: tg.calls_to("sendMessage"), 5)
        await other.says("/start")
        await tg.wait_for(lambda: other.count("How can we help?"), 2.0)
        assert stuck.count("How can we help?") == 0  # still waiting for its timeout
        await stuck.sees("How can we help?")
        await settled(rt, tg, 20.0)
