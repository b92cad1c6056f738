"""PostgresAccountStore: the web desk's local accounts and session key (see
bot.storage.base.AccountStore) in the database every process of a deployment shares."""

from __future__ import annotations

from bot.storage.postgres.conn import PostgresConnection

GET_HASH = "SELECT password_hash FROM web_accounts WHERE name = %s"
SET_ACCOUNT = """
INSERT INTO web_accounts (name, password_hash, created_at, updated_at) VALUES (%s, %s, %s, %s)
ON CONFLICT (name) DO UPDATE SET
    password_hash = excluded.password_hash, updated_at = excluded.updated_at
"""
ADD_ACCOUNT = """
INSERT INTO web_accounts (name, password_hash, created_at, updated_at) VALUES (%s, %s, %s, %s)
ON CONFLICT (name) DO NOTHING
"""
REMOVE_ACCOUNT = "DELETE FROM web_accounts WHERE name = %s"
# COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
NAMES = 'SELECT name FROM web_accounts ORDER BY name COLLATE "C"'
# The stored key, or the one given, stored now: one statement, so processes starting together
# on several hosts agree (the update changes nothing; it is there to return the kept row).
SESSION_KEY = """
INSERT INTO web_keys (name, value, created_at) VALUES ('session', %s, %s)
ON CONFLICT (name) DO UPDATE SET name = excluded.name
RETURNING value
"""


class PostgresAccountStore(PostgresConnection):
    """The account role of the PostgreSQL store."""

    async def account_hash(self, name: str) -> str | None:
        """The account's password hash, if there is such an account."""
        row = await self._row(GET_HASH, (name,))
        return None if row is None else str(row["password_hash"])

    async def set_account(
        self, name: str, password_hash: str, now: float, replace: bool = True
    ) -> bool:
        """Create an account or give it a new hash (an existing one kept unless `replace`)."""
        statement = SET_ACCOUNT if replace else ADD_ACCOUNT
        done = await self._one(statement, (name, password_hash, now, now))
        return done.rowcount == 1

    async def remove_account(self, name: str) -> bool:
        """Delete an account; False when there was none."""
        done = await self._one(REMOVE_ACCOUNT, (name,))
        return done.rowcount == 1

    async def account_names(self) -> list[str]:
        """Every account's name, in byte order."""
        return [str(row["name"]) for row in await self._rows(NAMES)]

    async def session_key(self, fresh: str, now: float) -> str:
        """The stored session key, else `fresh`, stored now."""
        row = await self._row(SESSION_KEY, (fresh, now))
        if row is None:
            raise RuntimeError("the session key was neither stored nor found")
        return str(row["value"])
