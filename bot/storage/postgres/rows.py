"""PostgresStore's records as parameters and back: booleans are booleans, JSON is jsonb
(psycopg hands it back decoded), enums go in by value."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from bot.state import Conversation, Step
from bot.storage.codec import fold_query
from bot.storage.postgres.conn import Row
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

Named = dict[str, Any]


def user_params(user: UserRecord) -> Named:
    """A user as named parameters."""
    return {
        "key": user.key,
        "platform": user.platform,
        "platform_id": user.platform_id,
        "display_name": user.display_name,
        "lang": user.lang,
        "blocked_bot": user.blocked_bot,
        "banned": user.banned,
        "created_at": user.created_at,
    }


def conversation_params(conv: Conversation) -> Named:
    """A conversation as named parameters."""
    return {
        "user_key": conv.user_key,
        "step": conv.step.value,
        "data": Jsonb(conv.data),
        "lang": conv.lang,
        "version": conv.version,
        "updated_at": conv.updated_at,
    }


def ticket_params(ticket: Ticket) -> Named:
    """A ticket as named parameters (every column)."""
    return {
        "id": ticket.id,
        "version": ticket.version,
        "user_key": ticket.user_key,
        "platform": ticket.platform,
        "chat_id": ticket.chat_id,
        "user_name": ticket.user_name,
        "category": ticket.category,
        "form_id": ticket.form_id,
        "answers": Jsonb([list(pair) for pair in ticket.answers]),
        "images": Jsonb(list(ticket.images)),
        "status": TicketStatus(ticket.status).value,
        "priority": ticket.priority,
        "lang": ticket.lang,
        "summary": ticket.summary,
        "created_at": ticket.created_at,
        "claimed_by": ticket.claimed_by,
        "claimed_at": ticket.claimed_at,
        "first_response_at": ticket.first_response_at,
        "closed_at": ticket.closed_at,
        "closed_by": ticket.closed_by,
        "close_reason": ticket.close_reason,
        "rating": ticket.rating,
        "user_unreachable": ticket.user_unreachable,
        "last_paged_at": ticket.last_paged_at,
        "surfaces": Jsonb([list(pair) for pair in ticket.surfaces]),
    }


def message_params(message: TicketMessage) -> Named:
    """A ticket message (with its attachments as an array) as named parameters."""
    return {
        "ticket_id": message.ticket_id,
        "author": Author(message.author).value,
        "author_id": message.author_id,
        "author_name": message.author_name,
        "text": message.text,
        "created_at": message.created_at,
        "attachments": list(message.attachments),
    }


def file_params(file: StoredFile) -> Named:
    """A stored file's record as named parameters."""
    return {
        "sha256": file.sha256,
        "mime": file.mime,
        "size": file.size,
        "width": file.width,
        "height": file.height,
        "path": file.path,
        "created_at": file.created_at,
    }


def outbox_params(item: OutboxItem) -> Named:
    """An outbox item as named parameters, with its lane."""
    return {
        "key": item.key,
        "platform": item.platform,
        "chat_id": item.chat_id,
        "thread": item.thread,
        "lane": item.lane,
        "chat_kind": ChatKind(item.chat_kind).value,
        "ticket_id": item.ticket_id,
        "to_ticket": item.to_ticket,
        "card": item.card,
        "pack": item.pack,
        "payload": Jsonb(item.payload),
        "status": OutboxStatus(item.status).value,
        "attempts": item.attempts,
        "next_at": item.next_at,
        "last_error": item.last_error,
        "created_at": item.created_at,
        "sent_at": item.sent_at,
        "maybe_doubled": item.maybe_doubled,
        "inflight_at": item.inflight_at,
    }


def miss_params(miss: Miss, now: float) -> Named:
    """A miss as named parameters (grouped by its folded query)."""
    return {
        "query": miss.query,
        "norm": fold_query(miss.query),
        "created_at": miss.created_at or now,
        "kb": miss.kb,
        "kind": MissKind(miss.kind).value,
        "article_id": miss.article_id,
    }


def example_params(example: TaughtExample) -> Named:
    """A taught example as named parameters (its id is the database's)."""
    return {
        "kb": example.kb,
        "query": example.query,
        "article_id": example.article_id,
        "added_by": example.added_by,
        "created_at": example.created_at,
    }


def miss_from_row(row: Row) -> Miss:
    """A search_misses row as a Miss."""
    values = dict(row)
    values["kind"] = MissKind(values["kind"])
    return Miss(**values)


def example_from_row(row: Row) -> TaughtExample:
    """A search_examples row as a TaughtExample."""
    return TaughtExample(**row)


def user_from_row(row: Row) -> UserRecord:
    """A users row as a record."""
    return UserRecord(**row)


def conversation_from_row(row: Row) -> Conversation:
    """A conversations row as a Conversation."""
    values = dict(row)
    values["step"] = Step(values["step"])
    return Conversation(**values)


def ticket_from_row(row: Row) -> Ticket:
    """A tickets row as a Ticket."""
    values = dict(row)
    values["answers"] = [(str(a), str(b)) for a, b in values["answers"]]
    values["images"] = [str(sha) for sha in values["images"]]
    values["surfaces"] = [(str(a), str(b)) for a, b in values["surfaces"]]
    values["status"] = TicketStatus(values["status"])
    return Ticket(**values)


def message_from_row(row: Row, attachments: list[str]) -> TicketMessage:
    """A ticket_messages row (and its attachments, in order) as a TicketMessage."""
    values = dict(row)
    values["author"] = Author(values["author"])
    return TicketMessage(**values, attachments=attachments)


def file_from_row(row: Row) -> StoredFile:
    """A files row as a StoredFile."""
    return StoredFile(**row)


def outbox_from_row(row: Row) -> OutboxItem:
    """An outbox row as an OutboxItem."""
    values = dict(row)
    del values["lane"], values["claimed_by"]
    values["status"] = OutboxStatus(values["status"])
    values["chat_kind"] = ChatKind(values["chat_kind"])
    return OutboxItem(**values)


def due_from_row(row: Row) -> OutboxItem:
    """An outbox row loaded to be sent; still in flight means its last send's process died (or
    forgot it) before recording the outcome: the platform may have it already."""
    item = outbox_from_row(row)
    item.maybe_doubled = item.maybe_doubled or item.inflight_at is not None
    return item


def with_attachments(found: list[Row], attached: list[Row]) -> list[TicketMessage]:
    """Messages from their rows and (message_id, sha256) rows in attachment order."""
    by_message: dict[int, list[str]] = {}
    for row in attached:
        by_message.setdefault(row["message_id"], []).append(row["sha256"])
    return [message_from_row(row, by_message.get(row["id"], [])) for row in found]


def strings(found: list[Row], column: str) -> list[str]:
    """One column of rows, as strings."""
    return [str(row[column]) for row in found]
