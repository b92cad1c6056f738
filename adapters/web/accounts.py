"""Local accounts for desk-only deployments, and the key that signs sessions.

Both are kept in the store (its AccountStore role): every process of a deployment, on any host
sharing a PostgreSQL database, knows the same accounts and accepts the same sessions, and they
are backed up and moved (`kefu db copy`) with the rest. Accounts are names with argon2id
password hashes, written by `kefu web add-user` / `remove-user`.

Kefu kept them in files of the data directory before (`web-users.json`, `web-secret`):
`import_files` moves what it finds there into the store, once, and renames the files
`*.imported`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.ports import AccountStore

log = logging.getLogger(__name__)

USERS_FILE = "web-users.json"  # before the store kept them: {name: argon2id hash}
SECRET_FILE = "web-secret"  # before the store kept it: the session key
IMPORTED = ".imported"
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_PASSWORD = 8


class AccountError(ValueError):
    """A name or password that cannot be used, or a file that cannot be imported; the
    message says why."""


async def session_secret(store: AccountStore, now: float) -> str:
    """The key sessions and CSRF tokens are signed with (made by the first process to ask)."""
    return await store.session_key(secrets.token_hex(32), now)


class LocalAccounts:
    """Names and argon2id password hashes, in the store."""

    def __init__(
        self,
        store: AccountStore,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._hasher = hasher or PasswordHasher()
        self._clock = clock
        # Checked against when the name is unknown, so a wrong name costs what a wrong
        # password does and response times do not tell which names exist.
        self._decoy = self._hasher.hash(secrets.token_hex(16))

    async def names(self) -> list[str]:
        """Every account's name."""
        return await self._store.account_names()

    async def exists(self, name: str) -> bool:
        """Whether the account is (still) there."""
        return await self._store.account_hash(name) is not None

    async def add(self, name: str, password: str) -> None:
        """Create an account, or give it a new password."""
        if not NAME.match(name):
            raise AccountError("names are 1-64 of A-Z a-z 0-9 _ . -")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"passwords have at least {MIN_PASSWORD} characters")
        hashed = await asyncio.to_thread(self._hasher.hash, password)
        await self._store.set_account(name, hashed, self._clock())

    async def remove(self, name: str) -> bool:
        """Delete an account; False when there was none."""
        return await self._store.remove_account(name)

    async def verify(self, name: str, password: str) -> bool:
        """Whether the password is the account's (slow on purpose: argon2id, off the event
        loop's thread)."""
        stored = await self._store.account_hash(name)
        return await asyncio.to_thread(self._check, stored, password)

    def _check(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._decoy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False


async def import_files(data_dir: Path, store: AccountStore, now: float) -> None:
    """Move the accounts and the session key that an older Kefu kept in files of the data
    directory into the store, then rename the files `*.imported` (so nothing is imported
    twice). An account the store has already keeps the store's password, and a key it has
    already stays. Importing again does nothing new: a process that stopped halfway, or two
    that start together on one data directory, leave the same store."""
    users = data_dir / USERS_FILE
    if users.exists():
        found = _read_users(users)
        clashes = await _import_users(found, store, now)
        kept = _set_aside(users)
        if kept is not None:
            log.info(
                "imported %d web account(s) of %s into the store, where every process finds "
                "them (the file is renamed %s)", len(found) - len(clashes), users, kept.name,
            )  # fmt: skip
        if clashes:
            log.warning(
                "the store had these accounts already and keeps their passwords, not those of "
                "%s: %s", users, ", ".join(clashes),
            )  # fmt: skip
    secret = data_dir / SECRET_FILE
    value = secret.read_text(encoding="utf-8").strip() if secret.exists() else ""
    if value:
        used = await store.session_key(value, now)
        kept = _set_aside(secret)
        if used != value:
            log.warning(
                "the store holds a session key already: the one of %s is not used, and "
                "sessions signed with it must sign in again", secret,
            )  # fmt: skip
        elif kept is not None:
            log.info("the session key of %s is in the store now (the file is renamed %s)",
                     secret, kept.name)  # fmt: skip


def _read_users(path: Path) -> dict[str, str]:
    """The accounts file, checked: a file that cannot be read is left where it is."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AccountError(f"cannot import the accounts of {path}: {exc}") from exc
    if not isinstance(found, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in found.items()
    ):
        raise AccountError(f"cannot import the accounts of {path}: not {{name: hash}}")
    return found


async def _import_users(found: dict[str, str], store: AccountStore, now: float) -> list[str]:
    """Add the file's accounts the store lacks; the names it has with another hash."""
    clashes = []
    for name, hashed in sorted(found.items()):
        added = await store.set_account(name, hashed, now, replace=False)
        if not added and await store.account_hash(name) != hashed:
            clashes.append(name)
    return clashes


def _set_aside(path: Path) -> Path | None:
    """Rename an imported file `*.imported` (or `*.imported-N` when that is taken); None when
    another process renamed it first."""
    target, n = path.with_name(path.name + IMPORTED), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}{IMPORTED}-{n}")
    try:
        path.rename(target)
    except FileNotFoundError:
        return None
    return target
