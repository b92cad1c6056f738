"""Local accounts for desk-only deployments, and the key that signs sessions.

Accounts live in `<data_dir>/web-users.json` ({name: argon2id hash}), written atomically with
mode 0600 by `kefu web add-user` / `remove-user` and read again by the server when the file
changes. The session key is `<data_dir>/web-secret`, made once (0600) and shared by every
process on the data directory.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

USERS_FILE = "web-users.json"
SECRET_FILE = "web-secret"
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_PASSWORD = 8


class AccountError(ValueError):
    """A name or password that cannot be used; the message says why."""


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, replacing the old one atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    tmp.replace(path)


def session_secret(data_dir: Path) -> str:
    """The key sessions and CSRF tokens are signed with (made on first use)."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        _write_private(path, secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip()


class LocalAccounts:
    """Names and argon2id password hashes in one file."""

    def __init__(self, data_dir: Path, hasher: PasswordHasher | None = None) -> None:
        self._path = data_dir / USERS_FILE
        self._hasher = hasher or PasswordHasher()
        self._cache: tuple[float, dict[str, str]] = (-1.0, {})
        # Checked against when the name is unknown, so a wrong name costs what a wrong
        # password does and response times do not tell which names exist.
        self._decoy = self._hasher.hash(secrets.token_hex(16))

    def _load(self) -> dict[str, str]:
        try:
            stamp = self._path.stat().st_mtime
        except FileNotFoundError:
            return {}
        if stamp != self._cache[0]:
            self._cache = (stamp, dict(json.loads(self._path.read_text(encoding="utf-8"))))
        return self._cache[1]

    def names(self) -> list[str]:
        """Every account's name."""
        return sorted(self._load())

    def exists(self, name: str) -> bool:
        """Whether the account is (still) there."""
        return name in self._load()

    def add(self, name: str, password: str) -> None:
        """Create or replace an account."""
        if not NAME.match(name):
            raise AccountError("names are 1-64 of A-Z a-z 0-9 _ . -")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"passwords have at least {MIN_PASSWORD} characters")
        users = dict(self._load())
        users[name] = self._hasher.hash(password)
        self._save(users)

    def remove(self, name: str) -> bool:
        """Delete an account; False when there was none."""
        users = dict(self._load())
        if users.pop(name, None) is None:
            return False
        self._save(users)
        return True

    def _save(self, users: dict[str, str]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(self._path, json.dumps(users, indent=1, sort_keys=True))
        self._cache = (-1.0, {})

    def verify(self, name: str, password: str) -> bool:
        """Whether the password is the account's (slow on purpose: argon2id)."""
        stored = self._load().get(name)
        try:
            return self._hasher.verify(stored or self._decoy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False
