"""Moving a deployment from one store to another (`kefu db copy`): every table, row for row,
in a form both stores read and write (JSON decoded, booleans as bool), ids kept.

`Portable` is the role a store plays for it; `copy_store` runs the copy and checks the counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

Row = dict[str, Any]
CHUNK = 2000  # rows a round trip


@dataclass(frozen=True, slots=True)
class Table:
    """One table as both stores hold it: its columns, the ones kept as JSON or booleans, and
    the key that orders it."""

    name: str
    columns: tuple[str, ...]
    order: tuple[str, ...]
    json: tuple[str, ...] = ()
    bools: tuple[str, ...] = ()


TABLES = (
    Table(
        "users",
        ("key", "platform", "platform_id", "display_name", "lang", "blocked_bot", "banned",
         "created_at"),
        ("key",),
        bools=("blocked_bot", "banned"),
    ),
    Table(
        "conversations",
        ("user_key", "step", "data", "lang", "version", "updated_at"),
        ("user_key",),
        json=("data",),
    ),
    Table(
        "tickets",
        ("id", "version", "user_key", "platform", "chat_id", "user_name", "category", "form_id",
         "answers", "images", "status", "priority", "lang", "summary", "created_at",
         "claimed_by", "claimed_at", "first_response_at", "closed_at", "closed_by",
         "close_reason", "rating", "user_unreachable", "last_paged_at", "surfaces"),
        ("id",),
        json=("answers", "images", "surfaces"),
        bools=("user_unreachable",),
    ),
    Table(
        "ticket_messages",
        ("id", "ticket_id", "author", "author_id", "author_name", "text", "created_at"),
        ("id",),
    ),
    Table("message_attachments", ("message_id", "position", "sha256"), ("message_id", "position")),
    Table(
        "files",
        ("sha256", "mime", "size", "width", "height", "path", "created_at"),
        ("sha256",),
    ),
    Table(
        "ticket_threads",
        ("ticket_id", "platform", "chat_id", "thread"),
        ("ticket_id", "platform"),
    ),
    Table("uploads", ("user_key", "sha256"), ("user_key", "sha256")),
    Table("snippets", ("name", "text"), ("name",)),
    Table(
        "article_feedback",
        ("id", "article_id", "query", "solved", "created_at"),
        ("id",),
        bools=("solved",),
    ),
    Table(
        "search_misses",
        ("id", "query", "norm", "created_at", "kb", "kind", "article_id"),
        ("id",),
    ),
    Table(
        "search_examples",
        ("id", "kb", "query", "article_id", "added_by", "created_at"),
        ("id",),
    ),
    Table(
        "outbox",
        ("id", "key", "platform", "chat_id", "thread", "lane", "chat_kind", "ticket_id",
         "to_ticket", "card", "pack", "payload", "status", "attempts", "next_at", "last_error",
         "created_at", "sent_at", "maybe_doubled", "inflight_at"),
        ("id",),
        json=("payload",),
        bools=("to_ticket", "card", "pack", "maybe_doubled"),
    ),
    Table("seen_events", ("platform", "event_id", "seen_at"), ("platform", "event_id")),
    Table("web_accounts", ("name", "password_hash", "created_at", "updated_at"), ("name",)),
    Table("web_keys", ("name", "value", "created_at"), ("name",)),
    Table("moderators", ("key", "name", "updated_at"), ("key",)),
)  # fmt: skip


class Portable(Protocol):
    """What a store offers `kefu db copy`: its tables, row by row."""

    async def count_rows(self, table: Table) -> int:
        """How many rows the table holds."""
        ...

    async def read_rows(self, table: Table, offset: int, limit: int) -> list[Row]:
        """Rows in key order, from `offset`, in the portable form."""
        ...

    async def write_rows(self, table: Table, rows: list[Row]) -> None:
        """Insert rows given in the portable form, keeping their ids."""
        ...

    async def ticket_counter(self) -> int:
        """The last ticket number handed out."""
        ...

    async def finish_copy(self, ticket_counter: int) -> None:
        """After the rows: ticket numbers and ids go on after what was copied."""
        ...


class NotEmpty(Exception):
    """The destination holds data already: a copy goes into a new, empty store."""


async def copy_store(
    source: Portable, target: Portable, say: Callable[[str], None]
) -> list[tuple[str, int, int]]:
    """Copy every table; (table, rows in source, rows in target) for each, as `say` printed."""
    for table in TABLES:
        found = await target.count_rows(table)
        if found:
            raise NotEmpty(f"the destination already holds {found} rows in {table.name}")
    counts = []
    for table in TABLES:
        offset = 0
        while batch := await source.read_rows(table, offset, CHUNK):
            await target.write_rows(table, batch)
            offset += len(batch)
        before, after = await source.count_rows(table), await target.count_rows(table)
        say(f"{table.name:<20} {before:>9} → {after:>9}{'' if before == after else '  MISMATCH'}")
        counts.append((table.name, before, after))
    await target.finish_copy(await source.ticket_counter())
    return counts
