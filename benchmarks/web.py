"""The web desk under load: pages, the 90-day report, and live updates.

Usage: python benchmarks/web.py [--tickets N] [--clients C] [--rounds R] [--changes K]

Builds a SQLite store with N tickets (default 10,000) spread over 90 days, each with a history
of 2-6 messages (about 180 of them still in the queue), feedback and search misses; serves it
with `kefu web` in a process of its own; then C signed-in clients (default 20) at once:

(a) pages: each client asks R times (default 10) for the queue, a random ticket and the 90-day
    report, in random order, pausing 0.2-0.6 s between requests (moderators, not a flood);
    p50/p95/max per page, measured at the client.
(b) live updates: every client keeps the event stream (/events) open; another process (here:
    this one, on its own connection to the file) opens a ticket or writes in one K times
    (default 15); for each change and client, the time from the change's commit to the
    "change" event at the client, and to the refreshed queue rows the page then fetches.

Targets (2 cores): pages p95 <= 200 ms, report p95 <= 500 ms, live update p95 <= 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import re
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.web.accounts import LocalAccounts  # noqa: E402
from bot.app import DB_NAME  # noqa: E402
from bot.storage import open_store  # noqa: E402
from bot.storage.records import Author, Miss, Ticket, TicketMessage, TicketStatus  # noqa: E402

DAY = 86_400.0
PASSWORD = "benchmark password"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CATEGORIES = ["account/banned", "account/login", "payment/refund", "content/removed", "other"]
PLATFORMS = ["telegram", "discord", "telegram", "telegram", "discord"]
MODS = [f"telegram:{n}" for n in range(8)] + [f"web:local:m{n}" for n in range(4)]


async def populate(path: Path, tickets: int, now: float) -> list[int]:
    """Tickets with histories over 90 days; the ids."""
    rng = random.Random(7)
    store = await open_store(path)
    ids: list[int] = []
    try:
        for start in range(0, tickets, 500):
            async with store.transaction():
                for n in range(start, min(tickets, start + 500)):
                    ids.append(await _ticket(store, rng, n, now))
        async with store.transaction():
            for n in range(3000):
                article = f"article-{n % 40}"
                query = f"query {n % 300}"
                await store.add_feedback(
                    article, query, rng.random() < 0.7, now - rng.uniform(0, 90) * DAY
                )
            for n in range(2000):
                when = now - rng.uniform(0, 90) * DAY
                await store.add_search_miss(Miss(f"missing {n % 250}", created_at=when))
    finally:
        await store.close()
    return ids


async def _ticket(store: object, rng: random.Random, n: int, now: float) -> int:
    created = now - rng.uniform(0, 90) * DAY
    open_now = created > now - 2 * DAY and rng.random() < 0.5
    answered = created + rng.expovariate(1 / 1200)
    closed = answered + rng.expovariate(1 / 14400)
    user = f"telegram:{100_000 + n}"
    ticket = await store.create_ticket(  # type: ignore[attr-defined]
        Ticket(
            user, rng.choice(PLATFORMS), str(100_000 + n), user_name=f"user {n}",
            category=rng.choice(CATEGORIES), lang=rng.choice(["zh-CN", "en"]),
            summary=rng.choice(["账号被封了", "cannot log in", "退款还没到账", "post removed"]),
            created_at=created, priority=rng.choice([0, 0, 1, 2]),
            status=TicketStatus.OPEN if open_now else TicketStatus.CLOSED,
            first_response_at=None if open_now else answered,
            claimed_by="" if open_now else rng.choice(MODS),
            closed_at=None if open_now or closed > now else closed,
            rating=rng.choice([None, 3, 4, 5, 5, 1]) if not open_now else None,
        )
    )  # fmt: skip
    if ticket.closed_at is None and ticket.status is TicketStatus.CLOSED:
        ticket.status = TicketStatus.CLAIMED
        ticket = await store.update_ticket(ticket)  # type: ignore[attr-defined]
    for k in range(rng.randint(2, 6)):
        author = Author.USER if k % 2 == 0 else Author.MODERATOR
        await store.add_message(  # type: ignore[attr-defined]
            TicketMessage(ticket.id, author, user, "", f"message {k} of #{ticket.id} 说明情况",
                          created_at=created + 60 * k)
        )  # fmt: skip
    return int(ticket.id)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _sign_in(base: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30.0)
    page = await client.get("/login")
    token = CSRF.search(page.text)
    assert token
    answer = await client.post(
        "/login", data={"csrf": token.group(1), "name": "bench", "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.text
    return client


async def _wait_listening(base: str, server: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient(base_url=base) as probe:
        for _ in range(600):
            if server.returncode is not None:
                raise RuntimeError("kefu web exited")
            try:
                await probe.get("/login")
            except httpx.TransportError:
                await asyncio.sleep(0.1)
            else:
                return
    raise RuntimeError("kefu web never listened")


async def _cold_reports(client: httpx.AsyncClient, db: Path, report: str) -> list[float]:
    """The 90-day report built afresh: a ticket changes before each request (a kept report
    is reused only while nothing changed)."""
    store = await open_store(db)
    times = []
    try:
        for k in range(7):
            await store.add_message(
                TicketMessage(1, Author.USER, "x", "", f"cold {k}", created_at=time.time())
            )
            started = time.perf_counter()
            assert (await client.get(report)).status_code == 200
            times.append(time.perf_counter() - started)
    finally:
        await store.close()
    return times


async def pages(
    clients: list[httpx.AsyncClient], ids: list[int], rounds: int, report: str
) -> dict[str, list[float]]:
    """(a): each client asks for every page `rounds` times, in random order."""
    times: dict[str, list[float]] = {"queue": [], "ticket": [], "report 90 d": []}

    async def one(client: httpx.AsyncClient, seed: int) -> None:
        rng = random.Random(seed)
        plan = [kind for kind in times for _ in range(rounds)]
        rng.shuffle(plan)
        for kind in plan:
            await asyncio.sleep(rng.uniform(0.2, 0.6))
            path = {
                "queue": "/queue",
                "ticket": f"/tickets/{rng.choice(ids)}",
                "report 90 d": report,
            }[kind]
            started = time.perf_counter()
            answer = await client.get(path)
            times[kind].append(time.perf_counter() - started)
            assert answer.status_code == 200, (path, answer.status_code)

    await asyncio.gather(*(one(c, n) for n, c in enumerate(clients)))
    return times


async def live(
    clients: list[httpx.AsyncClient], db: Path, changes: int
) -> tuple[list[float], list[float]]:
    """(b): change → "change" event at each client, and → refreshed queue rows."""
    events: list[float] = []
    visible: list[float] = []
    changed_at: list[float] = [0.0]
    seen = [asyncio.Event() for _ in clients]

    async def listen(n: int, client: httpx.AsyncClient) -> None:
        async with client.stream("GET", "/events", timeout=None) as stream:
            async for line in stream.aiter_lines():
                if line == "event: change" and changed_at[0]:
                    events.append(time.perf_counter() - changed_at[0])
                    rows = await client.get("/queue/rows")
                    assert rows.status_code == 200
                    visible.append(time.perf_counter() - changed_at[0])
                    seen[n].set()

    listeners = [asyncio.create_task(listen(n, c)) for n, c in enumerate(clients)]
    await asyncio.sleep(1.5)
    store = await open_store(db)
    try:
        for k in range(changes):
            for event in seen:
                event.clear()
            if k % 2:
                await store.add_message(
                    TicketMessage(1, Author.USER, "x", "", f"change {k}", created_at=time.time())
                )
            else:
                await store.create_ticket(
                    Ticket(
                        f"telegram:new{k}",
                        "telegram",
                        f"new{k}",
                        summary="new",
                        created_at=time.time(),
                    )
                )
            changed_at[0] = time.perf_counter()
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in seen)), 10)
            await asyncio.sleep(random.uniform(0.3, 0.8))
    finally:
        await store.close()
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    return events, visible


def _p95(values: list[float]) -> float:
    """The 95th percentile by nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _line(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = _p95(values)
    return (f"  {name:<22} n={len(values):<5} p50 {statistics.median(values) * 1000:7.1f} ms"
            f"   p95 {p95 * 1000:7.1f} ms   max {ordered[-1] * 1000:7.1f} ms")  # fmt: skip


async def add_account(path: Path) -> None:
    """The local account the clients sign in with, in the store."""
    store = await open_store(path)
    try:
        await LocalAccounts(store).add("bench", PASSWORD)
    finally:
        await store.close()


async def main() -> None:
    """Populate, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--changes", type=int, default=15)
    args = parser.parse_args()
    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        started = time.perf_counter()
        ids = await populate(data / DB_NAME, args.tickets, now)
        took = time.perf_counter() - started
        print(f"store: {len(ids)} tickets over 90 days with histories, built in {took:.1f} s")
        await add_account(data / DB_NAME)
        port = _free_port()
        config = Path(tmp) / "kefu.toml"
        config.write_text(
            f'[bot]\ndata_dir = "{data.as_posix()}"\n[web]\nport = {port}\n', encoding="utf-8"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "web", "--config", str(config), env=env, cwd=tmp
        )
        base = f"http://127.0.0.1:{port}"
        try:
            await _wait_listening(base, server)
            clients = [await _sign_in(base) for _ in range(args.clients)]
            today = datetime.now(UTC).date()
            report = f"/reports?from={today - timedelta(days=89)}&to={today}"
            cold = await _cold_reports(clients[0], data / DB_NAME, report)
            print(_line("90-day report, built", cold) + "  (one client, a change before each)")
            times = await pages(clients, ids, args.rounds, report)
            print(f"(a) {args.clients} signed-in clients, {args.rounds} rounds of each page,")
            print("    each client pausing 0.2-0.6 s between its requests:")
            for name, values in times.items():
                print(_line(name, values))
            events, visible = await live(clients, data / DB_NAME, args.changes)
            print(f"(b) live updates: {args.changes} changes made on another connection to the")
            print(f"    file, each seen by {args.clients} clients:")
            print(_line("change -> event", events))
            print(_line("change -> new rows", visible))
            for c in clients:
                await c.aclose()
        finally:
            server.terminate()
            await asyncio.wait_for(server.wait(), 10)
    verdict = (
        _p95(times["queue"]) <= 0.2
        and _p95(times["ticket"]) <= 0.2
        and _p95(times["report 90 d"]) <= 0.5
        and _p95(visible) <= 2.0
    )
    targets = "pages p95 <= 200 ms, report p95 <= 500 ms, live update p95 <= 2 s"
    print(f"targets ({targets}): {'met' if verdict else 'NOT met'}")


if __name__ == "__main__":
    asyncio.run(main())
