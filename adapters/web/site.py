"""The web desk's request plumbing: who is asking (session, rights), in which language, the
CSRF check on every state-changing request, templates, and the Starlette app's routes.

Every route but sign-in, the static files and /metrics (its own token) refuses a visitor who
has not signed in: pages redirect to /login, everything else (actions, partials, the event
stream, screenshots) answers 401.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from adapters.web.accounts import LocalAccounts
from adapters.web.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, Session, Sessions
from adapters.web.signin import Rights
from bot.texts import LANG_NAMES, LANGS, Texts, normalize_lang

HERE = Path(__file__).parent
SAFE_METHODS = frozenset({"GET", "HEAD"})
TYPED_SHOWN = 4000  # characters of a refused form's text shown back to copy
TYPED_BODY_MAX = 65536  # a refused form is read (to show its text) only when this small
FORM_FILES_MAX, FORM_FIELDS_MAX = 20, 20  # what a posted form may hold at all


@dataclass(slots=True)
class Ctx:
    """One request: its session (possibly renewed), language and helpers for the page."""

    request: Request
    session: Session
    lang: str
    texts: Texts
    fresh: bool = False  # the session changed: the response sets the cookie
    new: bool = False  # the request carried no valid session: this one was made for it

    def t(self, key: str, /, **values: Any) -> str:
        """A catalog text in the page's language."""
        return self.texts(self.lang, key, **values)


