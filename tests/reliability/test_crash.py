"""Crash: `kefu run` SIGKILLed at seeded points under a scripted load over the fake Bot API.

Users go /start → Account → Suspended or restricted → the appeal form → Submit → a ticket, then
relay a message; a moderator answers in each ticket's topic. The fake server kills the bot
process at seeded points (when the k-th send arrives, before it acts, or at the call after it)
and a new process starts at once; the script carries on. At the end every user has exactly one
ticket holding each of their answers once, every topic one card, every prompt, relay and reply
arrived, and each conversation went on to the end. A delivery Telegram made that the killed
process had not yet recorded as sent (still pending in the store at the kill) goes out again
after the restart: the Bot API has no idempotency key, so this is at-least-once; such a copy is
allowed only because the store counts it: the outbox marks each batch in flight before sending
it, and an item the next process finds still marked is flagged `maybe_doubled` when it goes out
again. So a second copy is explained exactly when its delivery is so flagged (a second topic:
the ticket's card page, whose delivery opens the topic); such copies are `doubled`, and any
other second copy is `unexplained` and fails the test. No clock decides: nothing is sorted by
when it happened relative to a kill.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.adapters.telegram.dialog import Moderator, Person
from tests.adapters.telegram.test_e2e import start_kefu, stop, write_config
from tests.helpers.fake_telegram import FakeTelegram, Sent

WAIT = 40.0  # seconds a step may take, restarts included
SENDS = {"sendmessage", "createforumtopic"}
SENDS_PER_USER = 17  # 16 messages and a topic per user in a run without kills
MENUS = ["How can we help?", "Account: pick a topic", "Suspended or restricted: pick a topic"]
ANSWERS = [  # each form question (a fragment only it contains) and the user's answer
    ("What is your Lumen ID?", "L{n:08d}"),
    ("On what day were you", "2026-01-02"),
    ("What exactly does the app say?", "Your account is restricted ({name})"),
    ("What did you do just before it", "I posted a note ({name})"),
    ("Why do you think this is a mistake?", "The photo is my own ({name})"),
]
PROMPTS = [
    *MENUS,
    "Suspension or mute appeal: 6 questions",
    *(prompt for prompt, _ in ANSWERS),
    "Please send screenshots",
    "Please check your answers",
]


class KillingTelegram(FakeTelegram):
    """The fake Bot API, which SIGKILLs the bot process at chosen points: when the k-th send
    (sendMessage or createForumTopic) arrives, before it acts ("send"), or when the next call
    of any method after it arrives ("next": often a getUpdates confirming handled updates)."""

    def __init__(self, points: list[tuple[int, str]]) -> None:
        super().__init__()
        self.plan = Counter(points)  # (k, "send" | "next") → kills
        self.sends = 0  # sends so far, from every process
        self.armed = 0  # kills due at the next call
        self.owed = 0  # kills due now (or at the next call of a live process)
        self.victim: asyncio.subprocess.Process | None = None
        self.kills = 0

    async def _api(self, request: web.Request) -> web.StreamResponse:
        self.owed, self.armed = self.owed + self.armed, 0
        if request.match_info.get("method", "").lower() in SENDS:
            self.sends += 1
            self.owed += self.plan[(self.sends, "send")]
            self.armed += self.plan[(self.sends, "next")]
        if self.owed and self.victim is not None:
            os.kill(self.victim.pid, signal.SIGKILL)  # before this call acts
            self.owed -= 1
            self.victim = None
            self.kills += 1
            if request.transport is not None:
                request.transport.close()
            self._notify()
            return web.Response()
        return await super()._api(request)


@dataclass
class Outcome:
    """What one scripted run saw."""

    kills: int = 0
    restarts: int = 0
    tickets: dict[str, int] = field(default_factory=dict)  # user key → tickets
    finished: int = 0  # conversations that reached the moderator's reply
    checked: int = 0  # deliveries that had to arrive exactly once
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)  # counted by the store (tolerated)
    unexplained: list[str] = field(default_factory=list)  # a second copy the store did not count
    maybe_doubled: int = 0  # deliveries the outbox itself flagged
    answers: dict[str, str] = field(default_factory=dict)  # user key → the ticket's answers
    extra_topics: int = 0


async def sees(person: Person, fragment: str, *, rewind: bool = False) -> Sent:
    """The next message after the cursor (or from the start) containing `fragment`."""
    if rewind:
        person.cursor = 0

    def found() -> Sent | None:
        for i, sent in enumerate(person.inbox()[person.cursor :], person.cursor):
            if fragment in sent.text:
                person.cursor = i + 1
                return sent
        return None

    try:
        return await person.fake.wait_for(found, WAIT)  # type: ignore[no-any-return]
    except AssertionError:
        rest = [s.text for s in person.inbox()[person.cursor :]]
        raise AssertionError(f"{fragment!r} never arrived; after the cursor: {rest}") from None


async def presses(person: Person, label: str) -> None:
    """Press the button `label` (waiting for it) on the latest message that has it."""
    await person.fake.wait_for(
        lambda: any(label == t for s in person.inbox() for t, _ in s.buttons), WAIT
    )
    person.fake.presses(person.user, label)


def topic_of(fake: FakeTelegram, ticket: int) -> int | None:
    """The ticket's topic: named "#N · …" and holding its card (a kill right after Telegram
    made a topic, before the bot recorded it, leaves an empty one of the same name)."""
    for thread, name in fake.topics().items():
        card = f"New ticket #{ticket}"
        inbox = fake.inbox(fake.moderator_chat_id, thread)
        if name.startswith(f"#{ticket} ") and any(card in s.text for s in inbox):
            return thread
    return None


async def opens(mod: Moderator, ticket: int) -> None:
    """Wait for the ticket's topic and work in it."""
    mod.thread = await mod.fake.wait_for(lambda: topic_of(mod.fake, ticket), WAIT)
    mod.cursor = 0


