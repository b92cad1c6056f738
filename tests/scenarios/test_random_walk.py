"""Seeded random walks: a user presses any button (new or old), types anything, sends files,
while a moderator works the ticket. After every step the product's promises must hold.
"""

from __future__ import annotations

import random

import pytest

from bot.storage.records import TicketStatus
from tests.helpers.builders import exe, png
from tests.helpers.fakes import FakeUser, Harness
from tests.scenarios.steps import SQL_TEXT
from tests.scenarios.words import WORDS

STEPS = 70
TEXTS = [
    "忘记密码", "forgot password", "my order has not shipped", "账号被封了怎么办", "退款没到账",
    "xyzzy plugh", "今天天气怎么样", "this is useless", "什么垃圾", "转人工", "talk to a human",
    "客服", "客服态度太差", "L12345678", "2025-03-14", "yesterday", "2027-01-01", "", "\u200b",
    "\u202eabc", "x" * 10_000, SQL_TEXT, "1", "Skip", "ok",
]  # fmt: skip
COMMANDS = ["start", "menu", "human", "status", "cancel", "forget", "close", "help"]


def promise_kept(user: FakeUser, before: int) -> str:
    """ "" when the step ended well, else what went wrong."""
    w = WORDS[user.lang]
    new = user.inbox[before:]
    texts = " ".join(o.reply.text for o in new)
    if "went wrong" in texts or "出了点问题" in texts:
        return "internal error"
    with_buttons = [o for o in user.inbox if o.reply.buttons]
    if not with_buttons:
        return "" if not user.inbox else "no message with buttons at all"
    labels = [b.label for b in with_buttons[-1].reply.flat_buttons]
    # The /forget confirmation is a yes/no question; "No" leads back to the menu.
    ways = {w.human, w.human_now, w.status, w.close_ticket, w.menu, w.forget_no, "1"}
    if not ways & set(labels):
        return f"no way to a person from {labels}"
    return ""


async def step(h: Harness, user: FakeUser, rng: random.Random) -> str:
    """One random action; returns a description for the failure message."""
    roll = rng.random()
    with_buttons = [o for o in user.inbox if o.reply.buttons]
    if roll < 0.45 and with_buttons:
        out = with_buttons[-1] if rng.random() < 0.8 else rng.choice(with_buttons)
        button = rng.choice(out.reply.flat_buttons)
        await user.presses_data(button.data)
        return f"press {button.label!r}"
    if roll < 0.7:
        text = rng.choice(TEXTS)
        await user.says(text)
        return f"say {text[:30]!r}"
    if roll < 0.82:
        name = rng.choice(COMMANDS)
        await user.command(name)
        return f"/{name}"
    if roll < 0.9:
        data = rng.choice([png(color=(rng.randrange(255), 0, 0)), exe()])
        await user.sends_file(data, "shot.png")
        return "file"
    ticket = await user.open_ticket()
    if ticket is None:
        await h.advance(rng.choice([1, 60, 3600, 8 * 86400]))
        return "time passes"
    mod = h.moderator("bob")
    action = rng.choice(["reply", "claim", "close", "note", "unclaim"])
    if action == "reply":
        await mod.says_in(ticket.id, "a moderator's answer")
    else:
        await mod.command(ticket.id, action, "reason")
    return f"moderator {action}"


@pytest.mark.parametrize("seed", range(4))
async def test_random_walks_keep_every_promise(h: Harness, lang: str, seed: int) -> None:
    rng = random.Random(f"{lang}-{seed}")
    user = h.user(f"walker{seed}", lang)
    await user.command("start")
    trail: list[str] = []
    for _ in range(STEPS):
        before = len(user.inbox)
        trail.append(await step(h, user, rng))
        problem = promise_kept(user, before)
        assert not problem, f"{problem} after {trail[-8:]}"
        open_tickets = [t for t in await h.store.list_tickets() if t.status != TicketStatus.CLOSED]
        assert len(open_tickets) <= 1, trail[-8:]
