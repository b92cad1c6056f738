"""PostgresTurnStore: a turn's load in one statement, then its writes in one statement (the
kefu_commit_turn function of the schema: atomic, checked by version in the server, where a
conflict or a redelivery raises and undoes every write)."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from bot.storage import codec
from bot.storage.postgres import rows, sql
from bot.storage.postgres.tickets import TICKET_AGAIN, PostgresTicketStore
from bot.storage.records import Loaded, OutboxItem
from bot.storage.writes import Committed, TurnWrites

# One round trip for a turn's load: each record as JSON (decoded by psycopg), or NULL.
LOAD_TURN = """
SELECT
    (SELECT to_jsonb(u) FROM users AS u WHERE u.key = %(user)s) AS user,
    (SELECT to_jsonb(t) FROM tickets AS t
     WHERE t.user_key = %(user)s AND t.status IN ('open', 'claimed')
     ORDER BY t.id DESC LIMIT 1) AS ticket,
    (SELECT to_jsonb(c) FROM conversations AS c WHERE c.user_key = %(conv)s) AS conversation,
    EXISTS (SELECT 1 FROM seen_events WHERE platform = %(platform)s AND event_id = %(event)s)
        AS seen
"""
COMMIT_TURN = "SELECT kefu_commit_turn(%s)"
LOCK_AND_LOAD = """
SELECT kefu_lock_and_load(
    %(lock)s, %(audit)s, %(user)s, %(conv)s, %(platform)s, %(event)s, %(ticket)s::bigint
) AS turn
"""


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
        platform, event_id = event or ("", "")
        params: dict[str, Any] = {
            "user": user_key,
            "conv": user_key if conversation else "",
            "platform": platform,
            "event": event_id,
        }
        held = self._held()
        lock = held.take_lock() if held is not None else ""
        again = TICKET_AGAIN.get()
        TICKET_AGAIN.set(None)
        if lock and held is not None:  # the conversation's lock, then the load, in one statement
            params.update(lock=lock, audit=held.audit, ticket=again)
            found = await self._row(LOCK_AND_LOAD, params)
            row = found["turn"] if found is not None else None
            if row is not None:
                held.target = row["target"]
        else:
            row = await self._row(LOAD_TURN, params)
        if row is None:
            raise RuntimeError("the turn's load returned nothing")
        user, ticket, conv = row["user"], row["ticket"], row["conversation"]
        return Loaded(
            rows.user_from_row(user) if user else None,
            rows.conversation_from_row(conv) if conv and conversation else None,
            rows.ticket_from_row(ticket) if ticket else None,
            bool(row["seen"]) and event is not None,
        )

    async def commit_turn(self, writes: TurnWrites) -> Committed:
        """Everything the turn decided, atomically; AlreadyHandled or Conflict write nothing."""
        turn = _turn(writes)
        if self._here:  # deliveries to these need no NOTIFY: the outbox here claims them
            turn["here"] = self._here
        held = self._held() if not writes.forget else None
        unlock = held.take_unlock() if held is not None else ""
        if unlock:  # released by the same statement, once the writes are in
            turn.update(unlock=unlock, audit=held is not None and held.audit, node=self.node)
        commit = (COMMIT_TURN, (Jsonb(turn, dumps=_dumps),))
        if writes.forget:
            async with self.transaction():
                await self._one(*commit)
                orphans = await self._forget(writes.forget)
        else:
            await self._one(*commit)
            if unlock and held is not None:
                held.behind = []
            orphans = []
        if writes.conversation is not None:
            writes.conversation.version += 1
        for ticket in writes.tickets.values():
            ticket.version += 1
        return Committed(orphans)


_dumps = codec.dump_json


def _plain(params: rows.Named) -> rows.Named:
    """Parameters as plain JSON values (Jsonb wrappers unwrapped)."""
    return {k: v.obj if isinstance(v, Jsonb) else v for k, v in params.items()}


def _outbox(item: OutboxItem) -> rows.Named:
    return _plain(rows.outbox_params(item))


def _turn(writes: TurnWrites) -> dict[str, Any]:
    """The turn's writes as kefu_commit_turn reads them."""
    now = writes.now
    turn: dict[str, Any] = {
        "now": now,
        "reachable": writes.reachable,
        "new_tickets": [_plain(rows.ticket_params(t)) for t in writes.new_tickets],
        "tickets": [_plain(rows.ticket_params(t)) for t in writes.tickets.values()],
        "messages": [rows.message_params(m) for m in writes.messages],
        "outbox": [_outbox(item) for item in writes.outbox],
        "feedback": [
            {"article_id": f.article_id, "query": f.query, "solved": f.solved}
            for f in writes.feedback
        ],
        "misses": [rows.miss_params(miss, now) for miss in writes.misses],
        "snippets": [{"name": name, "text": text} for name, text in writes.snippets],
        "banned": [{"key": key, "banned": banned} for key, banned in writes.banned],
        "retry_dead": list(writes.retry_dead),
        "moved_threads": [
            {"ticket_id": ticket, "platform": platform}
            for ticket, platform in writes.moved_threads
        ],
    }
    # absent rather than JSON null: the function reads a missing key as SQL NULL
    if writes.seen is not None:
        turn["seen"] = list(writes.seen)
    if writes.user is not None:
        turn["user"] = rows.user_params(writes.user)
    if writes.moderator is not None:
        turn["moderator"] = list(writes.moderator)
    if writes.conversation is not None:
        conv = _plain(rows.conversation_params(writes.conversation))
        conv["version"] = writes.conversation.version + 1
        turn["conversation"] = conv
    return turn