async def one_user(fake: FakeTelegram, n: int, mod: Moderator) -> tuple[Person, int]:
    """User `n`'s whole script, and the moderator's part in its topic; returns the ticket."""
    name = f"U{n}"
    user = Person(fake, fake.user(1000 + n, name, "en"))
    fake.user_says(user.user, "/start")
    await sees(user, "How can we help?")
    for label in ["Account", "Suspended or restricted", "Fill in the form"]:
        await presses(user, label)
    for prompt, answer in ANSWERS:
        await sees(user, prompt, rewind=True)
        fake.user_says(user.user, answer.format(n=n, name=name))
    await sees(user, "Please send screenshots", rewind=True)
    await presses(user, "Skip")
    await sees(user, "Please check your answers", rewind=True)
    await presses(user, "Submit")
    created = await sees(user, " created", rewind=True)
    match = re.search(r"Ticket #(\d+) created", created.text)
    assert match, created.text
    ticket = int(match.group(1))
    fake.user_says(user.user, f"relay from {name}")
    await sees(user, f"Added to ticket #{ticket}", rewind=True)
    await opens(mod, ticket)
    await sees(mod, f"New ticket #{ticket}")
    await sees(mod, f"User: relay from {name}")
    fake.mod_says(mod.user, mod.thread, f"reply to {name}")
    await sees(user, f"Moderator: reply to {name}", rewind=True)
    return user, ticket


async def crash_run(
    tmp: Path, *, seed: int, kills: int, users: int = 4
) -> tuple[Outcome, KillingTelegram, list[tuple[Person, int]]]:
    """One scripted run with `kills` SIGKILLs at seeded points, spread over the sends a run
    without kills makes (SENDS_PER_USER each; a kill only adds sends, so every point is met)."""
    rng = random.Random(seed)
    ks = rng.sample(range(1, SENDS_PER_USER * users - 2), kills)
    fake = KillingTelegram([(k, rng.choice(["send", "next"])) for k in sorted(ks)])
    outcome = Outcome()
    async with fake:
        config, log = write_config(fake, tmp), tmp / "kefu.log"
        mod_user = fake.moderator(2001, "Mei")
        starts: list[asyncio.Task[asyncio.subprocess.Process]] = []

        async def start() -> asyncio.subprocess.Process:
            starts.append(asyncio.create_task(start_kefu(config, log)))
            fake.victim = await asyncio.shield(starts[-1])  # never left running unseen
            return fake.victim

        async def supervise(proc: asyncio.subprocess.Process) -> None:
            while True:
                code = await proc.wait()
                assert code == -signal.SIGKILL, f"kefu exited {code}: {log.read_text()}"
                outcome.restarts += 1
                proc = await start()

        keeper = asyncio.create_task(supervise(await start()))
        try:
            script = [one_user(fake, n, Moderator(fake, mod_user)) for n in range(1, users + 1)]
            done = await asyncio.gather(*script)
        finally:
            keeper.cancel()
            [crashed] = await asyncio.gather(keeper, return_exceptions=True)
            fake.victim = None
            for proc in await asyncio.gather(*starts):
                await stop(proc)
            if isinstance(crashed, AssertionError):  # kefu exited on its own
                raise crashed
        outcome.kills = fake.kills
    check(outcome, fake, done, tmp / "data" / "kefu.sqlite3")
    return outcome, fake, done


