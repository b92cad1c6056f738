"""PostgresQueryStore: the read-only questions of the web desk and the reports (see
bot.storage.base.QueryStore), as SqliteQueryStore asks them. Every statement is fixed text; an
unused criterion is a NULL or empty parameter that its clause lets through."""

from __future__ import annotations

from collections.abc import Collection

from bot.storage.postgres import rows
from bot.storage.postgres.conn import PostgresConnection
from bot.storage.records import (
    FeedbackCount,
    OpsSnapshot,
    Ticket,
    TicketFacts,
    TicketQuery,
    TicketStatus,
)

# strpos(lower(..)) rather than LIKE: what a moderator types is matched literally (% and _ too).
FIND_TICKETS = """
SELECT * FROM tickets AS t
WHERE (%(number)s::bigint IS NULL OR t.id = %(number)s::bigint)
  AND (%(user)s = '' OR t.user_key = %(user)s
       OR right(t.user_key, length(%(user)s) + 1) = ':' || %(user)s
       OR strpos(lower(t.user_name), lower(%(user)s)) > 0)
  AND (%(category)s = '' OR t.category = %(category)s
       OR left(t.category, length(%(category)s) + 1) = %(category)s || '/')
  AND (%(status)s = '' OR t.status = %(status)s)
  AND (%(since)s::float8 IS NULL OR t.created_at >= %(since)s::float8)
  AND (%(until)s::float8 IS NULL OR t.created_at < %(until)s::float8)
  AND (%(text)s = '' OR strpos(lower(t.summary), lower(%(text)s)) > 0
       OR strpos(lower(t.answers::text), lower(%(text)s)) > 0
       OR EXISTS (SELECT 1 FROM ticket_messages AS m
                  WHERE m.ticket_id = t.id AND strpos(lower(m.text), lower(%(text)s)) > 0))
ORDER BY t.id DESC LIMIT %(limit)s
"""

CHANGE_MARK = """
SELECT (SELECT coalesce(max(id), 0) FROM tickets) AS tickets,
       (SELECT coalesce(max(id), 0) FROM ticket_messages) AS messages,
       (SELECT count(*) FROM tickets WHERE status IN ('open', 'claimed')) AS queued,
       (SELECT coalesce(sum(version), 0) FROM tickets WHERE status IN ('open', 'claimed'))
           AS versions
"""

TICKET_FACTS = """
SELECT id, platform, category, status, created_at, first_response_at, closed_at,
       CASE WHEN claimed_by <> '' THEN claimed_by
            WHEN closed_by <> '' AND substr(closed_by, 1, 5) <> 'user:' THEN closed_by
            ELSE '' END AS handler,
       rating
FROM tickets
WHERE (created_at >= %(since)s AND created_at < %(until)s)
   OR (closed_at >= %(since)s AND closed_at < %(until)s)
ORDER BY created_at, id
"""

FEEDBACK_COUNTS = """
SELECT article_id, query, count(*) FILTER (WHERE solved) AS solved,
       count(*) FILTER (WHERE NOT solved) AS unsolved
FROM article_feedback WHERE created_at >= %s AND created_at < %s
GROUP BY article_id, query ORDER BY article_id COLLATE "C", query COLLATE "C"
"""

MISS_COUNTS = """
SELECT norm, count(*) AS n FROM search_misses
WHERE kind = 'nothing' AND created_at >= %s AND created_at < %s
GROUP BY norm ORDER BY n DESC, norm COLLATE "C" LIMIT %s
"""

QUEUE_DEPTH = """
SELECT status, count(*) AS n FROM tickets WHERE status IN ('open', 'claimed') GROUP BY status
"""
OUTBOX_PENDING = """
SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE status = 'pending'
"""
OUTBOX_DEAD = "SELECT count(*) AS n FROM outbox WHERE status = 'dead'"
TICKETS_BY_PLATFORM = """
SELECT platform, count(*) AS opened, count(*) FILTER (WHERE status = 'closed') AS closed
FROM tickets GROUP BY platform
"""
SLA_BREACHES = """
SELECT count(*) AS n FROM tickets
WHERE %(sla)s > 0 AND (
    (first_response_at IS NOT NULL AND first_response_at - created_at > %(sla)s)
    OR (first_response_at IS NULL AND coalesce(closed_at, %(now)s) - created_at > %(sla)s))
"""

MODERATOR_NAMES = "SELECT key, name FROM moderators WHERE key = ANY(%s)"


class PostgresQueryStore(PostgresConnection):
    """The query role of the PostgreSQL store: reads only."""

    async def find_tickets(self, query: TicketQuery) -> list[Ticket]:
        """Tickets matching every criterion given, newest first."""
        found = await self._rows(FIND_TICKETS, query.params())
        return [rows.ticket_from_row(row) for row in found]

    async def change_mark(self) -> tuple[int, ...]:
        """Differs whenever a ticket was opened, saved or written in, by any process."""
        row = await self._row(CHANGE_MARK)
        return tuple(int(value) for value in row.values()) if row is not None else ()

    async def ticket_facts(self, since: float, until: float) -> list[TicketFacts]:
        """Every ticket created or closed in [since, until), oldest first."""
        found = await self._rows(TICKET_FACTS, {"since": since, "until": until})
        return [
            TicketFacts(
                int(r["id"]),
                r["platform"],
                r["category"],
                TicketStatus(r["status"]),
                r["created_at"],
                r["first_response_at"],
                r["closed_at"],
                r["handler"],
                r["rating"],
            )
            for r in found
        ]

    async def feedback_counts(self, since: float, until: float) -> list[FeedbackCount]:
        """Solved / Not solved clicks in [since, until), per article and query."""
        found = await self._rows(FEEDBACK_COUNTS, (since, until))
        return [
            FeedbackCount(r["article_id"], r["query"], int(r["solved"]), int(r["unsolved"]))
            for r in found
        ]

    async def miss_counts(self, since: float, until: float, limit: int) -> list[tuple[str, int]]:
        """Queries that found nothing in [since, until), folded, most frequent first."""
        found = await self._rows(MISS_COUNTS, (since, until, limit))
        return [(str(r["norm"]), int(r["n"])) for r in found]

    async def ops_snapshot(self, now: float, sla_seconds: float) -> OpsSnapshot:
        """Queue depth, outbox, dead letters, tickets by platform, SLA breaches: one trip."""
        depth, pending, dead, by_platform, breaches = await self._reads(
            (QUEUE_DEPTH, ()),
            (OUTBOX_PENDING, ()),
            (OUTBOX_DEAD, ()),
            (TICKETS_BY_PLATFORM, ()),
            (SLA_BREACHES, {"sla": sla_seconds, "now": now}),
        )
        counts = {r["status"]: int(r["n"]) for r in depth}
        return OpsSnapshot(
            queue_open=counts.get("open", 0),
            queue_claimed=counts.get("claimed", 0),
            outbox_pending=int(pending[0]["n"]),
            oldest_pending_at=pending[0]["oldest"],
            dead_letters=int(dead[0]["n"]),
            opened={r["platform"]: int(r["opened"]) for r in by_platform},
            closed={r["platform"]: int(r["closed"]) for r in by_platform},
            sla_breaches=int(breaches[0]["n"]),
        )

    async def moderator_names(self, keys: Collection[str]) -> dict[str, str]:
        """The recorded name of each of those keys that has one."""
        if not keys:
            return {}
        found = await self._rows(MODERATOR_NAMES, (sorted(keys),))
        return {r["key"]: r["name"] for r in found}
