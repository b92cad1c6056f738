"""SqliteStore's helpers: schema, statement batches on its database thread, rows, SQL."""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import fields
from enum import StrEnum
from importlib import resources
from typing import TYPE_CHECKING, Any, NamedTuple

from bot.state import Conversation, Step
from bot.storage.base import (
    Author,
    OutboxItem,
    OutboxStatus,
    StoredFile,
    Ticket,
    TicketMessage,
    TicketStatus,
    UserRecord,
)

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

_SCHEMA_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def schema_scripts() -> list[tuple[int, str]]:
    """The numbered schema files (version, SQL text), in version order."""
    folder = resources.files("bot.storage").joinpath("schema")
    scripts: dict[int, str] = {}
    for entry in folder.iterdir():
        match = _SCHEMA_NAME.match(entry.name)
        if match is None:
            continue
        version = int(match.group(1))
        if version in scripts:
            raise RuntimeError(f"two schema files share version {version}")
        scripts[version] = entry.read_text(encoding="utf-8")
    return sorted(scripts.items())


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


def dump_json(value: object) -> str:
    """Compact JSON that keeps CJK readable in the file."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def lane_of(thread: str, ticket_id: int | None) -> str:
    """The delivery lane within a chat: the thread, but "@ticket" is one lane per ticket."""
    if thread == "@ticket":
        return f"@ticket:{ticket_id if ticket_id is not None else ''}"
    return thread


def fold_query(query: str) -> str:
    """How search misses are grouped: lower case, whitespace runs collapsed, trimmed."""
    return " ".join(query.lower().split())


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


def _columns(row: Row) -> Named:
    return dict(zip(row.keys(), row, strict=True))


def user_from_row(row: Row) -> UserRecord:
    """A users row as a record."""
    values = _columns(row)
    values["blocked_bot"] = bool(values["blocked_bot"])
    values["banned"] = bool(values["banned"])
    return UserRecord(**values)


def conversation_from_row(row: Row) -> Conversation:
    """A conversations row as a Conversation."""
    values = _columns(row)
    values["step"] = Step(values["step"])
    values["data"] = json.loads(values["data"])
    return Conversation(**values)


def ticket_from_row(row: Row) -> Ticket:
    """A tickets row as a Ticket."""
    values = _columns(row)
    values["answers"] = [(str(a), str(b)) for a, b in json.loads(values["answers"])]
    values["images"] = json_list(values["images"])
    values["status"] = TicketStatus(values["status"])
    values["user_unreachable"] = bool(values["user_unreachable"])
    return Ticket(**values)


def message_from_row(row: Row, attachments: list[str]) -> TicketMessage:
    """A ticket_messages row (and its attachments, in order) as a TicketMessage."""
    values = _columns(row)
    values["author"] = Author(values["author"])
    return TicketMessage(**values, attachments=attachments)


def file_from_row(row: Row) -> StoredFile:
    """A files row as a StoredFile."""
    return StoredFile(**_columns(row))


def outbox_params(item: OutboxItem) -> Named:
    """An outbox item as named parameters, with its lane."""
    return {**params_of(item), "lane": lane_of(item.thread, item.ticket_id)}


def outbox_from_row(row: Row) -> OutboxItem:
    """An outbox row as an OutboxItem."""
    values = _columns(row)
    del values["lane"]
    values["payload"] = json.loads(values["payload"])
    values["status"] = OutboxStatus(values["status"])
    values["maybe_doubled"] = bool(values["maybe_doubled"])
    return OutboxItem(**values)


def due_from_row(row: Row) -> OutboxItem:
    """An outbox row loaded to be sent: still in flight means its last send's process died
    before recording the outcome, so the platform may have it already (maybe doubled)."""
    item = outbox_from_row(row)
    item.maybe_doubled = item.maybe_doubled or item.inflight_at is not None
    return item


def json_list(text: str) -> list[str]:
    """A JSON array column as a list of strings."""
    return [str(value) for value in json.loads(text)]


# SQL used by SqliteStore. Values always go in as parameters; an IN list goes in as one JSON
# array parameter, read with json_each, so no statement text is ever assembled.

MARK_SEEN = """
INSERT INTO seen_events (platform, event_id, seen_at) VALUES (?, ?, ?)
ON CONFLICT (platform, event_id) DO NOTHING
"""

GET_USER = "SELECT * FROM users WHERE key = ?"

LOAD_CONVERSATION = "SELECT * FROM conversations WHERE user_key = ?"

UPSERT_USER = """
INSERT INTO users (key, platform, platform_id, display_name, lang, blocked_bot, banned, created_at)
VALUES (:key, :platform, :platform_id, :display_name, :lang, :blocked_bot, :banned, :created_at)
ON CONFLICT (key) DO UPDATE SET
    platform = excluded.platform, platform_id = excluded.platform_id,
    display_name = excluded.display_name, lang = excluded.lang,
    blocked_bot = excluded.blocked_bot, banned = excluded.banned
