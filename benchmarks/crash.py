"""Crash benchmark: `kefu run` SIGKILLed at N seeded points under a scripted Telegram load.

Usage: python benchmarks/crash.py [--points N] [--seed S] [--users U]

Runs the scripted load of tests/reliability/test_crash.py (users through the appeal form to a
ticket, a relayed message, a moderator's reply in each topic) over the fake Bot API, in rounds
of five kills each (a fresh fake server and data directory per round), until N kills were made.
Each kill lands when a seeded call reaches the fake server, before it acts; a new process
starts at once. The last line: `points=<n> ... lost=<n> doubled=<n> unexplained=<n>
maybe_doubled=<n> uncounted=<n>`; `doubled` counts deliveries Telegram made but the killed
process had not yet recorded as sent (sent again after the restart, at-least-once);
`unexplained` counts any other second copy. Doubles are now counted by the store: the outbox
marks each batch in flight before sending it, and the next process flags an item it finds
still marked `maybe_doubled` (the store's count is `maybe_doubled`, which may exceed `doubled`:
a kill can stop a send in flight before Telegram acted). `uncounted` is a double whose delivery
the store did not flag; the exit status is 1 if anything was lost, unexplained or uncounted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KEFU_TELEGRAM_TOKEN", "123:TEST")
os.environ.setdefault("PTB_TIMEDELTA", "true")

from tests.reliability.test_crash import Outcome, crash_run, summary  # noqa: E402

PER_ROUND = 5


async def main(points: int, seed: int, users: int) -> int:
    """Run rounds until `points` kills were made; print each round and the totals."""
    total = Outcome()
    started = time.monotonic()
    rounds = 0
    while total.kills < points:
        kills = min(PER_ROUND, points - total.kills)
        with tempfile.TemporaryDirectory() as tmp:
            outcome, _, done = await crash_run(
                Path(tmp), seed=seed * 1000 + rounds, kills=kills, users=users
            )
        rounds += 1
        print(f"round {rounds}: {summary(outcome, len(done))}")
        for label in outcome.unexplained + outcome.lost:
            print(f"  ! {label}")
        for label in outcome.uncounted:
            print(f"  ! not flagged maybe_doubled: {label}")
        if outcome.kills == 0:
            print("a round made no kill: the script ended first")
            return 1
        total.kills += outcome.kills
        total.restarts += outcome.restarts
        total.finished += outcome.finished
        total.checked += outcome.checked
        total.lost += outcome.lost
        total.doubled += outcome.doubled
        total.unexplained += outcome.unexplained
        total.maybe_doubled += outcome.maybe_doubled
        total.uncounted += outcome.uncounted
        total.tickets.update({f"{rounds}/{k}": v for k, v in outcome.tickets.items()})
    extra = sum(v - 1 for v in total.tickets.values())
    print(f"rounds={rounds} seconds={time.monotonic() - started:.1f} extra_tickets={extra}")
    print(summary(total, users * rounds))
    return int(bool(total.lost or total.unexplained or total.uncounted or extra))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=50, help="kills in all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--users", type=int, default=4)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.points, args.seed, args.users)))
