"""Routes over the fake Bot API with Telegram's group limit enforced: the real runtime and
adapter, three moderator groups, a user who types fast, a moved ticket, rights per group.

Telegram's minute runs on a scaled clock (MINUTE real seconds): the fake answers 429 past 20
messages in any MINUTE to one group, and Kefu's own budget ([telegram] group_limit and
group_period) is scaled the same way. Nothing here is timed against the machine: each claim is
stated in scaled time and checked on the fake's own record of when each message arrived.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.routes import RouteConfig
from tests.adapters.telegram.dialog import Moderator, Person, kefu
from tests.helpers.fake_telegram import FakeTelegram, FloodControl, Limit, Sent

SCALE = 0.1  # real seconds per Telegram second
MINUTE = 60 * SCALE
ORDERS, SAFETY = -1001111, -1002222  # the commerce/ and account/ teams' groups
ROUTES = (RouteConfig("commerce/", (str(ORDERS),)), RouteConfig("account/", (str(SAFETY),)))
CARD = re.compile(r"New ticket #(\d+) from")


@pytest.fixture(autouse=True)
def teams(fake: FakeTelegram) -> None:
    """The orders and safety teams' groups, beside the default one for the rest."""
    fake.group(ORDERS, "Orders team")
    fake.group(SAFETY, "Safety team")


@asynccontextmanager
async def routed(fake: FakeTelegram, data_dir: Path) -> AsyncIterator[None]:
    """Kefu routing to the three groups, with Telegram's limits: 20 messages a (scaled)
    minute per group, 30 a second in all."""
    fake.flood = FloodControl(group=Limit(20, MINUTE), overall=Limit(30, 1.0), whole_seconds=False)
    scaled = {"rate_limit": True, "group_limit": 20, "group_period": MINUTE}
    async with kefu(fake, data_dir, routes=ROUTES, **scaled):
        yield


async def open_ticket(person: Person, category: str = "") -> tuple[int, float]:
    """/start, the category's menu (if any), then /human (and "now" when a form is offered
    first): the ticket's number, and when the user asked for it."""
    await person.says("/start")
    await person.sees("How can we help?")
    if category:
        await person.presses(category)
        await person.sees(f"{category}: pick a topic")
    asked = time.monotonic()
    await person.says("/human")

    def answer() -> str:
        return next((s.text for s in person.inbox()[person.cursor :] if s.buttons), "")

    if "The fastest way" in await fake_wait(person, answer):  # a category with a form
        asked = time.monotonic()
        await person.presses("Talk to a person now")
    created = await person.sees("created")
    found = re.search(r"#(\d+)", created.text)
    assert found is not None
    return int(found.group(1)), asked


async def fake_wait(person: Person, answer: Callable[[], str]) -> str:
    """The bot's answer to the person, once it came."""
    return str(await person.fake.wait_for(answer, 8.0))


def cards(fake: FakeTelegram) -> dict[int, Sent]:
    """Every ticket's card, wherever it went, by ticket number."""
    return {int(m.group(1)): s for s in fake.sent if (m := CARD.search(s.text)) and s.chat_id < 0}


def relayed_lines(fake: FakeTelegram, chat_id: int, thread_id: int) -> list[str]:
    """The user's lines as the topic shows them, one per line of each relay message."""
    texts = [s.text for s in fake.inbox(chat_id, thread_id) if "User: " in s.text]
    return [line.split("User: ", 1)[1] for text in texts for line in text.splitlines()]


# ten new tickets a (scaled) minute over three groups


TEAMS = (("Orders and refunds", ORDERS), ("Account", SAFETY), ("", None))


async def a_customer(fake: FakeTelegram, n: int, at: float) -> tuple[int, float, int | None]:
    """Customer n: at `at`, a ticket in a team's category, then three lines a few (scaled)
    seconds apart; (ticket, when /human was sent, the team's group)."""
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    person = Person(fake, fake.user(5000 + n, f"C{n}", "en"))
    label, group = TEAMS[n % 3]
    ticket, asked = await open_ticket(person, label)
    for k in range(3):
        await asyncio.sleep(3 * SCALE)
        await person.says(f"C{n} line {k}")
    return ticket, asked, group


