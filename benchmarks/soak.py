"""Soak: thousands of simulated Telegram users against a `kefu run` process, for minutes.

Usage: python benchmarks/soak.py [--users N] [--seconds S] [--rate R] [--drain D] [--quick]
       [--user-limit L] [--flood-limit] [--routes N] [--tickets-per-minute T] [--seed X] [--keep]

`kefu run` runs as a separate process (polling, SQLite in a temporary directory) against the
fake Bot API of tests/helpers/fake_telegram/, served from this process on loopback. N users
(half English, half Chinese) share R messages a second (R/N each): they browse the menu to an
article, search in free text, fill a short form and submit it (a ticket: a new topic and its
card in the moderators' forum group), or ask for a person; a ticket goes on with a relayed
message, a moderator's reply in the topic and /close (benchmarks/_soak_users.py). Each user
waits for the bot's answer before the next message (closed loop, 2-5 s to think), and stays
under the per-user limit ([bot] user_rate_limit, stated on the first line; if its notice comes
anyway it is counted as `limited`). Telegram's flood limits are off unless --flood-limit: then
the fake server enforces Telegram's own (20 messages a minute per group, 30 a second in all:
a 429 with retry_after past them) and Kefu paces its sends ([telegram] rate_limit = true).

--routes N splits the moderators into N forum groups by [[route]] tables (the two form
categories each a group of their own while there are groups to spare, everything else the
rest: a "*" route whose groups each new ticket takes the least busy of), with the flood limits
on. --tickets-per-minute T offers the messages/s that make T new tickets a minute in this mix.
Halfway through, `kefu stats` and a moderator's /backlog (in the first group's General topic)
say what waits for each group and for how long; both are printed.

Every delivery is indexed as it reaches the fake server and matched to what the action that
caused it owes (benchmarks/_soak_sim.py): each reply in the user's chat (checked by its text:
the menu title, the next form question, "Ticket #N created", "Added to ticket #N", ...), each
card in a new topic, each relayed "User: <text>" and "Moderator: <text>" (the texts carry a
unique marker), each "closed" notice. Every 10 s a progress line: updates in and bot messages
out per second, deliveries owed, reply p50/p99 in the window, how long updates waited for
getUpdates (intake), RSS and CPU of `kefu run` and of this process, CPU used by other
processes (the machine may be shared: that slows the bot), the SQLite file and its WAL.
After S seconds the users stop sending and the soak waits up to D seconds (default 60) until
nothing is owed, no update is unconfirmed and the bot's outbox is empty. The last line:
`lost=<n> doubled=<n> held=<n> users=<n> messages=<n> ... p99_page_ms p99_relay_ms ...`:
lost = owed deliveries still missing, doubled = a delivery that came twice (the same text to
the same place again, a second card or topic for a ticket), held = deliveries still waiting in
the bot's outbox when the drain ended. The exit code is 1 when any of them is not 0.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("KEFU_TELEGRAM_TOKEN", "123:TEST")
os.environ.setdefault("PTB_TIMEDELTA", "true")

from _soak_routes import MOD_CHAT, backlog_check, groups_of, rate_for, route_tables  # noqa: E402
from _soak_sim import Ledger, SimUser, SoakTelegram  # noqa: E402
from _soak_users import Crowd, load_texts  # noqa: E402

from bot.config import BotConfig  # noqa: E402
from tests.adapters.telegram.test_e2e import start_kefu, stop  # noqa: E402
from tests.helpers.fake_telegram import FloodControl, Limit  # noqa: E402

PROGRESS = 10.0  # seconds between progress lines
LATENCIES = [
    ("reply", "user message → the bot's reply"),
    ("page", "submit → the card in a new topic"),
    ("relay", "user message → 'User: …' in the topic"),
    ("modreply", "moderator message → 'Moderator: …' to the user"),
]
# Messages/s in all, by default. Measured on 2 cores with 10,000 users: at 40/s `kefu run`
# takes 55-65% of a core and answers with a p99 of ~150 ms (this process: 15-20%); one core is
# full at ~55-60/s (mostly python-telegram-bot and httpx per request). Other processes on the
# machine taking a core push the p99 into seconds at 30-40/s: see "others" on each line.
RATE = 40.0
QUICK_RATE = 20.0
SETTLE = 3.0  # seconds after the drain to catch late second copies
TICKS = os.sysconf("SC_CLK_TCK")


def write_config(
    fake: SoakTelegram, tmp: Path, user_limit: int, flood: bool, groups: tuple[int, ...]
) -> Path:
    """A deployment's config against the fake server, with the limits under test."""
    config = tmp / "kefu.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{tmp / "data"}"\ndefault_lang = "en"\n'
        f"user_rate_limit = {user_limit}\n"
        f"[telegram]\nenabled = true\nmoderator_chat_id = {fake.moderator_chat_id}\n"
        f'base_url = "{fake.base_url}"\nbase_file_url = "{fake.base_file_url}"\n'
        f"rate_limit = {'true' if flood else 'false'}\n" + route_tables(groups),
        encoding="utf-8",
    )
    return config


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory (VmRSS) of a process in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def host_cpu() -> tuple[float, float]:
    """(busy, iowait) CPU seconds of the whole machine so far, all cores together."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / TICKS, iowait / TICKS


def size(path: Path) -> int:
    """A file's size, 0 when it does not exist."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def outbox(db: Path) -> dict[str, int]:
    """The bot's outbox rows by status (read-only, beside the running process)."""
    if not db.exists():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall()
    finally:
        conn.close()
    return {str(status): int(n) for status, n in rows}


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank), in milliseconds; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx, my = sum(p[0] for p in points) / n, sum(p[1] for p in points) / n
    var = sum((p[0] - mx) ** 2 for p in points)
    cov = sum((p[0] - mx) * (p[1] - my) for p in points)
    return 60 * cov / var if var else 0.0