"""

UPSERT_CONVERSATION = """
INSERT INTO conversations (user_key, step, data, lang, version, updated_at)
VALUES (:user_key, :step, :data, :lang, :version, :updated_at)
ON CONFLICT (user_key) DO UPDATE SET
    step = excluded.step, data = excluded.data, lang = excluded.lang,
    version = excluded.version, updated_at = excluded.updated_at
"""

INSERT_TICKET = """
INSERT INTO tickets (
    user_key, platform, chat_id, user_name, category, form_id, answers, images, status,
    priority, lang, summary, created_at, claimed_by, claimed_at, first_response_at, closed_at,
    closed_by, close_reason, rating, user_unreachable, last_paged_at
) VALUES (
    :user_key, :platform, :chat_id, :user_name, :category, :form_id, :answers, :images, :status,
    :priority, :lang, :summary, :created_at, :claimed_by, :claimed_at, :first_response_at,
    :closed_at, :closed_by, :close_reason, :rating, :user_unreachable, :last_paged_at
)
"""

UPDATE_TICKET = """
UPDATE tickets SET
    user_key = :user_key, platform = :platform, chat_id = :chat_id, user_name = :user_name,
    category = :category, form_id = :form_id, answers = :answers, images = :images,
    status = :status, priority = :priority, lang = :lang, summary = :summary,
    created_at = :created_at, claimed_by = :claimed_by, claimed_at = :claimed_at,
    first_response_at = :first_response_at, closed_at = :closed_at, closed_by = :closed_by,
    close_reason = :close_reason, rating = :rating, user_unreachable = :user_unreachable,
    last_paged_at = :last_paged_at
WHERE id = :id
"""

OPEN_TICKET_FOR = """
SELECT * FROM tickets WHERE user_key = ? AND status IN ('open', 'claimed')
ORDER BY id DESC LIMIT 1
"""

LATEST_TICKET_FOR = "SELECT * FROM tickets WHERE user_key = ? ORDER BY id DESC LIMIT 1"

LIST_TICKETS = "SELECT * FROM tickets ORDER BY id DESC LIMIT ?"

LIST_TICKETS_IN = """
SELECT * FROM tickets WHERE status IN (SELECT value FROM json_each(?)) ORDER BY id DESC LIMIT ?
"""

QUEUE = """
SELECT * FROM tickets WHERE status IN ('open', 'claimed')
ORDER BY priority DESC, created_at, id
"""

QUEUE_AHEAD = """
SELECT COUNT(*) FROM tickets WHERE status = 'open' AND id != ? AND (
    priority > ? OR (priority = ? AND (created_at < ? OR (created_at = ? AND id < ?))))
"""

INSERT_MESSAGE = """
INSERT INTO ticket_messages (ticket_id, author, author_id, author_name, text, created_at)
VALUES (:ticket_id, :author, :author_id, :author_name, :text, :created_at)
"""

# Runs right after INSERT_MESSAGE: last_insert_rowid() is that message's id, and inserts into
# a WITHOUT ROWID table (this one) leave it unchanged. `key` is the position in the JSON array.
INSERT_ATTACHMENTS = """
INSERT INTO message_attachments (message_id, position, sha256)
SELECT last_insert_rowid(), key, value FROM json_each(?)
"""

MESSAGES = "SELECT * FROM ticket_messages WHERE ticket_id = ? ORDER BY id"

ATTACHMENTS_OF_TICKET = """
SELECT a.message_id, a.sha256 FROM message_attachments AS a
JOIN ticket_messages AS m ON m.id = a.message_id
WHERE m.ticket_id = ? ORDER BY a.message_id, a.position
"""

MESSAGES_AFTER = "SELECT * FROM ticket_messages WHERE id > ? ORDER BY id LIMIT ?"

ATTACHMENTS_AFTER = """
SELECT message_id, sha256 FROM message_attachments
WHERE message_id IN (SELECT id FROM ticket_messages WHERE id > ? ORDER BY id LIMIT ?)
ORDER BY message_id, position
"""

FIRST_RESPONSES = """
SELECT first_response_at - created_at FROM tickets WHERE first_response_at IS NOT NULL
ORDER BY first_response_at DESC, id DESC LIMIT ?
"""

# Moderators only: closed_by is "user:<key>" when the user closed the ticket.
ACTIVE_MODERATORS = """
SELECT COUNT(*) FROM (
    SELECT author_id AS who FROM ticket_messages
    WHERE created_at >= ? AND author IN ('moderator', 'note') AND author_id <> ''
    UNION
    SELECT claimed_by FROM tickets WHERE claimed_at >= ? AND claimed_by <> ''
    UNION
    SELECT closed_by FROM tickets
    WHERE closed_at >= ? AND closed_by <> '' AND substr(closed_by, 1, 5) <> 'user:'
)
"""

SET_THREAD = """
INSERT INTO ticket_threads (ticket_id, platform, chat_id, thread) VALUES (?, ?, ?, ?)
ON CONFLICT (ticket_id, platform) DO UPDATE SET
    chat_id = excluded.chat_id, thread = excluded.thread
