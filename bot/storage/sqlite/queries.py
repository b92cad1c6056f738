"""SqliteQueryStore: the read-only questions of the web desk and the reports (see
bot.storage.base.QueryStore). Every statement is fixed text; an unused criterion is a NULL or
empty parameter that its clause lets through."""

from __future__ import annotations

from collections.abc import Collection

from bot.storage.records import (
    FeedbackCount,
    OpsSnapshot,
    Ticket,
    TicketFacts,
    TicketQuery,
    TicketStatus,
)
from bot.storage.sqlite import rows
from bot.storage.sqlite.conn import SqliteConnection

# instr(lower(..)) rather than LIKE: what a moderator types is matched literally (% and _ too).
FIND_TICKETS = """
SELECT * FROM tickets AS t
WHERE (:number IS NULL OR t.id = :number)
  AND (:user = '' OR t.user_key = :user OR substr(t.user_key, -length(:user) - 1) = ':' || :user
       OR instr(lower(t.user_name), lower(:user)) > 0)
  AND (:category = '' OR t.category = :category
       OR substr(t.category, 1, length(:category) + 1) = :category || '/')
  AND (:status = '' OR t.status = :status)
  AND (:since IS NULL OR t.created_at >= :since)
  AND (:until IS NULL OR t.created_at < :until)
  AND (:text = '' OR instr(lower(t.summary), lower(:text)) > 0
       OR instr(lower(t.answers), lower(:text)) > 0
       OR EXISTS (SELECT 1 FROM ticket_messages AS m
                  WHERE m.ticket_id = t.id AND instr(lower(m.text), lower(:text)) > 0))
ORDER BY t.id DESC LIMIT :limit
"""

# The newest ticket and message, and the versions of the tickets in the queue: any opening,
# move (every save bumps a version; a ticket that leaves the queue changes the count) or
# message changes one of them. Reads the queue's rows only, not every ticket.
CHANGE_MARK = """
SELECT (SELECT coalesce(max(id), 0) FROM tickets),
       (SELECT coalesce(max(id), 0) FROM ticket_messages),
       (SELECT count(*) FROM tickets WHERE status IN ('open', 'claimed')),
       (SELECT coalesce(sum(version), 0) FROM tickets WHERE status IN ('open', 'claimed'))
"""

# closed_by is "user:<key>" when the user closed it: that is nobody's handling.
TICKET_FACTS = """
SELECT id, platform, category, status, created_at, first_response_at, closed_at,
       CASE WHEN claimed_by <> '' THEN claimed_by
            WHEN closed_by <> '' AND substr(closed_by, 1, 5) <> 'user:' THEN closed_by
            ELSE '' END AS handler,
       rating
FROM tickets
WHERE (created_at >= :since AND created_at < :until)
   OR (closed_at >= :since AND closed_at < :until)
ORDER BY created_at, id
"""

FEEDBACK_COUNTS = """
SELECT article_id, query, SUM(solved), COUNT(*) - SUM(solved) FROM article_feedback
WHERE created_at >= ? AND created_at < ?
GROUP BY article_id, query ORDER BY article_id, query
"""

MISS_COUNTS = """
SELECT norm, COUNT(*) AS n FROM search_misses
WHERE kind = 'nothing' AND created_at >= ? AND created_at < ?
GROUP BY norm ORDER BY n DESC, norm LIMIT ?
"""

QUEUE_DEPTH = """
SELECT status, COUNT(*) FROM tickets WHERE status IN ('open', 'claimed') GROUP BY status
"""
OUTBOX_PENDING = "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'"
OUTBOX_DEAD = "SELECT COUNT(*) FROM outbox WHERE status = 'dead'"
TICKETS_BY_PLATFORM = """
SELECT platform, COUNT(*), SUM(status = 'closed') FROM tickets GROUP BY platform
"""
# Answered after the SLA, or not answered and waiting (until closed, or still) past it.
SLA_BREACHES = """
SELECT COUNT(*) FROM tickets
WHERE :sla > 0 AND (
    (first_response_at IS NOT NULL AND first_response_at - created_at > :sla)
    OR (first_response_at IS NULL AND coalesce(closed_at, :now) - created_at > :sla))
"""

MODERATOR_NAMES = "SELECT key, name FROM moderators WHERE key IN (SELECT value FROM json_each(?))"


class SqliteQueryStore(SqliteConnection):
    """The query role of the SQLite store: reads only."""

    async def find_tickets(self, query: TicketQuery) -> list[Ticket]:
        """Tickets matching every criterion given, newest first."""
        found = await self._rows(FIND_TICKETS, query.params())
        return [rows.ticket_from_row(row) for row in found]

    async def change_mark(self) -> tuple[int, ...]:
        """Differs whenever a ticket was opened, saved or written in, by any process."""
        row = await self._row(CHANGE_MARK)
        return tuple(int(value) for value in row) if row is not None else ()

    async def ticket_facts(self, since: float, until: float) -> list[TicketFacts]:
        """Every ticket created or closed in [since, until), oldest first."""
        found = await self._rows(TICKET_FACTS, {"since": since, "until": until})
        status = {s.value: s for s in TicketStatus}  # a dict lookup, not an enum call per row
        return [
            TicketFacts(r[0], r[1], r[2], status[r[3]], r[4], r[5], r[6], r[7], r[8])
            for r in found
        ]

    async def feedback_counts(self, since: float, until: float) -> list[FeedbackCount]:
        """Solved / Not solved clicks in [since, until), per article and query."""
        found = await self._rows(FEEDBACK_COUNTS, (since, until))
        return [FeedbackCount(r[0], r[1], int(r[2]), int(r[3])) for r in found]

    async def miss_counts(self, since: float, until: float, limit: int) -> list[tuple[str, int]]:
        """Queries that found nothing in [since, until), folded, most frequent first."""
        found = await self._rows(MISS_COUNTS, (since, until, limit))
        return [(r[0], int(r[1])) for r in found]

    async def ops_snapshot(self, now: float, sla_seconds: float) -> OpsSnapshot:
        """Queue depth, outbox, dead letters, tickets by platform, SLA breaches: one read."""
        depth, pending, dead, by_platform, breaches = await self._reads(
            (QUEUE_DEPTH, ()),
            (OUTBOX_PENDING, ()),
            (OUTBOX_DEAD, ()),
            (TICKETS_BY_PLATFORM, ()),
            (SLA_BREACHES, {"sla": sla_seconds, "now": now}),
        )
        counts = {r[0]: int(r[1]) for r in depth}
        return OpsSnapshot(
            queue_open=counts.get("open", 0),
            queue_claimed=counts.get("claimed", 0),
            outbox_pending=int(pending[0][0]),
            oldest_pending_at=pending[0][1],
            dead_letters=int(dead[0][0]),
            opened={r[0]: int(r[1]) for r in by_platform},
            closed={r[0]: int(r[2] or 0) for r in by_platform},
            sla_breaches=int(breaches[0][0]),
        )

    async def moderator_names(self, keys: Collection[str]) -> dict[str, str]:
        """The recorded name of each of those keys that has one."""
        if not keys:
            return {}
        found = await self._rows(MODERATOR_NAMES, (rows.dump_json(sorted(keys)),))
        return {r[0]: r[1] for r in found}
