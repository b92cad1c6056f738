"""Versioned schema for PostgreSQL: the numbered files in bot/storage/schema/postgres, each
applied once in a transaction of its own and recorded in `kefu_schema`; the newest one's
transaction also applies the functions in their current form (functions.sql, CREATE OR
REPLACE), so a database at the newest version always has them.

Processes that start together migrate one at a time (a transaction-scoped advisory lock), and
a database newer than this Kefu is refused.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import tuple_row

from bot.storage import codec

# Any constant works: it only has to be the same in every process of a deployment.
MIGRATION_LOCK = 0x6B656675  # "kefu"
_TRACK = """
CREATE TABLE IF NOT EXISTS kefu_schema (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
)
"""


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer Kefu."""


def latest() -> int:
    """The newest schema version this Kefu knows."""
    scripts = codec.schema_scripts("postgres")
    return scripts[-1][0] if scripts else 0


async def migrate(conn: psycopg.AsyncConnection[Any]) -> list[int]:
    """Apply the schema files the database has not seen (autocommit connection); the versions
    applied now."""
    applied: list[int] = []
    for version, script in codec.schema_scripts("postgres"):
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await conn.execute(_TRACK)
            cur = conn.cursor(row_factory=tuple_row)
            await cur.execute("SELECT coalesce(max(version), 0) FROM kefu_schema")
            row = await cur.fetchone()
            current = int(row[0]) if row else 0
            if current > latest():
                raise SchemaTooNew(f"database schema {current} is newer than this Kefu's")
            if version <= current:
                continue
            await conn.execute(script.encode())  # several statements, no parameters
            if version == latest():
                await conn.execute(codec.schema_functions("postgres").encode())
            await conn.execute("INSERT INTO kefu_schema (version) VALUES (%s)", (version,))
            applied.append(version)
    return applied


async def current_version(conn: psycopg.AsyncConnection[Any]) -> int:
    """The version the database is at (0: none applied)."""
    cur = conn.cursor(row_factory=tuple_row)
    await cur.execute("SELECT to_regclass('kefu_schema') IS NOT NULL")
    row = await cur.fetchone()
    if not row or not row[0]:
        return 0
    await cur.execute("SELECT coalesce(max(version), 0) FROM kefu_schema")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


def migrate_sync(url: str) -> None:
    """Migrate the database at `url` from synchronous code (the tests' template database)."""
    with psycopg.connect(url, autocommit=True, row_factory=tuple_row) as conn:
        for version, script in codec.schema_scripts("postgres"):
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                conn.execute(_TRACK)
                row = conn.execute("SELECT coalesce(max(version), 0) FROM kefu_schema").fetchone()
                if row is not None and int(row[0]) >= version:
                    continue
                conn.execute(script.encode())
                if version == latest():
                    conn.execute(codec.schema_functions("postgres").encode())
                conn.execute("INSERT INTO kefu_schema (version) VALUES (%s)", (version,))
