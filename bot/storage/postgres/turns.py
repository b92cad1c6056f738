"""PostgresTurnStore: a turn's load, then its writes committed in one round trip, checked by
version in the server (a conflict or a redelivery raises there and undoes every write)."""

from __future__ import annotations

from bot.state import Conversation
from bot.storage.postgres import rows, sql
from bot.storage.postgres.conn import Op
from bot.storage.postgres.tickets import PostgresTicketStore
from bot.storage.records import Loaded
from bot.storage.writes import Committed, TurnWrites

_GUARDED_SEEN = sql.expect_one(sql.MARK_SEEN_NAMED)
_GUARDED_INSERT_CONVERSATION = sql.expect_one(sql.INSERT_CONVERSATION)
_GUARDED_UPDATE_CONVERSATION = sql.expect_one(sql.UPDATE_CONVERSATION)
_GUARDED_UPDATE_TICKET = sql.expect_one(sql.UPDATE_TICKET)


class PostgresTurnStore(PostgresTicketStore):
    """The engine's role of the PostgreSQL store (see bot.storage.base.TurnStore)."""

    async def is_seen(self, platform: str, event_id: str) -> bool:
        """Whether the event was handled already."""
        return await self._row(sql.IS_SEEN, (platform, event_id)) is not None

    async def mark_seen(self, platform: str, event_id: str, now: float) -> bool:
        """Record an event id; False when it was seen before (handle it only once)."""
        done = await self._one(sql.MARK_SEEN, (platform, event_id, now))
        return done.rowcount == 1

    async def load_turn(
        self, user_key: str, conversation: bool = True, event: tuple[str, str] | None = None
    ) -> Loaded:
        """The user, their conversation, their open ticket and the event's mark, in one trip."""
        user, ticket, conv, seen = await self._reads(
            (sql.GET_USER, (user_key,)),
            (sql.OPEN_TICKET_FOR, (user_key,)),
            (sql.LOAD_CONVERSATION, (user_key if conversation else "",)),
            (sql.IS_SEEN, event or ("", "")),
        )
        return Loaded(
            rows.user_from_row(user[0]) if user else None,
            rows.conversation_from_row(conv[0]) if conv and conversation else None,
            rows.ticket_from_row(ticket[0]) if ticket else None,
            bool(seen) and event is not None,
        )

    async def commit_turn(self, writes: TurnWrites) -> Committed:
        """Everything the turn decided, atomically; AlreadyHandled or Conflict write nothing."""
        ops = _turn_ops(writes)
        if writes.outbox:
            ops.append((sql.NOTIFY_OUTBOX, ()))  # delivered at COMMIT: a hint, never needed
        if writes.forget:
            async with self.transaction():
                await self._batch(ops)
                orphans = await self._forget(writes.forget)
        else:
            await self._batch(ops)
            orphans = []
        if writes.conversation is not None:
            writes.conversation.version += 1
        for ticket in writes.tickets.values():
            ticket.version += 1
        return Committed(orphans)


def _guard(statement: str, params: rows.Named, state: str, message: str) -> Op:
    return (statement, {**params, "state": state, "message": message})


def _conversation_op(conv: Conversation, now: float) -> Op:
    params = rows.conversation_params(conv)
    params["version"] = conv.version + 1
    params["updated_at"] = now
    statement = _GUARDED_INSERT_CONVERSATION if conv.version == 0 else _GUARDED_UPDATE_CONVERSATION
    return _guard(statement, params, sql.CONFLICT_STATE, f"conversation {conv.user_key}")


def _turn_ops(writes: TurnWrites) -> list[Op]:
    """The statements of a turn, the guarded ones raising in the server."""
    ops: list[Op] = []
    now = writes.now
    if writes.seen is not None:
        platform, event_id = writes.seen
        seen = {"platform": platform, "event": event_id, "now": now}
        message = f"event {writes.seen} was handled before"
        ops.append(_guard(_GUARDED_SEEN, seen, sql.SEEN_STATE, message))
    if writes.user is not None:
        ops.append((sql.UPSERT_USER, rows.user_params(writes.user)))
    if writes.reachable:
        ops += [(statement, {"key": writes.reachable}) for statement in sql.REACHABLE]
    if writes.conversation is not None:
        ops.append(_conversation_op(writes.conversation, now))
    ops += [(sql.INSERT_TICKET, rows.ticket_params(t)) for t in writes.new_tickets]
    for ticket in writes.tickets.values():
        params, message = rows.ticket_params(ticket), f"ticket #{ticket.id}"
        ops.append(_guard(_GUARDED_UPDATE_TICKET, params, sql.CONFLICT_STATE, message))
    ops += [(sql.INSERT_MESSAGE, rows.message_params(m)) for m in writes.messages]
    ops += [(sql.INSERT_OUTBOX, rows.outbox_params(item)) for item in writes.outbox]
    ops += [(sql.INSERT_FEEDBACK, (f.article_id, f.query, f.solved, now)) for f in writes.feedback]
    ops += [(sql.INSERT_MISS, rows.miss_params(miss, now)) for miss in writes.misses]
    ops += [(sql.SET_SNIPPET, pair) for pair in writes.snippets]
    ops += [(sql.SET_BANNED, (banned, key)) for key, banned in writes.banned]
    ops += [(sql.RETRY_DEAD, (now, item_id)) for item_id in writes.retry_dead]
    ops += [(sql.CLEAR_THREAD, pair) for pair in writes.moved_threads]
    return ops
