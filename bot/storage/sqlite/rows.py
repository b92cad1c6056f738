"""SqliteStore's helpers: schema files, statement batches on the loop's connection, rows."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from dataclasses import fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from bot.state import Conversation, Step
from bot.storage import codec
from bot.storage.records import (
    Author,
    Miss,
    MissKind,
    OutboxItem,
    OutboxStatus,
    StoredFile,
    TaughtExample,
    Ticket,
    TicketMessage,
    TicketStatus,
    UserRecord,
)
from bot.types import ChatKind

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Row = sqlite3.Row
Params = tuple[Any, ...]
Named = dict[str, Any]
Args = Params | Named
Op = tuple[str, Args]

BEGIN: Op = ("BEGIN IMMEDIATE", ())
COMMIT: Op = ("COMMIT", ())
SAVEPOINT: Op = ("SAVEPOINT unit", ())
RELEASE: Op = ("RELEASE unit", ())
ROLLBACK_UNIT: Op = ("ROLLBACK TO unit", ())


def schema_scripts() -> list[tuple[int, str]]:
    """The numbered SQLite schema files (version, SQL text), in version order."""
    return codec.schema_scripts("sqlite")


def split_statements(script: str) -> list[str]:
    """Cut an SQL script into complete statements (so they can run inside one transaction)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    leftover = [line for line in pending.splitlines() if not line.strip().startswith("--")]
    if "".join(leftover).strip():
        raise ValueError("schema script ends with an incomplete statement")
    return statements


# The background connection (aiosqlite's thread: migrations, checkpoints) may wait for locks;
# busy_timeout first: another process may hold the file while we switch to WAL.
BACKGROUND_PRAGMAS = (
    "PRAGMA busy_timeout = 5000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA wal_autocheckpoint = 0",
)

# The event loop's connection never waits inside SQLite (SqliteStore waits with asyncio.sleep)
# and never checkpoints (a checkpoint fsyncs: the background connection does it).
LOOP_PRAGMAS = (
    "PRAGMA busy_timeout = 0",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA wal_autocheckpoint = 0",
    # 8 MiB of pages instead of the default 2: the outbox and its indexes outgrow 2 MiB within
    # seconds under load, and each COMMIT then costs about twice as much (52 µs instead of
    # 104, benchmarks/engine.py); a fixed bound, reached early, so the RSS stays flat.
    "PRAGMA cache_size = -8192",
)


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """The file is locked by another connection for now (SQLITE_BUSY or an extended code)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


class Outcome(NamedTuple):
    """What one statement did: rows changed, the new row id, the rows it returned.

    A NamedTuple: one is made per statement, and a frozen dataclass costs 3x as much to make.
    """

    rowcount: int
    lastrowid: int | None
    rows: list[Row]


def run_ops(conn: sqlite3.Connection, ops: Sequence[Op], atomic: bool) -> list[Outcome]:
    """Run statements in order (atomic: in their own transaction, rolled back on error)."""
    if atomic:
        conn.execute(BEGIN[0])
    try:
        outcomes: list[Outcome] = []
        run_into(conn, ops, outcomes)
        if atomic:
            conn.execute(COMMIT[0])
    except BaseException:
        if atomic:
            rollback_if_open(conn)
        raise
    return outcomes


def run_into(conn: sqlite3.Connection, ops: Sequence[Op], done: list[Outcome]) -> None:
    """Run the statements of ops not yet in `done`, appending each one's outcome as it ends."""
    for statement, params in ops[len(done) :]:
        cursor = conn.execute(statement, params)
        found = cursor.fetchall() if cursor.description is not None else []
        done.append(Outcome(cursor.rowcount, cursor.lastrowid, found))


def rollback_if_open(conn: sqlite3.Connection) -> None:
    """ROLLBACK when a transaction is open (it runs after whatever was queued before it)."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


dump_json = codec.dump_json
load_json = codec.load_json
fold_query = codec.fold_query


def _encode(value: object) -> object:
    """A record field as an SQLite value: enums by value, bools as 0/1, lists and dicts as JSON."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list | dict):
        return dump_json(value)
    return value


_PLAIN = frozenset({str, int, float, type(None)})  # exact types SQLite takes as they are


@functools.cache
def _field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(item.name for item in fields(cls))


def params_of(record: DataclassInstance) -> Named:
    """Every field of a record as named SQL parameters (`:field`), encoded for SQLite."""
    values: Named = {}
    for name in _field_names(type(record)):
        value = getattr(record, name)
        values[name] = value if type(value) in _PLAIN else _encode(value)
    return values


# Enum members by stored value, for the rows read on every turn and delivery: a dict lookup
# costs a tenth of Enum(value). An unknown value raises KeyError (Enum: ValueError).
_STEPS = {step.value: step for step in Step}
_OUTBOX_STATUSES = {status.value: status for status in OutboxStatus}
_CHAT_KINDS = {kind.value: kind for kind in ChatKind}


def _columns(row: Row) -> Named:
    return dict(zip(row.keys(), row, strict=True))


def user_from_row(row: Row) -> UserRecord:
    """A users row as a record."""
    return _user(_columns(row))


def _user(values: Named) -> UserRecord:
    values["blocked_bot"] = bool(values["blocked_bot"])
    values["banned"] = bool(values["banned"])
    return UserRecord(**values)


def conversation_from_row(row: Row) -> Conversation:
    """A conversations row as a Conversation."""
    return _conversation(_columns(row))


