"""SqlitePortable: the SQLite store's tables for `kefu db copy` (bot/storage/portable.py)."""

from __future__ import annotations

import json

from bot.storage.portable import TABLES, Row, Table
from bot.storage.sqlite import rows
from bot.storage.sqlite.conn import SqliteConnection

# Identifiers cannot be parameters: the statements are built once, here, from the fixed table
# list in bot/storage/portable.py (never from input).
_COUNT = {t.name: f"SELECT count(*) FROM {t.name}" for t in TABLES}
_READ = {
    t.name: f"SELECT {', '.join(t.columns)} FROM {t.name} ORDER BY {', '.join(t.order)} "
    "LIMIT ? OFFSET ?"
    for t in TABLES
}
_WRITE = {
    t.name: f"INSERT INTO {t.name} ({', '.join(t.columns)}) "
    f"VALUES ({', '.join(':' + c for c in t.columns)})"
    for t in TABLES
}
_COUNTER = """
SELECT max(coalesce((SELECT value FROM counters WHERE name = 'ticket'), 0),
           coalesce((SELECT max(id) FROM tickets), 0))
"""
_SET_COUNTER = "UPDATE counters SET value = max(value, ?) WHERE name = 'ticket'"


class SqlitePortable(SqliteConnection):
    """Every table, row for row, in the portable form (JSON decoded, booleans as bool)."""

    async def count_rows(self, table: Table) -> int:
        """How many rows the table holds."""
        row = await self._row(_COUNT[table.name])
        return 0 if row is None else int(row[0])

    async def read_rows(self, table: Table, offset: int, limit: int) -> list[Row]:
        """Rows in key order, from `offset`."""
        found = await self._rows(_READ[table.name], (limit, offset))
        out = []
        for row in found:
            values = dict(zip(table.columns, row, strict=True))
            for column in table.json:
                values[column] = json.loads(values[column])
            for column in table.bools:
                values[column] = bool(values[column])
            out.append(values)
        return out

    async def write_rows(self, table: Table, batch: list[Row]) -> None:
        """Insert rows, keeping their ids, in one transaction."""
        ops: list[rows.Op] = []
        for row in batch:
            values = dict(row)
            for column in table.json:
                values[column] = rows.dump_json(values[column])
            for column in table.bools:
                values[column] = int(values[column])
            ops.append((_WRITE[table.name], values))
        async with self.transaction():
            await self._write(*ops)

    async def ticket_counter(self) -> int:
        """The last ticket number handed out."""
        row = await self._row(_COUNTER)
        return 0 if row is None else int(row[0])

    async def finish_copy(self, ticket_counter: int) -> None:
        """Ticket numbers go on after the copied ones (row ids follow max(id) by themselves)."""
        await self._write((_SET_COUNTER, (ticket_counter,)))
