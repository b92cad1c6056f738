"""The soak with routes: the moderator groups, their [[route]] tables, the offered rate that
makes a number of tickets a minute, and the check of what waits for each group halfway
through (`kefu stats` beside the running bot, and a moderator's /backlog)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from _soak_users import KINDS, MEAN_STEPS

from tests.helpers.fake_telegram import FakeTelegram, FakeUser

ROOT = Path(__file__).resolve().parents[1]
MOD_CHAT = -100123  # the first moderator group (the only one without --routes)
TICKET_SHARE = (KINDS["form"] + KINDS["human"]) / sum(KINDS.values())  # sessions with a ticket


def groups_of(routes: int) -> tuple[int, ...]:
    """The moderator groups' chat ids."""
    return tuple(MOD_CHAT - 1000 * n for n in range(max(1, routes)))


def route_tables(groups: tuple[int, ...]) -> str:
    """[[route]] tables over the groups: each form category a group of its own while there are
    groups to spare, the rest of the groups for everything else (the least busy first)."""
    if len(groups) == 1:
        return ""
    own = ("account/banned", "account/login") if len(groups) > 2 else ("account/",)
    tables = [
        f'[[route]]\ncategory = "{c}"\ntelegram = [{g}]\n'
        for c, g in zip(own, groups, strict=False)
    ]
    rest = ", ".join(str(g) for g in groups[len(own) :])
    return "".join(tables) + f'[[route]]\ncategory = "*"\ntelegram = [{rest}]\n'


def rate_for(tickets_per_minute: float) -> float:
    """The messages a second (all users together) that open this many tickets a minute."""
    return tickets_per_minute / 60 / TICKET_SHARE * MEAN_STEPS


async def backlog_check(fake: FakeTelegram, config: Path, mod: FakeUser, at: float) -> None:
    """At `at` (monotonic), print what `kefu stats` and /backlog say waits for each group."""
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    seen = len(fake.ledger.general)  # type: ignore[attr-defined]
    fake.mod_says(mod, None, "/backlog", MOD_CHAT)
    stats = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "stats", "--config", str(config),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await stats.communicate()
    lines = out.decode("utf-8", "replace").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("waiting")), len(lines))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ")), None)
    print("--- halfway, `kefu stats`:", *lines[start:end], sep="\n  ", flush=True)
    try:
        answer = await fake.wait_for(
            lambda: fake.ledger.general[seen:],  # type: ignore[attr-defined]
            60,
        )
        print("--- halfway, /backlog in the first group:", *answer[0].splitlines(), sep="\n  ")
    except AssertionError:
        print("--- halfway, /backlog: no answer within 60 s")
