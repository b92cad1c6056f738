"""Several `kefu run` processes (real subprocesses) on one PostgreSQL database, as a deployment
runs them: started, SIGKILLed, replaced; and what the database says about them afterwards.

Each process is a node (`host:pid:…` in `nodes`), so the holder of a lease names its process.
The processes run with KEFU_TEST_AUDIT_TURNS: every committed turn writes its time under the
conversation's lock into `turn_audit`, whose exclusion constraint (btree_gist: no two rows of
one key with overlapping times) makes the database itself refuse two turns at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from aiohttp import ClientError, ClientSession, ClientTimeout, web

from tests.helpers.fake_telegram import TOKEN, FakeTelegram
from tests.helpers.fake_telegram.state import Sent
from tests.helpers.loopback import serve

REPO = Path(__file__).resolve().parents[2]

AUDIT_TABLE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE turn_audit (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key    text NOT NULL,
    node   text NOT NULL,
    during tstzrange NOT NULL,
    EXCLUDE USING gist (key WITH =, during WITH &&)
);
"""
# The same proof by query, should a named server lack btree_gist's constraint.
OVERLAPS = """
SELECT count(*) FROM turn_audit AS a JOIN turn_audit AS b
ON a.key = b.key AND a.id < b.id AND a.during && b.during
"""


def cluster_config(fake: FakeTelegram, tmp: Path, url: str, name: str, telegram: str = "") -> Path:
    """One process's config: the fake Bot API, the shared database and file directory."""
    config = tmp / f"{name}.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{tmp / "data"}"\ndefault_lang = "en"\n'
        f"[telegram]\nenabled = true\nmoderator_chat_id = {fake.moderator_chat_id}\n"
        f'base_url = "{fake.base_url}"\nbase_file_url = "{fake.base_file_url}"\n'
        f"rate_limit = false\n{telegram}"
        f'[store]\nurl = "{url}"\nfiles = "{tmp / "files"}"\n',
        encoding="utf-8",
    )
    return config


async def prepare(url: str) -> None:
    """The audit table, before any process starts."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(AUDIT_TABLE.encode())


@dataclass
class Node:
    """One `kefu run` process."""

    process: asyncio.subprocess.Process
    config: Path
    log: Path


@dataclass
class Cluster:
    """`kefu run` processes on one database; killed ones can be replaced."""

    url: str
    tmp: Path
    nodes: list[Node] = field(default_factory=list)
    kills: list[float] = field(default_factory=list)  # monotonic times of the SIGKILLs
    audit: bool = True  # KEFU_TEST_AUDIT_TURNS (the test made turn_audit with prepare())

    async def start(self, config: Path) -> Node:
        """Start one process with `config`."""
        log = self.tmp / f"kefu-{len(self.nodes)}.log"
        env = {
            **os.environ,
            "KEFU_TELEGRAM_TOKEN": TOKEN,
            "KEFU_TEST_AUDIT_TURNS": "1" if self.audit else "",
            "PTB_TIMEDELTA": "true",
        }
        with log.open("ab") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(config),
                cwd=REPO, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=err,
            )  # fmt: skip
        node = Node(process, config, log)
        self.nodes.append(node)
        return node

    def alive(self) -> list[Node]:
        """The processes still running."""
        return [n for n in self.nodes if n.process.returncode is None]

    async def holder(self, lease: str) -> Node | None:
        """The live process holding `lease` (its node id names its pid)."""
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            cur = await conn.execute(
                "SELECT holder FROM leases WHERE name = %s AND expires_at > clock_timestamp()",
                (lease,),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        pid = int(str(row[0]).split(":")[1])
        return next((n for n in self.alive() if n.process.pid == pid), None)

    async def kill(self, node: Node) -> float:
        """SIGKILL one process; when it died."""
        os.kill(node.process.pid, signal.SIGKILL)
        await node.process.wait()
        at = time.monotonic()
        self.kills.append(at)
        return at

    async def stop(self) -> None:
        """Stop every live process (SIGINT, then SIGKILL if it hangs)."""
        for node in self.alive():
            node.process.send_signal(signal.SIGINT)
        for node in self.nodes:
            try:
                await asyncio.wait_for(node.process.wait(), 15)
            except TimeoutError:
                node.process.kill()
                await node.process.wait()

    def logs(self) -> str:
        """Every process's log, for a failure message (tail of each)."""
        return "\n".join(f"--- {n.log.name}\n{n.log.read_text()[-3000:]}" for n in self.nodes)

    async def query(self, statement: str) -> list[tuple[object, ...]]:
        """Rows of a query on the shared database."""
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            cur = await conn.execute(statement.encode())
            return list(await cur.fetchall())


def in_order(received: list[Sent], expected: list[str]) -> bool:
    """Whether the first copy of each expected text arrived in the expected order."""
    firsts = []
    for text in expected:
        at = next((i for i, s in enumerate(received) if text in s.text), None)
        if at is None:
            return False
        firsts.append(at)
    return firsts == sorted(firsts)


class RoundRobin:
    """One webhook address in front of several processes' ports (a load balancer): each
    request goes to the next port; a port that refuses the connection answers 502, and
    Telegram (the fake) delivers the update again later."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.port = 0
        self.forwarded: list[tuple[int, int]] = []  # (backend port, status)
        # (when answered, backend port, status, update id), monotonic time
        self.log: list[tuple[float, int, int, int]] = []
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    async def __aenter__(self) -> RoundRobin:
        self._session = ClientSession(timeout=ClientTimeout(total=30))
        app = web.Application()
        app.router.add_route("POST", "/{path:.*}", self._forward)
        self._runner, self.port = await serve(app, access_log=None, shutdown_timeout=0.1)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        port = self.ports[self._next % len(self.ports)]
        self._next += 1
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-tele")}
        assert self._session is not None
        body = await request.read()
        try:
            async with self._session.post(
                f"http://127.0.0.1:{port}{request.path}",
                data=body,
                headers={**headers, "Content-Type": "application/json"},
            ) as resp:
                status, answer = resp.status, await resp.read()
        except (ClientError, TimeoutError):
            status, answer = 502, b""
        self.forwarded.append((port, status))
        update = json.loads(body).get("update_id", 0) if body.startswith(b"{") else 0
        self.log.append((time.monotonic(), port, status, int(update)))
        return web.Response(status=status, body=answer, content_type="application/json")
