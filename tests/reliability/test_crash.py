"""Crash: `kefu run` SIGKILLed at seeded points under a scripted load over the fake Bot API.

Users go /start → Account → Suspended or restricted → the appeal form → Submit → a ticket, then
relay a message; a moderator answers in each ticket's topic. The fake server kills the bot
process when a seeded call arrives (before acting on it) and a new process starts at once;
the script carries on. At the end every user has exactly one ticket, every topic exactly one
card, every prompt, relay and reply arrived exactly once, and every conversation went on to
the end. A message Telegram showed but the killed process had not yet recorded as sent is sent
again by the next process (at-least-once, as the Bot API has no idempotency key): such a copy
is tolerated only when its first copy went out in the last moments before a kill, and counted.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.adapters.telegram.dialog import Moderator, Person
from tests.adapters.telegram.test_e2e import start_kefu, stop, write_config
from tests.helpers.fake_telegram import FakeTelegram, Sent

WAIT = 40.0  # seconds a step may take, restarts included
WINDOW = 1.0  # a resend is the kill's at-least-once window if its first copy went out this late
ANSWERS = [
    ("Lumen ID", "L{n:08d}"),
    ("On what day", "2026-01-02"),
    ("What exactly does the app say?", "Your account is restricted ({name})"),
    ("What did you do just before", "I posted a note ({name})"),
    ("Why do you think this is a mistake?", "The photo is my own ({name})"),
]
PROMPTS = [prompt for prompt, _ in ANSWERS] + ["Please send screenshots", "Please check"]


class KillingTelegram(FakeTelegram):
    """The fake Bot API, which SIGKILLs the bot process when a chosen call arrives."""

    def __init__(self, gaps: list[int]) -> None:
        super().__init__()
        self.gaps = list(gaps)  # calls to let through before each kill
        self.victim: asyncio.subprocess.Process | None = None
        self.countdown = self.gaps.pop(0) if self.gaps else -1
        self.kills: list[float] = []  # monotonic time of each kill
        self.sent_at: list[float] = []  # monotonic time each `sent` entry was made

    async def _api(self, request: web.Request) -> web.StreamResponse:
        if self.victim is not None and self.victim.returncode is None and self.countdown == 0:
            os.kill(self.victim.pid, signal.SIGKILL)  # before this call acts
            self.victim = None
            self.kills.append(time.monotonic())
            self.countdown = self.gaps.pop(0) if self.gaps else -1
            if request.transport is not None:
                request.transport.close()
            self._notify()
            return web.Response()
        if self.victim is not None and self.countdown > 0:
            self.countdown -= 1
        response = await super()._api(request)
        now = time.monotonic()
        self.sent_at.extend(now for _ in range(len(self.sent) - len(self.sent_at)))
        return response


@dataclass
class Outcome:
    """What one scripted run saw."""

    kills: int = 0
    restarts: int = 0
    tickets: dict[str, int] = field(default_factory=dict)  # user key → tickets
    finished: int = 0  # conversations that reached the moderator's reply
    checked: int = 0  # deliveries that had to arrive exactly once
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)  # within a kill's window (tolerated)
    unexplained: list[str] = field(default_factory=list)  # doubled outside any window
    maybe_doubled: int = 0  # deliveries the outbox itself flagged
    extra_topics: int = 0


async def sees(person: Person, fragment: str) -> Sent:
    """The next message after the person's cursor containing `fragment` (restarts allowed)."""

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
    """Press the button `label` on the latest message to the person that has it."""
    await sees(person, "")  # something new arrived
    person.cursor -= 1
    await person.fake.wait_for(
        lambda: any(label == t for s in person.inbox() for t, _ in s.buttons), WAIT
    )
    person.fake.presses(person.user, label)


async def one_user(fake: FakeTelegram, n: int, mod_id: int) -> int:
    """The whole script of user `n`; returns the ticket number."""
    name = f"U{n}"
    user = Person(fake, fake.user(1000 + n, name, "en"))
    mod = Moderator(fake, fake.group_member(mod_id))  # type: ignore[attr-defined]
    fake.user_says(user.user, "/start")
    await sees(user, "How can we help?")
    for label in ["Account", "Suspended or restricted", "Fill in the form"]:
        fake.presses(user.user, label)
        await sees(user, "")
    for prompt, answer in ANSWERS:
        await sees_from_start(user, prompt)
        fake.user_says(user.user, answer.format(n=n, name=name))
    await sees_from_start(user, "Please send screenshots")
    fake.presses(user.user, "Skip")
    await sees_from_start(user, "Please check your answers")
    fake.presses(user.user, "Submit")
    created = await sees_from_start(user, "created")
    match = re.search(r"Ticket #(\d+) created", created.text)
    assert match, created.text
    ticket = int(match.group(1))
    fake.user_says(user.user, f"relay from {name}")
    await mod.opens(ticket) if False else await opens(mod, ticket)
    await sees(mod, f"New ticket #{ticket}")
    await sees(mod, f"User: relay from {name}")
    fake.mod_says(mod.user, mod.thread, f"reply to {name}")
    await sees_from_start(user, f"Moderator: reply to {name}")
    return ticket


async def sees_from_start(person: Person, fragment: str) -> Sent:
    """Like `sees`, but a message already passed by the cursor also counts."""
    person.cursor = 0
    return await sees(person, fragment)


async def opens(mod: Moderator, ticket: int) -> None:
    """Wait for the ticket's topic and work in it."""

    def topic() -> int | None:
        names = mod.fake.topics().items()
        return next((t for t, name in names if name.startswith(f"#{ticket} ")), None)

    mod.thread = await mod.fake.wait_for(topic, WAIT)
    mod.cursor = 0