@dataclass(frozen=True, slots=True)
class Window:
    """What one progress line covers: rates, CPU and memory over the last PROGRESS seconds."""

    t: float  # seconds since the users started, at the end of the window
    inbound: float  # updates injected per second (users' messages and presses, moderators')
    outbound: float  # messages the bot created per second
    kefu_cpu: float  # percent of one core
    soak_cpu: float
    kefu_rss: float  # MB
    soak_rss: float
    others_cpu: float  # percent of one core used by other processes (a shared machine)
    iowait: float  # percent of one core


class Monitor:
    """Progress lines every PROGRESS seconds and the samples behind the final figures."""

    def __init__(self, fake: SoakTelegram, crowd: Crowd, pid: int, db: Path, t0: float) -> None:
        self.fake, self.crowd, self.pid, self.db, self.t0 = fake, crowd, pid, db, t0
        self.windows: list[Window] = []
        self.late_callbacks = 0  # callback queries left unanswered for more than 30 s
        self.worst_lag = 0.0  # this process's event-loop lag in the current window
        self.intake: list[float] = []  # seconds updates waited for getUpdates, all run long
        self._last = (t0, 0, 0, cpu_seconds(pid), time.process_time(), *host_cpu())
        self.first = (rss_mb(pid), rss_mb())  # before the users start

    async def run(self) -> None:
        """Print a progress line every PROGRESS seconds until cancelled."""
        lag = asyncio.create_task(self._lag())
        try:
            while True:
                await asyncio.sleep(PROGRESS)
                print(self.line(), flush=True)
        finally:
            lag.cancel()

    async def _lag(self) -> None:
        while True:
            start = time.monotonic()
            await asyncio.sleep(0.05)
            self.worst_lag = max(self.worst_lag, time.monotonic() - start - 0.05)

    def sample(self) -> Window:
        """Close the current window: rates, CPU and RSS since the last one."""
        led = self.fake.ledger
        now, kcpu, scpu = time.monotonic(), cpu_seconds(self.pid), time.process_time()
        busy, iowait = host_cpu()
        t, actions, deliveries, kcpu0, scpu0, busy0, iowait0 = self._last
        span = max(now - t, 1e-6)
        self._last = (now, led.actions, led.deliveries, kcpu, scpu, busy, iowait)
        self.late_callbacks = self.fake.trim()
        kefu, soak = 100 * (kcpu - kcpu0) / span, 100 * (scpu - scpu0) / span
        window = Window(
            now - self.t0,
            (led.actions - actions) / span,
            (led.deliveries - deliveries) / span,
            kefu,
            soak,
            rss_mb(self.pid),
            rss_mb(),
            max(0.0, 100 * (busy - busy0) / span - kefu - soak),
            100 * (iowait - iowait0) / span,
        )
        self.windows.append(window)
        return window

    def line(self) -> str:
        """One progress line."""
        w = self.sample()
        led = self.fake.ledger
        replies, led.window = led.window, []
        intake, self.fake.intake = self.fake.intake, []
        self.intake.extend(intake)
        lag, self.worst_lag = self.worst_lag, 0.0
        db, wal = size(self.db) / 2**20, size(self.db.with_name(self.db.name + "-wal")) / 2**20
        return (
            f"t={w.t:4.0f}s in={w.inbound:5.1f}/s out={w.outbound:5.1f}/s "
            f"owed={led.open_count():4d} in_session={self.crowd.active:4d} "
            f"reply p50={pct(replies, 50):5.0f}ms p99={pct(replies, 99):5.0f}ms "
            f"intake p99={pct(intake, 99):5.0f}ms kefu: rss={w.kefu_rss:5.1f}MB "
            f"cpu={w.kefu_cpu:3.0f}% soak: rss={w.soak_rss:5.1f}MB cpu={w.soak_cpu:3.0f}% "
            f"lag={1000 * lag:3.0f}ms others: cpu={w.others_cpu:3.0f}% iowait={w.iowait:3.0f}% "
            f"db={db:.1f}MB wal={wal:.1f}MB"
        )


