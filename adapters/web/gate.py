"""Signing in and out: local accounts, the Telegram Login Widget, Discord OAuth2; the
language switch. Failed attempts are throttled per address and per name."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.web.accounts import LocalAccounts
from adapters.web.parts import Parts
from adapters.web.sessions import Throttle
from adapters.web.signin import DiscordOAuth, Identity, SignInError, TelegramApi, telegram_check
from adapters.web.site import Ctx, closes_form, csrf_token
from bot.texts import LANGS

STATE_MAX_AGE = 600.0  # seconds a Discord sign-in may take
TELEGRAM_FIELDS = ("id", "first_name", "last_name", "username", "photo_url", "auth_date", "hash")


@dataclass(slots=True)
class SignIn:
    """The ways in that this deployment offers."""

    accounts: LocalAccounts
    throttle: Throttle
    telegram: TelegramApi | None
    discord: DiscordOAuth | None
    public_url: str
    clock: Callable[[], float]  # wall-clock seconds (Telegram's auth_date)


def _next(raw: str) -> str:
    """Where to go after signing in: a path on this site only (no open redirect)."""
    parts = urlsplit(raw)
    if raw.startswith("/") and not raw.startswith("//") and not parts.netloc and "\\" not in raw:
        return raw
    return "/queue"


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


class Gate:
    """Sign-in, sign-out and language routes: open to everyone, CSRF-checked when posting."""

    def __init__(self, p: Parts, way: SignIn) -> None:
        self.p = p
        self.way = way
        self.guard = p.guard

    def routes(self) -> list[Route]:
        """The routes."""
        return [
            Route("/login", closes_form(self.login), methods=["GET", "POST"]),
            Route("/logout", closes_form(self.logout), methods=["POST"]),
            Route("/lang", closes_form(self.language), methods=["POST"]),
            Route("/auth/telegram", self.telegram),
            Route("/auth/discord", self.discord),
            Route("/auth/discord/callback", self.discord_back),
        ]

    async def page(
        self, ctx: Ctx, error: str = "", status: int = 200, target: str | None = None
    ) -> Response:
        """The sign-in page, with the ways in this deployment offers; `target`: where to go
        once signed in (a refused attempt keeps the one its form carried)."""
        tg = self.way.telegram
        bot = await tg.bot_username() if tg is not None else ""
        wanted = ctx.request.query_params.get("next", "/queue") if target is None else target
        target = _next(wanted)
        none = not (bot or self.way.discord or await self.way.accounts.names())
        return self.guard.finish(
            ctx,
            self.p.render(ctx, "login.html", status, error=error, telegram_bot=bot,
                          discord=self.way.discord is not None, next=target, no_accounts=none),
        )  # fmt: skip

    def enter(self, ctx: Ctx, who: Identity, target: str) -> Response:
        """Signed in: a new session (and CSRF token), then on to the page asked for."""
        ctx.session, ctx.fresh = ctx.session.as_user(who.who, who.name, who.kind), True
        return self.guard.finish(ctx, RedirectResponse(_next(target), 303))

    async def login(self, request: Request) -> Response:
        """The page (GET), or a local account's name and password (POST)."""
        ctx = self.guard.ctx(request)
        if request.method == "GET":
            return await self.page(ctx)
        if not ctx.session.csrf_ok(await csrf_token(request)):
            return self.guard.finish(ctx, await self.guard.refusal(ctx, "web_csrf_refused", 403))
        form = await request.form()
        name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))[:1024]
        target = str(form.get("next", ""))
        keys = (f"ip:{_client(request)}", f"name:{name.lower()}")
        if self.way.throttle.blocked(*keys):
            return await self.page(ctx, ctx.t("web_signin_throttled"), 429, target)
        if not await self.way.accounts.verify(name, password):
            self.way.throttle.failed(*keys)
            return await self.page(ctx, ctx.t("web_signin_wrong"), 401, target)
        return self.enter(ctx, Identity(f"local:{name}", name, "local"), target)

    async def _refused(self, ctx: Ctx, key: str, exc: Exception) -> Response:
        """A refused sign-in (counted), or one the platform could not be asked about."""
        if isinstance(exc, SignInError):
            self.way.throttle.failed(key)
            return await self.page(ctx, ctx.t(exc.key), 403)
        return await self.page(ctx, ctx.t("web_signin_failed"), 502)

    async def telegram(self, request: Request) -> Response:
        """The Login Widget's redirect: its fields checked, then the person's rights."""
        ctx, key, tg = self.guard.ctx(request), f"ip:{_client(request)}", self.way.telegram
        if tg is None:
            return await self.page(ctx, ctx.t("web_signin_unavailable"), 404)
        if self.way.throttle.blocked(key):
            return await self.page(ctx, ctx.t("web_signin_throttled"), 429)
        fields = {k: v for k, v in request.query_params.items() if k in TELEGRAM_FIELDS}
        try:
            who = telegram_check(fields, tg.token, self.way.clock())
            allowed = await tg.is_moderator(who.who.partition(":")[2])
        except Exception as exc:  # forged, stale, or the Bot API could not be asked
            return await self._refused(ctx, key, exc)
        if not allowed:
            return await self._refused(ctx, key, SignInError("web_signin_not_moderator"))
        return self.enter(ctx, who, "/queue")

    def redirect_uri(self, request: Request) -> str:
        """Where Discord sends the browser back (registered in the Developer Portal)."""
        base = self.way.public_url.rstrip("/") or str(request.base_url).rstrip("/")
        return f"{base}/auth/discord/callback"

    async def discord(self, request: Request) -> Response:
        """Off to Discord, with a state bound to this browser's session."""
        ctx = self.guard.ctx(request)
        if self.way.discord is None:
            return await self.page(ctx, ctx.t("web_signin_unavailable"), 404)
        state = self.guard.sessions.sign(f"{ctx.session.csrf}:{secrets.token_hex(8)}", "oauth")
        url = self.way.discord.authorize_url(self.redirect_uri(request), state)
        return self.guard.finish(ctx, RedirectResponse(url, 303))

    async def discord_back(self, request: Request) -> Response:
        """Discord's answer: the state checked, the code traded, then the role."""
        ctx, key, dc = self.guard.ctx(request), f"ip:{_client(request)}", self.way.discord
        q = request.query_params
        state = self.guard.sessions.unsign(q.get("state", ""), "oauth", STATE_MAX_AGE) or ""
        if dc is None or state.partition(":")[0] != ctx.session.csrf or not q.get("code"):
            return await self.page(ctx, ctx.t("web_signin_failed"), 403)
        if self.way.throttle.blocked(key):
            return await self.page(ctx, ctx.t("web_signin_throttled"), 429)
        try:
            who = await dc.identify(q["code"], self.redirect_uri(request))
            allowed = await dc.is_moderator(who.who.partition(":")[2])
        except Exception as exc:
            return await self._refused(ctx, key, exc)
        if not allowed:
            return await self._refused(ctx, key, SignInError("web_signin_not_moderator"))
        return self.enter(ctx, who, "/queue")

    async def logout(self, request: Request) -> Response:
        """Sign out: with the session's CSRF token, or from a page of this site whose token is
        stale (a tab left open across a new sign-in), which the browser vouches for with
        Sec-Fetch-Site (a page cannot set it). Else the sign-in page would show over a session
        that goes on."""
        ctx = self.guard.ctx(request)
        ours = request.headers.get("sec-fetch-site") == "same-origin"
        if ours or ctx.session.csrf_ok(await csrf_token(request)):
            ctx.session, ctx.fresh = ctx.session.signed_out(), True
        return self.guard.finish(ctx, RedirectResponse("/login", 303))

    async def language(self, request: Request) -> Response:
        """Switch the pages' language (kept in the session)."""
        ctx = self.guard.ctx(request)
        form = await request.form()
        lang = str(form.get("lang", ""))
        if ctx.session.csrf_ok(await csrf_token(request)) and lang in LANGS:
            ctx.session, ctx.fresh = replace(ctx.session, lang=lang), True
        return self.guard.finish(ctx, RedirectResponse(_next(str(form.get("next", ""))), 303))
