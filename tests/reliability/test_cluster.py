"""Three `kefu run` processes on one PostgreSQL database over the fake Bot API, the polling one
SIGKILLed at seeded moments (test_crash.py's script: users fill the appeal form to a ticket and
relay a message; a moderator answers in each ticket's topic).

A standby takes over getUpdates within 15 s of each kill; every user has one ticket holding
each answer once; every prompt, page, relay and reply arrives, a second copy only where the
database counted its delivery maybe doubled; each user's messages arrive in order; and no
conversation ever had two turns at once: the database's exclusion constraint on `turn_audit`
(cluster.py) would have refused the second, and its rows say they never overlapped.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from tests.adapters.telegram.dialog import Moderator
from tests.adapters.telegram.test_webhook import free_port
from tests.helpers.fake_telegram import FakeTelegram
from tests.reliability.cluster import (
    OVERLAPS,
    Cluster,
    RoundRobin,
    cluster_config,
    in_order,
    prepare,
)
from tests.reliability.test_crash import (
    ANSWERS,
    PROMPTS,
    Flagged,
    Outcome,
    one_user,
    tally,
    topic_of,
)

T = TypeVar("T")
POLLER = "telegram:getUpdates"
TAKEOVER = 15.0  # seconds a standby may take to poll after the holder's death
PROCESSES = 3


async def polled_after(fake: FakeTelegram, since: float, within: float = 30.0) -> float:
    """Seconds from `since` to the first getUpdates call that started after it."""

    def first() -> float | None:
        return next((c.at for c in fake.calls_to("getUpdates") if c.at > since), None)

    at: float = await fake.wait_for(first, within)
    return at - since


async def eventually(probe: Callable[[], Awaitable[T | None]], within: float) -> T:
    """Wait until the async `probe()` gives something."""
    deadline = time.monotonic() + within
    while (found := await probe()) is None:
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)
    return found


def sends(fake: FakeTelegram) -> int:
    """Messages and topics the bot created so far, by every process."""
    return len(fake.calls_to("sendMessage")) + len(fake.calls_to("createForumTopic"))


async def killer(
    fake: FakeTelegram, cluster: Cluster, config: Path, points: list[int]
) -> list[float]:
    """At each point (a number of sends), SIGKILL the poller and start a replacement; the time
    each standby took to poll."""
    takeovers = []
    for point in points:
        await fake.wait_for(lambda p=point: sends(fake) >= p, 120)
        holder = await eventually(lambda: cluster.holder(POLLER), 30)
        died = await cluster.kill(holder)
        await cluster.start(config)
        takeovers.append(await polled_after(fake, died))
    return takeovers


async def flagged(cluster: Cluster) -> Flagged:
    """The deliveries the database flagged maybe doubled."""
    found = Flagged()
    rows = await cluster.query(
        "SELECT chat_id, ticket_id, payload->>'text', card FROM outbox WHERE maybe_doubled"
    )
    for chat, ticket, text, card in rows:
        found.texts.append((str(chat), str(text)))
        if card and ticket is not None:
            found.cards.add(int(str(ticket)))
    return found


async def test_three_processes_survive_sigkills_of_the_poller(tmp_path: Path, pg_url: str) -> None:
    rng = random.Random(11)
    users = 4
    points = sorted(rng.sample(range(8, 17 * users - 10), 3))
    await prepare(pg_url)
    async with FakeTelegram() as fake:
        config = cluster_config(fake, tmp_path, pg_url, "kefu")
        cluster = Cluster(pg_url, tmp_path)
        try:
            for _ in range(PROCESSES):
                await cluster.start(config)
            await polled_after(fake, time.monotonic() - 60, 60)
            kills = asyncio.create_task(killer(fake, cluster, config, points))
            mod = fake.moderator(2001, "Mei")
            script = [one_user(fake, n, Moderator(fake, mod)) for n in range(1, users + 1)]
            done = await asyncio.gather(*script)
            takeovers = await kills
            await fake.wait_for(lambda: not fake.pending_updates(), 30)
        except BaseException:
            print(cluster.logs())
            raise
        finally:
            await cluster.stop()
        marks = await flagged(cluster)
        outcome = Outcome(kills=len(cluster.kills))
        for user, ticket in done:
            name = user.user.first_name
            expected = [*PROMPTS, f"Ticket #{ticket} created", f"Added to ticket #{ticket}",
                        f"Moderator: reply to {name}"]  # fmt: skip
            for text in expected:
                tally(outcome, fake, user.chat_id, None, text, marks)
            topic = topic_of(fake, ticket)
            for text in (f"New ticket #{ticket}", f"User: relay from {name}"):  # page, relay
                tally(outcome, fake, fake.moderator_chat_id, topic, text, marks)
            assert in_order(user.inbox(), expected), [s.text for s in user.inbox()]
        tickets = dict(await cluster.query("SELECT user_key, count(*) FROM tickets GROUP BY 1"))
        answers = dict(await cluster.query("SELECT user_key, answers::text FROM tickets"))
        audited = (await cluster.query("SELECT count(*) FROM turn_audit"))[0][0]
        overlaps = (await cluster.query(OVERLAPS))[0][0]
    print(f"takeovers {[round(t, 1) for t in takeovers]} s; doubled {outcome.doubled}")
    assert len(cluster.kills) == 3
    assert max(takeovers) <= TAKEOVER, takeovers
    assert sorted(tickets.values()) == [1] * users, tickets
    for n in range(1, users + 1):
        for _, answer in ANSWERS:
            assert (
                str(answers[f"telegram:{1000 + n}"]).count(answer.format(n=n, name=f"U{n}")) == 1
            )
    assert outcome.lost == [], outcome.lost
    assert outcome.unexplained == [], outcome.unexplained
    assert audited > 0 and overlaps == 0
    assert fake.pending_updates() == []
    assert fake.errors == [] and fake.unknown == []


async def test_three_webhook_processes_behind_one_address_survive_a_sigkill(
    tmp_path: Path, pg_url: str
) -> None:
    """The fake delivers round-robin to three processes' receivers; one is killed mid-run:
    what it had not answered 200 is delivered again to another, and what it had committed is
    not handled twice (each answer once in each ticket)."""
    users = 4
    ports = [free_port() for _ in range(PROCESSES)]
    await prepare(pg_url)
    async with FakeTelegram() as fake, RoundRobin(ports) as balancer:
        hook = f'mode = "webhook"\nwebhook_url = "http://127.0.0.1:{balancer.port}/kefu/tg"\n'
        configs = [
            cluster_config(fake, tmp_path, pg_url, f"kefu{n}", f"{hook}port = {port}\n")
            for n, port in enumerate(ports)
        ]
        cluster = Cluster(pg_url, tmp_path)
        try:
            for config in configs:
                await cluster.start(config)
            await fake.wait_for(lambda: fake.webhook, 60)
            mod = fake.moderator(2001, "Mei")
            script = asyncio.gather(
                *(one_user(fake, n, Moderator(fake, mod)) for n in range(1, users + 1))
            )
            await fake.wait_for(lambda: sends(fake) >= 25, 120)
            await cluster.kill(cluster.nodes[1])
            before_kill = len(balancer.forwarded)
            done = await script
            await fake.wait_for(lambda: not fake.pending_updates(), 30)
        except BaseException:
            print(cluster.logs())
            raise
        finally:
            await cluster.stop()
        marks = await flagged(cluster)
        outcome = Outcome(kills=1)
        for user, ticket in done:
            expected = [*PROMPTS, f"Ticket #{ticket} created", f"Added to ticket #{ticket}"]
            for text in expected:
                tally(outcome, fake, user.chat_id, None, text, marks)
            assert in_order(user.inbox(), expected), [s.text for s in user.inbox()]
        tickets = dict(await cluster.query("SELECT user_key, count(*) FROM tickets GROUP BY 1"))
        answers = dict(await cluster.query("SELECT user_key, answers::text FROM tickets"))
        overlaps = (await cluster.query(OVERLAPS))[0][0]
    served = {port for port, status in balancer.forwarded if status == 200}
    refused = {port for port, status in balancer.forwarded[before_kill:] if status != 200}
    assert served == set(ports), balancer.forwarded  # every process received
    assert refused == {ports[1]}  # after the kill, the dead one's turns went elsewhere
    assert sorted(tickets.values()) == [1] * users, tickets
    for n in range(1, users + 1):
        for _, answer in ANSWERS:
            assert (
                str(answers[f"telegram:{1000 + n}"]).count(answer.format(n=n, name=f"U{n}")) == 1
            )
    assert outcome.lost == [] and outcome.unexplained == [], outcome
    assert overlaps == 0
    assert fake.pending_updates() == []
