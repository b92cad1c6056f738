"""PostgresPortable: the PostgreSQL store's tables for `kefu db copy` (bot/storage/portable.py)."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from bot.storage.portable import TABLES, Row, Table
from bot.storage.postgres.conn import Op, PostgresConnection

# Identifiers cannot be parameters: the statements are built once, here, from the fixed table
# list in bot/storage/portable.py (never from input).
_COUNT = {t.name: f"SELECT count(*) AS n FROM {t.name}" for t in TABLES}
_READ = {
    t.name: f"SELECT {', '.join(t.columns)} FROM {t.name} ORDER BY {', '.join(t.order)} "
    "LIMIT %s OFFSET %s"
    for t in TABLES
}
_WRITE = {
    t.name: f"INSERT INTO {t.name} ({', '.join(t.columns)}) "
    f"VALUES ({', '.join(f'%({c})s' for c in t.columns)})"
    for t in TABLES
}
_IDENTITIES = ("ticket_messages", "outbox", "article_feedback", "search_misses", "search_examples")
_RESEQUENCE = {
    name: f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
    f"coalesce((SELECT max(id) FROM {name}), 0) + 1, false)"
    for name in _IDENTITIES
}
_COUNTER = """
SELECT greatest(CASE WHEN is_called THEN last_value ELSE 0 END,
                coalesce((SELECT max(id) FROM tickets), 0)) AS n
FROM ticket_ids
"""
_SET_COUNTER = "SELECT setval('ticket_ids', greatest(%s, 1), %s > 0)"


class PostgresPortable(PostgresConnection):
    """Every table, row for row, in the portable form (JSON decoded, booleans as bool)."""

    async def count_rows(self, table: Table) -> int:
        """How many rows the table holds."""
        row = await self._row(_COUNT[table.name])
        return 0 if row is None else int(row["n"])

    async def read_rows(self, table: Table, offset: int, limit: int) -> list[Row]:
        """Rows in key order, from `offset` (psycopg decodes jsonb and booleans itself)."""
        return [dict(row) for row in await self._rows(_READ[table.name], (limit, offset))]

    async def write_rows(self, table: Table, batch: list[Row]) -> None:
        """Insert rows, keeping their ids, in one transaction (one round trip)."""
        ops: list[Op] = []
        for row in batch:
            values = dict(row)
            for column in table.json:
                values[column] = Jsonb(values[column])
            ops.append((_WRITE[table.name], values))
        await self._batch(ops)

    async def ticket_counter(self) -> int:
        """The last ticket number handed out."""
        row = await self._row(_COUNTER)
        return 0 if row is None else int(row["n"])

    async def finish_copy(self, ticket_counter: int) -> None:
        """Ticket numbers and every id go on after the copied ones."""
        top = max(ticket_counter, await self.ticket_counter())
        ops: list[Op] = [(_SET_COUNTER, (top, top))]
        ops += [(statement, ()) for statement in _RESEQUENCE.values()]
        await self._batch(ops)