"""

THREAD_OF = "SELECT chat_id, thread FROM ticket_threads WHERE ticket_id = ? AND platform = ?"

TICKET_BY_THREAD = """
SELECT ticket_id FROM ticket_threads WHERE platform = ? AND chat_id = ? AND thread = ?
ORDER BY ticket_id DESC LIMIT 1
"""

INSERT_FILE = """
INSERT INTO files (sha256, mime, size, width, height, path, created_at)
VALUES (:sha256, :mime, :size, :width, :height, :path, :created_at)
ON CONFLICT (sha256) DO NOTHING
"""

INSERT_OUTBOX = """
INSERT INTO outbox (
    key, platform, chat_id, thread, lane, chat_kind, ticket_id, payload, status, attempts,
    next_at, last_error, created_at, sent_at, maybe_doubled, inflight_at
) VALUES (
    :key, :platform, :chat_id, :thread, :lane, :chat_kind, :ticket_id, :payload, :status,
    :attempts, :next_at, :last_error, :created_at, :sent_at, :maybe_doubled, :inflight_at
)
ON CONFLICT (key) DO NOTHING
"""  # no RETURNING: rowcount and lastrowid say the same, and RETURNING costs ~13 µs

OUTBOX_ID = "SELECT id FROM outbox WHERE key = ?"

# A lane's head blocks the rest of the lane even while it waits for its retry time.
DUE = """
SELECT * FROM outbox AS o
WHERE o.status = 'pending' AND o.platform IN (SELECT value FROM json_each(?))
  AND o.next_at <= ?
  AND NOT EXISTS (
    SELECT 1 FROM outbox AS p
    WHERE p.status = 'pending' AND p.platform = o.platform AND p.chat_id = o.chat_id
      AND p.lane = o.lane AND p.id < o.id
  )
ORDER BY o.id LIMIT ?
"""

# One statement for a whole batch (ids as a JSON array): each id is a primary-key lookup.
MARK_INFLIGHT = """
UPDATE outbox SET inflight_at = ?
WHERE id IN (SELECT value FROM json_each(?)) AND status = 'pending'
"""

# An outcome recorded: the send is no longer in flight.
MARK_SENT = """
UPDATE outbox SET status = 'sent', sent_at = ?, maybe_doubled = ?, inflight_at = NULL
WHERE id = ?
"""

MARK_RETRY = """
UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ?,
    maybe_doubled = maybe_doubled OR ?, inflight_at = NULL