async def test_three_groups_at_ten_tickets_a_minute_page_every_ticket_within_a_minute(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    async with routed(fake, tmp_path):
        start, count = time.monotonic(), 30  # three (scaled) minutes
        made = await asyncio.gather(
            *(a_customer(fake, n, start + n * MINUTE / 10) for n in range(count))
        )
        await fake.wait_for(lambda: len(cards(fake)) == count, 4 * MINUTE)
        topics = {t: s.thread_id for t, s in cards(fake).items()}

        def relayed() -> bool:
            return all(
                len(relayed_lines(fake, cards(fake)[t].chat_id, topics[t] or 0)) == 3
                for t, _, _ in made
            )

        await fake.wait_for(relayed, 4 * MINUTE)
    paged = cards(fake)
    for n, (ticket, asked, group) in enumerate(made):
        card = paged[ticket]
        assert card.chat_id == (group or fake.moderator_chat_id)  # its team's group
        assert card.at - asked <= MINUTE, (
            f"#{ticket}'s card came {(card.at - asked) / SCALE} s late"
        )
        lines = relayed_lines(fake, card.chat_id, card.thread_id or 0)
        assert lines == [f"C{n} line {k}" for k in range(3)]  # all of them, in order


# a user who types fast


async def test_thirty_lines_in_twenty_seconds_reach_the_topic_in_a_few_packed_messages(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    person = Person(fake, fake.user(1001, "Lin", "en"))
    mod = Moderator(fake, fake.moderator(2001, "Mei"))
    async with routed(fake, tmp_path):
        await open_ticket(person)
        await mod.opens(1)
        await mod.sees("New ticket #1")
        start = time.monotonic()
        for n in range(1, 31):  # one every 2/3 of a (scaled) second, on a fixed schedule
            await asyncio.sleep(max(0.0, start + (n - 1) * 20 * SCALE / 30 - time.monotonic()))
            await person.says(f"line {n:02d}")

        def arrived() -> list[str]:
            lines = relayed_lines(fake, fake.moderator_chat_id, mod.thread or 0)
            return lines if len(lines) >= 30 else []

        lines = await fake.wait_for(arrived, 2 * MINUTE)
    assert lines == [f"line {n:02d}" for n in range(1, 31)]
    relays = [s for s in mod.inbox() if "User: " in s.text]
    # The group's slots are 3 (scaled) s apart: 20 s of typing spans about 7 of them.
    assert len(relays) <= 10, [s.text for s in relays]
    packed = [s for s in relays if s.text.count("User: ") > 1]
    assert packed and all(re.match(r"\[\d\d:\d\d:\d\d\] User: ", s.text) for s in packed)


# a moved ticket


async def test_a_moved_ticket_keeps_its_history_and_the_user_sees_only_a_note(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    person = Person(fake, fake.user(1001, "Lin", "en"))
    orders = Moderator(fake, fake.moderator(2001, "Mei", chat_id=ORDERS), ORDERS)
    async with routed(fake, tmp_path):
        ticket, _ = await open_ticket(person, "Orders and refunds")
        await person.says("the parcel never came")
        await person.sees("Added to ticket")
        old = await orders.opens(ticket)
        await orders.sees("the parcel never came")
        seen_before = len(person.inbox())
        await orders.says("/move account/security")
        await orders.sees("moved to")
        safety = Moderator(fake, orders.user, SAFETY)
        await safety.opens(ticket)
        await safety.sees(f"New ticket #{ticket}")
        await safety.sees("the parcel never came")  # the history came along
        await person.sees("was passed to the team")
        await person.says("any news?")
        await safety.sees("User: any news?")
    assert old in fake.chats[ORDERS].closed_topics
    assert [s.text for s in person.inbox()[seen_before:]] == [
        f"Your ticket #{ticket} was passed to the team that handles it. Nothing for you to do: "
        "they will reply here."
    ]
    assert not any("any news?" in text for text in fake.texts(ORDERS, old))


# rights follow the group


async def test_an_admin_of_one_group_cannot_claim_a_ticket_of_another(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    person = Person(fake, fake.user(1001, "Lin", "en"))
    fake.moderator(2001, "Mei", chat_id=ORDERS)  # administers the orders group …
    mei = Moderator(fake, fake.moderator(2001, "Mei", admin=False, chat_id=SAFETY), SAFETY)
    sam = Moderator(fake, fake.moderator(2002, "Sam", chat_id=SAFETY), SAFETY)  # … not safety
    async with routed(fake, tmp_path):
        ticket, _ = await open_ticket(person, "Account")
        await mei.opens(ticket)
        await mei.presses("Claim")
        await mei.sees("Only moderators can do that.")
        fake.mod_says(mei.user, None, f"/claim {ticket}", ORDERS)  # from her own group
        await fake.wait_for(lambda: any("another team" in t for t in fake.texts(ORDERS, None)))
        await sam.opens(ticket)
        await sam.presses("Claim")
        await sam.sees(f"#{ticket} claimed by Sam")
        await person.sees("picked up")
    assert person.count("picked up") == 1
    assert not any("claimed by Mei" in text for text in fake.texts(SAFETY))