def choose_lang(session: Session, accept: str, default: str) -> str:
    """The language chosen in the page, else the browser's first one Kefu speaks."""
    if session.lang in LANGS:
        return session.lang
    ranked = []
    for n, part in enumerate(accept.split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((-weight, n, tag))
    for _w, _n, tag in sorted(ranked):
        lang = normalize_lang(tag)
        if lang:
            return lang
    return default


class Guard:
    """Loads the session and checks that whoever holds it may still moderate."""

    def __init__(
        self,
        sessions: Sessions,
        accounts: LocalAccounts,
        rights: dict[str, Rights],
        texts: Texts,
        default_lang: str,
        secure: bool,
        templates: Templates | None = None,
    ) -> None:
        self.sessions = sessions
        self.templates = templates or Templates()
        self.accounts = accounts
        self.rights = rights
        self.texts = texts
        self.default_lang = default_lang
        self.secure = secure

    def ctx(self, request: Request) -> Ctx:
        """The request's context; a new visitor gets a fresh (anonymous) session."""
        loaded = self.sessions.load(request.cookies.get(COOKIE))
        session = loaded or self.sessions.new()
        lang = choose_lang(session, request.headers.get("accept-language", ""), self.default_lang)
        return Ctx(request, session, lang, self.texts, fresh=loaded is None, new=loaded is None)

    async def may_moderate(self, session: Session) -> bool:
        """Whether the signed-in person still has the rights they signed in with."""
        kind, _, ident = session.who.partition(":")
        if kind == "local":
            return await self.accounts.exists(ident)
        rights = self.rights.get(kind)
        return rights is not None and await rights.allowed(ident)

    async def refusal(self, ctx: Ctx, key: str, status: int) -> Response:
        """A refused request: a page for a form a person posted (what was refused, that
        nothing was done, the text they typed to copy, the way back or in), plain text for
        the page's own fetches."""
        request = ctx.request
        if request.method in SAFE_METHODS or request.headers.get("hx-request"):
            return PlainTextResponse(ctx.t(key), status)
        typed = ""
        size = body_size(request)
        small = size is not None and size <= TYPED_BODY_MAX
        if "form" in request.headers.get("content-type", "") and small:
            raw = (await read_form(request)).get("text", "")
            typed = raw.strip()[:TYPED_SHOWN] if isinstance(raw, str) else ""
        back = came_from(request)
        way = f"/login?next={quote(back, '/')}" if status == 401 else back
        label = "web_sign_in" if status == 401 else "web_back"
        page = self.templates.text(
            ctx, "refused.html", reason=ctx.t(key), way=way, label=label, typed=typed
        )
        return HTMLResponse(page, status)

    def finish(self, ctx: Ctx, response: Response) -> Response:
        """Set the session cookie when it changed (HttpOnly, SameSite=Lax, Secure on https).

        A post that came with no session gets none: the browser sends no SameSite=Lax cookie
        with a form another site posts, and a new session in the answer would replace the
        moderator's own (any site could sign them out)."""
        if ctx.fresh and not (ctx.new and ctx.request.method not in SAFE_METHODS):
            response.set_cookie(
                COOKIE,
                self.sessions.dump(ctx.session),
                max_age=int(self.sessions.max_age),
                httponly=True,
                samesite="lax",
                secure=self.secure or ctx.request.url.scheme == "https",
            )
        response.headers.setdefault("cache-control", "no-store")
        response.headers["x-frame-options"] = "DENY"
        response.headers["referrer-policy"] = "same-origin"
        return response


def body_size(request: Request) -> int | None:
    """The request body's declared length; None when not declared (chunked) or garbled."""
    declared = request.headers.get("content-length", "")
    return int(declared) if declared.isdigit() else None


async def read_form(request: Request) -> FormData:
    """The posted form, parsed once (Starlette keeps it) within the desk's limits."""
    return await request.form(max_files=FORM_FILES_MAX, max_fields=FORM_FIELDS_MAX)


async def csrf_token(request: Request) -> str:
    """The CSRF token a request carried: the htmx header, else the form field."""
    header = request.headers.get(CSRF_HEADER, "")
    if header:
        return header
    if "form" in request.headers.get("content-type", ""):
        form = await read_form(request)
        value = form.get(CSRF_FIELD, "")
        return value if isinstance(value, str) else ""
    return ""


Handler = Callable[[Ctx], Awaitable[Response]]


def closes_form(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap an endpoint: the form it read (files spooled to disk when large) is closed."""

    @functools.wraps(endpoint)
    async def closing(request: Request) -> Response:
        try:
            return await endpoint(request)
        finally:
            await request.close()

    return closing


def signed_in(guard: Guard, *, page: bool = True) -> Callable[[Handler], Any]:
    """Wrap a handler: signed-in moderators only; CSRF token required unless GET/HEAD.

    `page`: an anonymous visitor is redirected to sign in (else answered 401).
    """

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        @closes_form
        async def endpoint(request: Request) -> Response:
            ctx = guard.ctx(request)
            if not ctx.session.signed_in or not await guard.may_moderate(ctx.session):
                if ctx.session.signed_in:  # rights gone: sign out
                    ctx.session, ctx.fresh = ctx.session.signed_out(), True
                if page and request.method in SAFE_METHODS:
                    target = quote(_here(request), "/")  # with its query (a search)
                    refused: Response = RedirectResponse(f"/login?next={target}", 303)
                else:
                    refused = await guard.refusal(ctx, "web_signin_needed", 401)
                return guard.finish(ctx, refused)
            if request.method not in SAFE_METHODS and not ctx.session.csrf_ok(
                await csrf_token(request)
            ):
                return guard.finish(ctx, await guard.refusal(ctx, "web_csrf_refused", 403))
            return guard.finish(ctx, await handler(ctx))

        return endpoint

    return wrap


def came_from(request: Request) -> str:
    """The page of this site a form was posted from (its Referer), else the ticket the
    action was for, else the queue."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith("/"):
        back = referer.path.split("//")[0] or "/queue"
        return f"{back}?{referer.query}" if referer.query else back
    ticket = request.path_params.get("ticket_id")
    return f"/tickets/{ticket}" if str(ticket or "").isdigit() else "/queue"


def _here(request: Request) -> str:
    """The page's path with its query: where the language switch comes back to."""
    url = request.url
    return f"{url.path}?{url.query}" if url.query else url.path


class Templates:
    """Jinja2 templates with autoescaping; every text comes from the catalogs through `t`."""

    def __init__(self) -> None:
        self._env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html", "svg"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, ctx: Ctx, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        """A page or fragment."""
        return HTMLResponse(self.text(ctx, name, **values), status)

    def text(self, ctx: Ctx, name: str, **values: Any) -> str:
        """A template rendered to text (a part of a page that may be kept and reused)."""
        return self._env.get_template(name).render(
            t=ctx.t,
            lang=ctx.lang,
            langs=[(code, LANG_NAMES[code]) for code in LANGS],
            session=ctx.session,
            csrf=ctx.session.csrf,
            path=ctx.request.url.path,
            here=_here(ctx.request),
            **values,
        )
