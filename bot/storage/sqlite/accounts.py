"""SqliteAccountStore: the web desk's local accounts and session key (see
bot.storage.base.AccountStore) in the SQLite file."""

from __future__ import annotations

from bot.storage.sqlite.conn import SqliteConnection

GET_HASH = "SELECT password_hash FROM web_accounts WHERE name = ?"
SET_ACCOUNT = """
INSERT INTO web_accounts (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
    password_hash = excluded.password_hash, updated_at = excluded.updated_at
"""
ADD_ACCOUNT = """
INSERT INTO web_accounts (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (name) DO NOTHING
"""
REMOVE_ACCOUNT = "DELETE FROM web_accounts WHERE name = ?"
NAMES = "SELECT name FROM web_accounts ORDER BY name"  # BINARY collation: byte order
# The stored key, or the one given, stored now: one statement, so two processes starting
# together agree (the update changes nothing; it is there to return the kept row).
SESSION_KEY = """
INSERT INTO web_keys (name, value, created_at) VALUES ('session', ?, ?)
ON CONFLICT (name) DO UPDATE SET name = excluded.name
RETURNING value
"""


class SqliteAccountStore(SqliteConnection):
    """The account role of the SQLite store."""

    async def account_hash(self, name: str) -> str | None:
        """The account's password hash, if there is such an account."""
        row = await self._row(GET_HASH, (name,))
        return None if row is None else str(row[0])

    async def set_account(
        self, name: str, password_hash: str, now: float, replace: bool = True
    ) -> bool:
        """Create an account or give it a new hash (an existing one kept unless `replace`)."""
        statement = SET_ACCOUNT if replace else ADD_ACCOUNT
        [outcome] = await self._write((statement, (name, password_hash, now, now)))
        return outcome.rowcount == 1

    async def remove_account(self, name: str) -> bool:
        """Delete an account; False when there was none."""
        [outcome] = await self._write((REMOVE_ACCOUNT, (name,)))
        return outcome.rowcount == 1

    async def account_names(self) -> list[str]:
        """Every account's name, in byte order."""
        return [str(row[0]) for row in await self._rows(NAMES)]

    async def session_key(self, fresh: str, now: float) -> str:
        """The stored session key, else `fresh`, stored now."""
        [outcome] = await self._write((SESSION_KEY, (fresh, now)))
        return str(outcome.rows[0][0])
