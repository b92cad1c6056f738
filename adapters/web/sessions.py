"""Signed, expiring sessions in a cookie, the CSRF token they carry, and the login throttle.

A session is `{"u": who, "n": name, "k": how they signed in, "c": csrf token, "l": lang}`
signed with itsdangerous (HMAC-SHA1 over the data and a timestamp): the server keeps no
session table, the browser cannot change one, and one older than `[web] session_hours` is
refused. Every visitor gets one, signed in or not, so the sign-in forms carry a CSRF token too.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, replace
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "kefu_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True, slots=True)
class Session:
    """Who this browser is (empty `who`: not signed in), and its CSRF token."""

    csrf: str
    who: str = ""  # "local:NAME", "telegram:ID", "discord:ID"
    name: str = ""
    kind: str = ""  # local | telegram | discord
    lang: str = ""  # chosen in the page ("" = from Accept-Language)

    @property
    def signed_in(self) -> bool:
        """Whether someone signed in."""
        return bool(self.who)

    def signed_out(self) -> Session:
        """The same browser, nobody signed in, a fresh CSRF token."""
        return Session(secrets.token_urlsafe(24), lang=self.lang)

    def as_user(self, who: str, name: str, kind: str) -> Session:
        """Signed in: a fresh CSRF token (the one seen before signing in is not reused)."""
        return replace(self, csrf=secrets.token_urlsafe(24), who=who, name=name, kind=kind)

    def csrf_ok(self, token: str) -> bool:
        """Whether a request carried this session's CSRF token (compared in constant time)."""
        return bool(token) and hmac.compare_digest(token, self.csrf)


class Sessions:
    """Reads and writes the session cookie."""

    def __init__(self, secret: str, max_age: float) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="kefu-web-session")
        self.max_age = max_age

    def load(self, cookie: str | None) -> Session | None:
        """The session in a cookie, or None when it is missing, forged or expired."""
        if not cookie:
            return None
        try:
            data: Any = self._signer.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        return Session(
            data["c"], str(data.get("u", "")), str(data.get("n", "")), str(data.get("k", "")),
            str(data.get("l", "")),
        )  # fmt: skip

    def new(self) -> Session:
        """A session for a new visitor."""
        return Session(secrets.token_urlsafe(24))

    def dump(self, session: Session) -> str:
        """The cookie value for a session."""
        data = {"c": session.csrf, "u": session.who, "n": session.name, "k": session.kind}
        if session.lang:
            data["l"] = session.lang
        return str(self._signer.dumps(data))

    def sign(self, value: str, salt: str) -> str:
        """Sign a short value (an OAuth2 state) with the session key."""
        return str(URLSafeTimedSerializer(self._signer.secret_key, salt=salt).dumps(value))

    def unsign(self, signed: str, salt: str, max_age: float) -> str | None:
        """The value signed with `sign`, or None when forged or older than `max_age`."""
        try:
            signer = URLSafeTimedSerializer(self._signer.secret_key, salt=salt)
            return str(signer.loads(signed, max_age=max_age))
        except BadSignature:
            return None


class Throttle:
    """At most `limit` failed sign-ins per `window` seconds per key (an address, a name)."""

    def __init__(self, limit: int = 10, window: float = 300.0) -> None:
        self._limit = limit
        self._window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures[key]
        while times and now - times[0] > self._window:
            times.popleft()
        return times

    def blocked(self, *keys: str, now: float | None = None) -> bool:
        """Whether any of the keys has failed too often lately."""
        at = time.monotonic() if now is None else now
        return any(len(self._recent(k, at)) >= self._limit for k in keys)

    def failed(self, *keys: str, now: float | None = None) -> None:
        """Count a failed attempt against each key."""
        at = time.monotonic() if now is None else now
        if len(self._failures) > 10_000:  # bounded: forget the quiet ones
            for key in [k for k, v in self._failures.items() if not self._recent(k, at)]:
                del self._failures[key]
        for key in keys:
            self._recent(key, at).append(at)