async def drain(fake: SoakTelegram, db: Path, seconds: float) -> float:
    """Wait until nothing is owed, no update is unconfirmed and the outbox is empty."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        idle = not fake.ledger.open_count() and not fake.pending_updates()
        if idle and not (await asyncio.to_thread(outbox, db)).get("pending", 0):
            break
        await asyncio.sleep(0.5)
    took = time.monotonic() - start
    await asyncio.sleep(SETTLE)
    return took


def make_users(
    fake: SoakTelegram, ledger: Ledger, count: int, rng: random.Random
) -> list[SimUser]:
    """`count` users, half with an English and half with a Chinese Telegram client."""
    users = []
    for i in range(count):
        lang = "zh-CN" if rng.random() < 0.5 else "en"
        tg = fake.user(100_000 + i, f"u{i}", "zh-hans" if lang == "zh-CN" else "en")
        users.append(SimUser(tg, lang))
        ledger.add(users[-1])
    return users


async def soak(
    args: argparse.Namespace, fake: SoakTelegram, proc: asyncio.subprocess.Process, tmp: Path
) -> int:
    """Run the users for args.seconds, drain, print the figures; the exit code."""
    rng = random.Random(args.seed)
    db = tmp / "data" / "kefu.sqlite3"
    await fake.wait_for(lambda: fake.polls_waiting > 0, 120)  # kefu is up and polling
    users = make_users(fake, fake.ledger, args.users, rng)
    gc.collect()
    gc.freeze()  # the users and chats live all run: keep them out of the collector's scans
    per_user = args.rate / args.users
    print(
        f"users={args.users} per_user_rate={per_user:.4f}/s (one message every "
        f"{1 / per_user:.0f} s on average) offered={args.rate:.1f} messages/s "
        f"seconds={args.seconds} drain={args.drain}s user_rate_limit={args.user_limit}/min "
        f"([bot] user_rate_limit; each user sends at most {max(args.user_limit - 2, 1)}/min) "
        f"telegram_rate_limit={'on' if args.flood_limit else 'off'} "
        f"groups={len(groups_of(args.routes))} cores={os.cpu_count()} "
        f"loadavg={os.getloadavg()[0]:.2f} "
        f"kefu_pid={proc.pid}",
        flush=True,
    )
    t0 = time.monotonic()
    crowd = Crowd(
        fake,
        fake.ledger,
        rate=per_user,
        stop_at=t0 + args.seconds,
        user_limit=args.user_limit,
        step_timeout=args.step_timeout,
        groups=groups_of(args.routes),
    )
    monitor = Monitor(fake, crowd, proc.pid, db, t0)
    tasks = [asyncio.create_task(crowd.run_user(u, rng)) for u in users]
    if args.routes:  # what waits for each group, halfway
        check = backlog_check(fake, tmp / "kefu.toml", crowd.mods[0], t0 + args.seconds / 2)
        tasks.append(asyncio.create_task(check))
    ticker = asyncio.create_task(monitor.run())
    died = asyncio.create_task(proc.wait())
    await asyncio.wait([died], timeout=args.seconds)
    if died.done():
        print(f"kefu run exited with {proc.returncode}; its log: {tmp / 'kefu.log'}")
        return 2
    print(
        f"--- {args.seconds:.0f} s over: the users stop sending; draining (<= {args.drain:.0f} s)"
    )
    took = await drain(fake, db, args.drain)
    for task in [ticker, died, *tasks]:
        task.cancel()
    await asyncio.gather(ticker, died, *tasks, return_exceptions=True)
    monitor.sample()
    answered, growth = report(args, fake, crowd, monitor, took)
    integrity_report(fake, monitor, db, tmp / "kefu.log")
    led = fake.ledger
    lost = len(led.lost())
    held = (await asyncio.to_thread(outbox, db)).get("pending", 0)
    rss = [monitor.first[0]] + [w.kefu_rss for w in monitor.windows]
    print(
        f"lost={lost} doubled={led.doubled} held={held} routes={args.routes} "
        f"tickets_per_min={60 * len(led.cards) / args.seconds:.1f} "
        f"refused_429={len(fake.flood.refused)} users={args.users} messages={led.actions} "
        f"unexpected={led.unexpected} limited={led.limited} stalled={led.stalled} "
        f"script_errors={led.script_errors} answered_per_s={answered:.1f} "
        f"p99_reply_ms={pct(led.latency['reply'], 99):.0f} "
        f"p99_page_ms={pct(led.latency['page'], 99):.0f} "
        f"p99_relay_ms={pct(led.latency['relay'], 99):.0f} "
        f"kefu_rss_mb={rss[0]:.0f}/{max(rss):.0f}/{rss[-1]:.0f} kefu_rss_slope={growth:+.2f}MB/min"
    )
    return int(bool(lost or led.doubled or held))


def report(
    args: argparse.Namespace, fake: SoakTelegram, crowd: Crowd, monitor: Monitor, took: float
) -> tuple[float, float]:
    """The figures; returns (messages answered per second, RSS slope of kefu run)."""
    led = fake.ledger
    sessions = " ".join(f"{k}={v}" for k, v in crowd.sessions.items())
    print(f"drained in {took:.1f} s; sessions: {sessions}")
    answered = led.completed / args.seconds
    sending = monitor.windows[:-1]  # the last one is the drain
    steady = [w for w in sending if w.t - PROGRESS / 2 > args.seconds / 2]
    mean = lambda xs: sum(xs) / len(xs) if xs else 0.0  # noqa: E731
    print(
        f"messages: sent={led.actions} answered={led.completed} ({answered:.1f}/s over "
        f"{args.seconds:.0f} s; second half: in {mean([w.inbound for w in steady]):.1f}/s, "
        f"bot messages out {mean([w.outbound for w in steady]):.1f}/s, kefu cpu "
        f"{mean([w.kefu_cpu for w in steady]):.0f}% of a core, soak cpu "
        f"{mean([w.soak_cpu for w in steady]):.0f}%, other processes "
        f"{mean([w.others_cpu for w in steady]):.0f}%) bot_messages={led.deliveries} "
        f"edits={led.edits} tickets={len(led.cards)} topics={sum(led.topics.values())}"
    )
    for kind, what in LATENCIES:
        values = led.latency[kind]
        print(
            f"latency {what}: n={len(values)} p50={pct(values, 50):.0f}ms "
            f"p99={pct(values, 99):.0f}ms max={pct(values, 100):.0f}ms"
        )
    intake = monitor.intake
    print(
        f"latency update queued → taken by getUpdates: n={len(intake)} "
        f"p50={pct(intake, 50):.0f}ms p99={pct(intake, 99):.0f}ms max={pct(intake, 100):.0f}ms"
    )
    return answered, memory_report(monitor, args.seconds)


LAST = 600.0  # seconds: the slope of the last ten minutes of sending says whether RSS levels off


def memory_report(monitor: Monitor, seconds: float) -> float:
    """RSS at the start, the peak, the end; the slope over the second half of the sending and
    over its last ten minutes (when it lasted longer than twenty)."""
    slopes = []
    for name, first, col in (
        ("kefu run", monitor.first[0], "kefu_rss"),
        ("soak (fake server + users)", monitor.first[1], "soak_rss"),
    ):
        points = [(w.t, float(getattr(w, col))) for w in monitor.windows]
        values = [first] + [v for _, v in points]
        half = [(t, v) for t, v in points if seconds / 2 <= t <= seconds + 1]
        last = [(t, v) for t, v in points if seconds - LAST <= t <= seconds + 1]
        slopes.append(slope(half))
        tail = f" last 10 min={slope(last):+.3f}MB/min" if seconds >= 2 * LAST else ""
        print(
            f"rss {name}: start={first:.1f}MB peak={max(values):.1f}MB end={values[-1]:.1f}MB "
            f"slope over the second half={slopes[-1]:+.2f}MB/min{tail}; every "
            f"{PROGRESS:.0f} s: " + " ".join(f"{v:.0f}" for v in values)
        )
    return slopes[0]


def integrity_report(fake: SoakTelegram, monitor: Monitor, db: Path, log: Path) -> None:
    """The bot's own record against what arrived; the kefu log; each lost or stray delivery."""
    led = fake.ledger
    box = outbox(db)
    print(
        f"outbox rows: {box} (sent {box.get('sent', 0)} vs messages that arrived "
        f"{led.deliveries}; packed relays count one each); requests to the fake: "
        f"{dict(fake.methods.most_common())}; 429s: {len(fake.flood.refused)}"
    )
    print(
        f"callback queries unanswered after 30 s: {monitor.late_callbacks}; "
        f"fake server errors: {fake.errors[:3]}; unknown methods: {fake.unknown[:3]}"
    )
    log_report(log)
    for user, e in led.lost()[:10]:
        since = e.step.at - monitor.t0
        print(f"  lost: {e.kind} {e.label!r} for {user.name} ({e.where}), owed since {since:.1f}s")
    for sample in led.samples:
        print(f"  {sample}")


