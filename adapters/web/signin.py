"""Signing in with the identity a moderator already has, under the platform's own rights rule.

Telegram: the Login Widget's fields are checked as Telegram documents (HMAC-SHA-256 of the
sorted fields, keyed with SHA-256 of the bot token; `auth_date` at most a day old), then the
person must be an administrator of `[telegram] moderator_chat_id` (a member, when
`admins_only = false`), asked with getChatMember. Discord: OAuth2 with the `identify` scope,
then the member must hold `[discord] moderator_role_id`, asked with the bot's token. Both
answers are kept at most RIGHTS_TTL seconds and asked again on the next request after that,
so someone demoted loses access within a minute. Tokens stay here: the browser sees neither
the bot tokens nor Discord's access token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

import httpx

log = logging.getLogger(__name__)

RIGHTS_TTL = 60.0  # seconds a rights answer is trusted (the issue: "at most 60 s")
STALE_OK = 300.0  # when the platform cannot be asked, an answer this old still stands
AUTH_MAX_AGE = 86_400  # seconds: a Telegram login older than a day is refused
TELEGRAM_API = "https://api.telegram.org/bot"
ADMINS = frozenset({"creator", "administrator"})
MEMBERS = ADMINS | {"member", "restricted"}


class SignInError(Exception):
    """A sign-in refused; `key` names the catalog text that says why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, slots=True)
class Identity:
    """Who signed in: "telegram:ID" or "discord:ID", and a name to show."""

    who: str
    name: str
    kind: str


class Rights(Protocol):
    """Whether a platform user may moderate now."""

    async def allowed(self, user_id: str) -> bool:
        """Ask (or remember for at most RIGHTS_TTL seconds)."""
        ...


class CachedRights:
    """Answers of `ask` kept RIGHTS_TTL seconds; a failed ask falls back on a recent answer."""

    def __init__(self, ask: Callable[[str], object], clock: Callable[[], float]) -> None:
        self._ask = ask
        self._clock = clock
        self._known: dict[str, tuple[float, bool]] = {}

    async def allowed(self, user_id: str) -> bool:
        """The cached answer, or a fresh one."""
        now = self._clock()
        known = self._known.get(user_id)
        if known is not None and now - known[0] < RIGHTS_TTL:
            return known[1]
        try:
            answer = bool(await self._ask(user_id))  # type: ignore[misc]
        except httpx.HTTPError as exc:
            log.warning("could not check moderator rights: %s", type(exc).__name__)
            return known is not None and now - known[0] < STALE_OK and known[1]
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[user_id] = (now, answer)
        return answer


def telegram_check(fields: Mapping[str, str], token: str, now: float) -> Identity:
    """The person the Login Widget vouches for; SignInError when forged or stale."""
    given = fields.get("hash", "")
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")
    secret = hashlib.sha256(token.encode()).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    if not token or not given or not hmac.compare_digest(expected, given):
        raise SignInError("web_signin_forged")
    auth_date = fields.get("auth_date", "")
    if not auth_date.isdigit() or now - int(auth_date) > AUTH_MAX_AGE:
        raise SignInError("web_signin_stale")
    user_id = fields.get("id", "")
    if not user_id.isdigit():
        raise SignInError("web_signin_forged")
    name = " ".join(p for p in (fields.get("first_name"), fields.get("last_name")) if p)
    return Identity(
        f"telegram:{user_id}", name or fields.get("username", "") or user_id, "telegram"
    )


class TelegramApi:
    """The two Bot API methods the web needs, over httpx (not the Telegram adapter)."""

    def __init__(
        self, client: httpx.AsyncClient, token: str, chat_id: str, admins_only: bool, base: str
    ) -> None:
        self._client = client
        self._token = token
        self._chat_id = chat_id
        self._wanted = ADMINS if admins_only else MEMBERS
        self._base = base or TELEGRAM_API
        self._username = ""

    @property
    def token(self) -> str:
        """The bot token (for checking the widget's hash; never sent to a browser)."""
        return self._token

    async def _call(self, method: str, **params: str) -> dict[str, object]:
        response = await self._client.post(f"{self._base}{self._token}/{method}", data=params)
        body = response.json()
        if not isinstance(body, dict):
            raise httpx.HTTPError("unexpected answer")
        return body

    async def is_moderator(self, user_id: str) -> bool:
        """Whether the user is an administrator (or member) of the moderator group."""
        body = await self._call("getChatMember", chat_id=self._chat_id, user_id=user_id)
        result = body.get("result")
        if not body.get("ok") or not isinstance(result, dict):
            return False
        status = str(result.get("status", ""))
        if status == "restricted" and not result.get("is_member", False):
            return False
        return status in self._wanted

    async def bot_username(self) -> str:
        """The bot's @username, which the Login Widget names (asked once)."""
        if not self._username:
            try:
                result = (await self._call("getMe")).get("result")
            except httpx.HTTPError:
                return ""
            if isinstance(result, dict):
                self._username = str(result.get("username", ""))
        return self._username


@dataclass(frozen=True, slots=True)
class DiscordOAuth:
    """Discord OAuth2 (`identify`) and the moderator role check with the bot's token."""

    client: httpx.AsyncClient
    client_id: str
    client_secret: str
    bot_token: str
    guild_id: str
    role_id: str
    api: str
    authorize: str

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where the browser goes to say yes."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "scope": "identify",
                "redirect_uri": redirect_uri,
                "state": state,
                "prompt": "none",
            }
        )
        return f"{self.authorize}?{query}"

    async def identify(self, code: str, redirect_uri: str) -> Identity:
        """Trade the code for a token and ask who it belongs to."""
        token = await self.client.post(
            f"{self.api}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        )
        access = token.json().get("access_token") if token.status_code == 200 else None
        if not access:
            raise SignInError("web_signin_failed")
        me = await self.client.get(
            f"{self.api}/users/@me", headers={"Authorization": f"Bearer {access}"}
        )
        user = me.json() if me.status_code == 200 else {}
        user_id = str(user.get("id", ""))
        if not user_id.isdigit():
            raise SignInError("web_signin_failed")
        name = str(user.get("global_name") or user.get("username") or user_id)
        return Identity(f"discord:{user_id}", name, "discord")

    async def is_moderator(self, user_id: str) -> bool:
        """Whether the member holds the moderator role (asked with the bot's token)."""
        response = await self.client.get(
            f"{self.api}/guilds/{self.guild_id}/members/{user_id}",
            headers={"Authorization": f"Bot {self.bot_token}"},
        )
        if response.status_code == 404:
            return False
        response.raise_for_status()
        return self.role_id in [str(r) for r in response.json().get("roles", [])]


def now() -> float:
    """Wall-clock seconds (auth_date is wall-clock)."""
    return time.time()