def _conversation(values: Named) -> Conversation:
    values["step"] = _STEPS[values["step"]]
    values["data"] = load_json(values["data"])
    return Conversation(**values)


def ticket_from_row(row: Row) -> Ticket:
    """A tickets row as a Ticket."""
    return _ticket(_columns(row))


def _ticket(values: Named) -> Ticket:
    values["answers"] = [(str(a), str(b)) for a, b in load_json(values["answers"])]
    values["surfaces"] = [(str(a), str(b)) for a, b in load_json(values["surfaces"])]
    values["images"] = json_list(values["images"])
    values["status"] = TicketStatus(values["status"])
    values["user_unreachable"] = bool(values["user_unreachable"])
    return Ticket(**values)


def split_turn(
    row: Row,
) -> tuple[UserRecord | None, Conversation | None, Ticket | None, bool]:
    """The row of LOAD_TURN as its user, conversation and ticket (None where the LEFT JOIN
    found none) and whether the event was seen. The tables are told apart by their first
    columns (users `key`, conversations `user_key`, tickets `id`), so a column a later schema
    adds goes to its own table."""
    names, values = row.keys(), tuple(row)
    conv_at, ticket_at = names.index("user_key"), names.index("id")
    end = len(values) - 1  # the last column: seen

    def part(start: int, stop: int) -> Named:
        return dict(zip(names[start:stop], values[start:stop], strict=True))

    user = None if values[0] is None else _user(part(0, conv_at))
    conv = None if values[conv_at] is None else _conversation(part(conv_at, ticket_at))
    ticket = None if values[ticket_at] is None else _ticket(part(ticket_at, end))
    return user, conv, ticket, bool(values[end])


def message_from_row(row: Row, attachments: list[str]) -> TicketMessage:
    """A ticket_messages row (and its attachments, in order) as a TicketMessage."""
    values = _columns(row)
    values["author"] = Author(values["author"])
    return TicketMessage(**values, attachments=attachments)


def miss_params(miss: Miss, now: float) -> Named:
    """A miss as named parameters (grouped by its folded query)."""
    return {
        "query": miss.query,
        "norm": fold_query(miss.query),
        "created_at": miss.created_at or now,
        "kb": miss.kb,
        "kind": miss.kind.value,
        "article_id": miss.article_id,
    }


def miss_from_row(row: Row) -> Miss:
    """A search_misses row as a Miss."""
    values = _columns(row)
    values["kind"] = MissKind(values["kind"])
    return Miss(**values)


def example_from_row(row: Row) -> TaughtExample:
    """A search_examples row as a TaughtExample."""
    return TaughtExample(**_columns(row))


def file_from_row(row: Row) -> StoredFile:
    """A files row as a StoredFile."""
    return StoredFile(**_columns(row))


def outbox_params(item: OutboxItem) -> Named:
    """An outbox item as named parameters, with its lane (by hand: a turn makes several, and
    the generic params_of costs ~3x as much)."""
    return {
        "key": item.key,
        "platform": item.platform,
        "chat_id": item.chat_id,
        "thread": item.thread,
        "lane": item.lane,
        "chat_kind": item.chat_kind.value,
        "ticket_id": item.ticket_id,
        "to_ticket": int(item.to_ticket),
        "card": int(item.card),
        "pack": int(item.pack),
        "payload": dump_json(item.payload),
        "status": item.status.value,
        "attempts": item.attempts,
        "next_at": item.next_at,
        "last_error": item.last_error,
        "created_at": item.created_at,
        "sent_at": item.sent_at,
        "maybe_doubled": int(item.maybe_doubled),
        "inflight_at": item.inflight_at,
    }


def conversation_params(conv: Conversation) -> Named:
    """A conversation as named parameters (by hand: one is saved every turn)."""
    return {
        "user_key": conv.user_key,
        "step": conv.step.value,
        "data": dump_json(conv.data),
        "lang": conv.lang,
        "version": conv.version,
        "updated_at": conv.updated_at,
    }


def outbox_from_row(row: Row) -> OutboxItem:
    """An outbox row as an OutboxItem."""
    values = _columns(row)
    del values["lane"]
    values["payload"] = load_json(values["payload"])
    values["status"] = _OUTBOX_STATUSES[values["status"]]
    values["chat_kind"] = _CHAT_KINDS[values["chat_kind"]]
    values["maybe_doubled"] = bool(values["maybe_doubled"])
    values["to_ticket"] = bool(values["to_ticket"])
    values["card"] = bool(values["card"])
    values["pack"] = bool(values["pack"])
    return OutboxItem(**values)


def due_from_row(row: Row) -> OutboxItem:
    """An outbox row loaded to be sent: still in flight means its last send's process died
    before recording the outcome, so the platform may have it already (maybe doubled)."""
    item = outbox_from_row(row)
    item.maybe_doubled = item.maybe_doubled or item.inflight_at is not None
    return item


def json_list(text: str) -> list[str]:
    """A JSON array column as a list of strings."""
    return [str(value) for value in load_json(text)]


def with_attachments(found: list[Row], attached: list[Row]) -> list[TicketMessage]:
    """Messages from their rows and (message_id, sha256) rows in attachment order."""
    by_message: dict[int, list[str]] = {}
    for row in attached:
        by_message.setdefault(row[0], []).append(row[1])
    return [message_from_row(row, by_message.get(row["id"], [])) for row in found]