@dataclass
class Flagged:
    """The deliveries the store flagged maybe_doubled: (chat id, text) and the tickets whose
    card page was flagged."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    cards: set[int] = field(default_factory=set)

    def has(self, chat: int, text: str) -> bool:
        """Whether a flagged delivery to `chat` contains `text`."""
        return any(c == str(chat) and text in t for c, t in self.texts)


def flagged(conn: sqlite3.Connection) -> Flagged:
    """Read the flagged deliveries from the store."""
    query = (
        "SELECT chat_id, ticket_id, json_extract(payload, '$.text'), card"
        " FROM outbox WHERE maybe_doubled = 1"
    )
    found = Flagged()
    for chat, ticket, text, card in conn.execute(query).fetchall():
        found.texts.append((str(chat), str(text)))
        if card and ticket is not None:
            found.cards.add(int(ticket))
    return found


def check(
    outcome: Outcome, fake: KillingTelegram, done: list[tuple[Person, int]], db: Path
) -> None:
    """Fill in tickets, losses and doubles from the fake's record and the SQLite file."""
    with sqlite3.connect(db) as conn:
        outcome.tickets = dict(
            conn.execute("SELECT user_key, count(*) FROM tickets GROUP BY user_key").fetchall()
        )
        outcome.answers = dict(conn.execute("SELECT user_key, answers FROM tickets").fetchall())
        (outcome.maybe_doubled,) = conn.execute(
            "SELECT count(*) FROM outbox WHERE maybe_doubled = 1"
        ).fetchone()
        marks = flagged(conn)
    conn.close()
    for user, ticket in done:
        name = user.user.first_name
        topic = topic_of(fake, ticket)
        expected: list[tuple[int, Any, str]] = [
            (user.chat_id, None, text)
            for text in [*PROMPTS, f"Ticket #{ticket} created", f"Added to ticket #{ticket}"]
        ]
        expected += [
            (user.chat_id, None, f"Moderator: reply to {name}"),
            (fake.moderator_chat_id, topic, f"New ticket #{ticket}"),
            (fake.moderator_chat_id, topic, f"User: relay from {name}"),
        ]
        for chat, thread, text in expected:
            tally(outcome, fake, chat, thread, text, marks)
        outcome.finished += 1
    outcome.extra_topics = len(fake.topics()) - len(done)
    names = list(fake.topics().values())
    extras = [(ticket, sum(n.startswith(f"#{ticket} ") for n in names) - 1) for _, ticket in done]
    # Topics named for no ticket (none are expected) go as "#0", whose delivery is unknown.
    extras.append((0, outcome.extra_topics - sum(n for _, n in extras)))
    for ticket, n in extras:
        # A second topic: createForumTopic acted, then a kill before the topic was recorded;
        # the delivery that opened it is the ticket's card page, flagged if the store counted it.
        for _ in range(n):
            label = f"a second topic for #{ticket}"
            (outcome.doubled if ticket in marks.cards else outcome.unexplained).append(label)


def tally(
    outcome: Outcome, fake: KillingTelegram, chat: int, thread: Any, text: str, marks: Flagged
) -> None:
    """Check that `text` reached `chat` (topic `thread`) once; an extra copy is explained
    exactly when the store counted it: a delivery of it to `chat` flagged maybe_doubled."""
    copies = sum(s.chat_id == chat and s.thread_id == thread and text in s.text for s in fake.sent)
    outcome.checked += 1
    label = f"{text!r} to {chat}/{thread}"
    if not copies:
        outcome.lost.append(label)
    for _ in range(copies - 1):
        (outcome.doubled if marks.has(chat, text) else outcome.unexplained).append(label)


def summary(outcome: Outcome, users: int) -> str:
    """The figures of one or more runs."""
    return (
        f"points={outcome.kills} restarts={outcome.restarts} users={users} "
        f"tickets={sum(outcome.tickets.values())} finished={outcome.finished} "
        f"checked={outcome.checked} lost={len(outcome.lost)} doubled={len(outcome.doubled)} "
        f"unexplained={len(outcome.unexplained)} maybe_doubled={outcome.maybe_doubled}"
    )


async def test_scripted_load_survives_five_sigkills(tmp_path: Path) -> None:
    outcome, fake, done = await crash_run(tmp_path, seed=6, kills=5)
    print(summary(outcome, len(done)))
    assert outcome.kills == 5, summary(outcome, len(done))
    assert sorted(outcome.tickets.values()) == [1] * len(done), outcome.tickets
    assert outcome.lost == []
    for n in range(1, len(done) + 1):  # every answer in its place, none lost or repeated
        answers = outcome.answers[f"telegram:{1000 + n}"]
        for _, answer in ANSWERS:
            assert answers.count(answer.format(n=n, name=f"U{n}")) == 1, answers
    # Every double is counted by the store: its delivery (for a second topic, the ticket's card
    # page) is flagged maybe_doubled. More may be flagged: a kill can stop a send in flight
    # before Telegram acted, and one flagged delivery may have gone out more than twice.
    assert outcome.unexplained == [], outcome.unexplained
    assert fake.pending_updates() == []
    assert fake.unknown == [], fake.unknown
    assert fake.errors == [], fake.errors
    assert fake.url_uploads == []
