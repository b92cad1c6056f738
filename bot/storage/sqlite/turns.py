"""SqliteTurnStore: a turn's load, then its writes committed as one unit with version checks."""

from __future__ import annotations

from contextvars import ContextVar

from bot.state import Conversation
from bot.storage.records import Loaded
from bot.storage.sqlite import rows, sql
from bot.storage.sqlite.tickets import SqliteTicketStore
from bot.storage.writes import AlreadyHandled, Committed, Conflict, TurnWrites

# How many group COMMITs had failed when the running task loaded its turn: a turn that read
# finished-but-uncommitted writes that were then lost must not commit on top of them.
_LOADED_AT: ContextVar[int] = ContextVar("kefu_sqlite_loaded_at", default=0)

# The moderator's latest name: written only when it is new or changed.
UPSERT_MODERATOR = """
INSERT INTO moderators (key, name, updated_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at
WHERE moderators.name <> excluded.name
"""


class SqliteTurnStore(SqliteTicketStore):
    """The engine's role of the SQLite store (see bot.storage.base.TurnStore)."""

    async def is_seen(self, platform: str, event_id: str) -> bool:
        """Whether the event was handled already."""
        row = await self._row(sql.IS_SEEN, (platform, event_id))
        return row is not None

    async def mark_seen(self, platform: str, event_id: str, now: float) -> bool:
        """Record an event id; False when it was seen before (handle it only once)."""
        [outcome] = await self._write((sql.MARK_SEEN, (platform, event_id, now)))
        return outcome.rowcount == 1

    async def load_turn(
        self, user_key: str, conversation: bool = True, event: tuple[str, str] | None = None
    ) -> Loaded:
        """The user, their conversation, their open ticket and the event's mark, in one batch."""
        _LOADED_AT.set(self.failed_groups)
        platform, event_id = event or ("", "")
        params = {
            "key": user_key,
            "conversation": user_key if conversation else "",
            "platform": platform,
            "event": event_id,
        }
        [found] = await self._reads((sql.LOAD_TURN, params))
        user, conv, ticket, seen = rows.split_turn(found[0])
        return Loaded(user, conv, ticket, seen and event is not None)

    async def next_ticket_id(self) -> int:
        """The next ticket number, committed before it is used."""
        [outcome] = await self._write((sql.NEXT_TICKET_ID, ()))
        return int(outcome.rows[0][0])

    async def commit_turn(self, writes: TurnWrites) -> Committed:
        """Everything the turn decided, in one unit; AlreadyHandled or Conflict write nothing."""
        async with self.transaction():
            if _LOADED_AT.get() != self.failed_groups:
                raise Conflict("a commit failed after this turn loaded")
            ops, checks = _turn_ops(writes)
            outcomes = await self._send(ops)
            for index, error in checks:
                if outcomes[index].rowcount != 1:
                    raise error
            orphans = await self._forget(writes.forget) if writes.forget else []
        if writes.conversation is not None:
            writes.conversation.version += 1
        for ticket in writes.tickets.values():
            ticket.version += 1
        return Committed(orphans)


def _conversation_op(conv: Conversation, now: float) -> rows.Op:
    params = rows.conversation_params(conv)
    params["version"] = conv.version + 1
    params["updated_at"] = now
    return (sql.INSERT_CONVERSATION if conv.version == 0 else sql.UPDATE_CONVERSATION, params)


def _turn_ops(writes: TurnWrites) -> tuple[list[rows.Op], list[tuple[int, Exception]]]:
    """The statements of a turn, and which of them must change exactly one row (or raise)."""
    ops: list[rows.Op] = []
    checks: list[tuple[int, Exception]] = []
    now = writes.now
    if writes.seen is not None:
        checks.append((len(ops), AlreadyHandled(f"event {writes.seen} was handled before")))
        ops.append((sql.MARK_SEEN, (*writes.seen, now)))
    if writes.user is not None:
        ops.append((sql.UPSERT_USER, rows.params_of(writes.user)))
    if writes.moderator is not None:
        ops.append((UPSERT_MODERATOR, (*writes.moderator, now)))
    if writes.reachable:
        ops += [(statement, {"key": writes.reachable}) for statement in sql.REACHABLE]
    if writes.conversation is not None:
        checks.append((len(ops), Conflict(f"conversation {writes.conversation.user_key}")))
        ops.append(_conversation_op(writes.conversation, now))
    ops += [(sql.INSERT_TICKET, rows.params_of(t)) for t in writes.new_tickets]
    for ticket in writes.tickets.values():
        checks.append((len(ops), Conflict(f"ticket #{ticket.id}")))
        ops.append((sql.UPDATE_TICKET, rows.params_of(ticket)))
    for message in writes.messages:
        ops.append((sql.INSERT_MESSAGE, rows.params_of(message)))
        if message.attachments:
            ops.append((sql.INSERT_ATTACHMENTS, (rows.dump_json(message.attachments),)))
    ops += [(sql.INSERT_OUTBOX, rows.outbox_params(item)) for item in writes.outbox]
    ops += [
        (sql.INSERT_FEEDBACK, (f.article_id, f.query, int(f.solved), now)) for f in writes.feedback
    ]
    ops += [(sql.INSERT_MISS, rows.miss_params(miss, now)) for miss in writes.misses]
    ops += [(sql.SET_SNIPPET, pair) for pair in writes.snippets]
    ops += [(sql.SET_BANNED, (int(banned), key)) for key, banned in writes.banned]
    ops += [(sql.RETRY_DEAD, (now, item_id)) for item_id in writes.retry_dead]
    ops += [(sql.CLEAR_THREAD, pair) for pair in writes.moved_threads]
    return ops, checks