def log_report(log: Path) -> None:
    """Warnings and errors in the kefu log."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []
    bad = [ln for ln in lines if re.search(r" (WARNING|ERROR|CRITICAL) |Traceback", ln)]
    print(f"kefu log: {len(lines)} lines, {len(bad)} warnings or errors")
    for line in bad[:5]:
        print(f"  {line[:200]}")


async def main(args: argparse.Namespace) -> int:
    """Start the fake server and `kefu run`, soak, stop."""
    texts = [load_texts(lang) for lang in ("en", "zh-CN")]
    groups = groups_of(args.routes)
    ledger = Ledger(groups, {t.t["rate_limited"] for t in texts})
    tmp = Path(tempfile.mkdtemp(prefix="kefu-soak-"))
    async with SoakTelegram(ledger, moderator_chat_id=MOD_CHAT) as fake:
        for group in groups[1:]:
            fake.group(group, f"Team {group}")
        if args.flood_limit:  # Telegram's own limits, as its servers hold them
            fake.flood = FloodControl(group=Limit(20, 60.0), overall=Limit(30, 1.0))
        config = write_config(fake, tmp, args.user_limit, args.flood_limit, groups)
        proc = await start_kefu(config, tmp / "kefu.log")
        try:
            code = await soak(args, fake, proc, tmp)
        finally:
            await stop(proc)
    if code or args.keep:
        print(f"(data and log kept in {tmp})", file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return code


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; --quick is a smoke run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--rate", type=float, default=RATE, help="messages/s offered in all")
    parser.add_argument("--drain", type=float, default=60)
    parser.add_argument("--user-limit", type=int, default=BotConfig().user_rate_limit)
    parser.add_argument(
        "--flood-limit", action="store_true", help="Telegram's limits, held by the fake and Kefu"
    )
    parser.add_argument("--routes", type=int, default=0, help="N moderator groups (flood on)")
    parser.add_argument(
        "--tickets-per-minute", type=float, default=0, help="set --rate to open T tickets/min"
    )
    parser.add_argument("--step-timeout", type=float, default=30, help="a user gives up after")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the data directory and log")
    parser.add_argument("--quick", action="store_true", help="200 users, 20 s, 10 s drain")
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.seconds, args.drain = 200, 20, 10
        args.rate = min(args.rate, QUICK_RATE)
    if args.tickets_per_minute:
        args.rate = rate_for(args.tickets_per_minute)
    args.flood_limit = args.flood_limit or args.routes > 0
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