WHERE id = ?
"""

MARK_DEAD = "UPDATE outbox SET status = 'dead', last_error = ?, inflight_at = NULL WHERE id = ?"

RETRY_DEAD = "UPDATE outbox SET status = 'pending', next_at = ? WHERE id = ? AND status = 'dead'"

OUTBOX_ITEMS = "SELECT * FROM outbox ORDER BY id LIMIT ?"

OUTBOX_ITEMS_IN = """
SELECT * FROM outbox WHERE status IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?
"""

SET_SNIPPET = """
INSERT INTO snippets (name, text) VALUES (?, ?)
ON CONFLICT (name) DO UPDATE SET text = excluded.text
"""

INSERT_FEEDBACK = """
INSERT INTO article_feedback (article_id, query, solved, created_at) VALUES (?, ?, ?, ?)
"""

INSERT_MISS = "INSERT INTO search_misses (query, norm, created_at) VALUES (?, ?, ?)"

ARTICLE_STATS = """
SELECT article_id, SUM(solved), COUNT(*) - SUM(solved) FROM article_feedback
GROUP BY article_id
ORDER BY CAST(SUM(solved) AS REAL) / COUNT(*), COUNT(*) DESC, article_id
LIMIT ?
"""

TOP_MISSES = """
SELECT norm, COUNT(*) AS n FROM search_misses GROUP BY norm ORDER BY n DESC, norm LIMIT ?
"""

FORGET_ATTACHMENTS = """
SELECT a.sha256 FROM message_attachments AS a
JOIN ticket_messages AS m ON m.id = a.message_id
JOIN tickets AS t ON t.id = m.ticket_id
WHERE t.user_key = ? AND m.author = 'user'
"""

_USER_MESSAGES = """
SELECT m.id FROM ticket_messages AS m JOIN tickets AS t ON t.id = m.ticket_id
WHERE t.user_key = :key AND m.author = 'user'
"""

# In order: outbox copies of the user's words (delivered or dead) lose their payload, the
# user's messages lose text, name and attachments, their tickets lose what they wrote; the
# rows, statuses and times stay so queue statistics stay right.
FORGET_STEPS = (
    """
    UPDATE outbox SET payload = '{}'
    WHERE status IN ('sent', 'dead') AND (
        ticket_id IN (SELECT id FROM tickets WHERE user_key = :key)
        OR (chat_kind = 'private' AND (platform, chat_id) IN (
            SELECT platform, chat_id FROM tickets WHERE user_key = :key
            UNION SELECT platform, platform_id FROM users WHERE key = :key
        ))
    )
    """,
    f"DELETE FROM message_attachments WHERE message_id IN ({_USER_MESSAGES})",
    f"UPDATE ticket_messages SET text = '', author_name = '' WHERE id IN ({_USER_MESSAGES})",
    """
    UPDATE tickets SET user_name = '', answers = '[]', images = '[]', summary = ''
    WHERE user_key = :key
    """,
    "DELETE FROM conversations WHERE user_key = :key",
    "DELETE FROM uploads WHERE user_key = :key",
    "DELETE FROM users WHERE key = :key",
)

# Files among the candidates (a JSON array) that no ticket or message refers to any more.
ORPHAN_FILES = """
SELECT sha256, path FROM files
WHERE sha256 IN (SELECT value FROM json_each(?))
  AND NOT EXISTS (SELECT 1 FROM message_attachments AS a WHERE a.sha256 = files.sha256)
  AND NOT EXISTS (
    SELECT 1 FROM tickets AS t, json_each(t.images) AS j WHERE j.value = files.sha256
  )
  AND NOT EXISTS (SELECT 1 FROM uploads AS u WHERE u.sha256 = files.sha256)
ORDER BY path
"""

DELETE_FILES = "DELETE FROM files WHERE sha256 IN (SELECT value FROM json_each(?))"

INSERT_UPLOAD = "INSERT INTO uploads (user_key, sha256) VALUES (?, ?) ON CONFLICT DO NOTHING"


def with_attachments(found: list[Row], attached: list[Row]) -> list[TicketMessage]:
    """Messages from their rows and (message_id, sha256) rows in attachment order."""
    by_message: dict[int, list[str]] = {}
    for row in attached:
        by_message.setdefault(row[0], []).append(row[1])
    return [message_from_row(row, by_message.get(row["id"], [])) for row in found]


_EXPIRED = "SELECT id FROM tickets WHERE status = 'closed' AND closed_at < ?"
EXPIRED_IMAGES = f"SELECT images FROM tickets WHERE id IN ({_EXPIRED})"
EXPIRED_ATTACHMENTS = f"""
SELECT a.sha256 FROM message_attachments AS a
JOIN ticket_messages AS m ON m.id = a.message_id WHERE m.ticket_id IN ({_EXPIRED})
"""
# Retention: closed tickets keep their words and times, not their files.
EXPIRE_STEPS = (
    f"""DELETE FROM message_attachments WHERE message_id IN (
        SELECT id FROM ticket_messages WHERE ticket_id IN ({_EXPIRED}))""",
    f"UPDATE tickets SET images = '[]' WHERE id IN ({_EXPIRED})",
)
DELETE_UPLOADS_OF = "DELETE FROM uploads WHERE sha256 IN (SELECT value FROM json_each(?))"
