"""WebDesk: the web desk as an adapter — a moderator surface like the terminal desk.

Moderators' actions enter through the hub's sink as events of platform "web" (a
CommandReceived or TextReceived in the MODERATION chat of the moderator, its thread the
ticket's number), so a reply goes through the engine and the outbox like any other. What the
core answers the moderator comes back through `send` and is shown on their next page. What
the pages show is read through the core's query port (bot.queries.DeskQueries), the local
accounts and the session key through the store's AccountStore role, both handed in by the
composition root with `bind`. `run` serves the Starlette app with uvicorn inside Kefu's
own event loop (never uvicorn.run, which would take the loop over).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from adapters.web import gate, pages, reportpage
from adapters.web.accounts import LocalAccounts, import_files, session_secret
from adapters.web.live import ChangeWatch
from adapters.web.metrics import CONTENT_TYPE, PrometheusMetrics
from adapters.web.parts import PLATFORM, Flashes, Parts
from adapters.web.sessions import Sessions, Throttle
from adapters.web.signin import CachedRights, DiscordOAuth, Rights, TelegramApi, now
from adapters.web.site import HERE, Guard
from bot.config import Config
from bot.ports import AccountStore, EventSink
from bot.queries import DeskQueries
from bot.texts import Texts
from bot.types import Attachment, Capabilities, Delivered, Outgoing

log = logging.getLogger(__name__)

WEB = Capabilities(paged=False, names_tickets=True)  # like the desk: thread id = ticket number
SHUTDOWN_SECONDS = 2.0


async def _nothing() -> None:
    return None


class WebDesk:
    """The web desk: an Adapter (platform "web") that serves pages instead of reading a chat."""

    platform = PLATFORM
    capabilities = WEB

    def __init__(
        self,
        config: Config,
        texts: Texts,
        metrics: PrometheusMetrics | None = None,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = now,
    ) -> None:
        self.config = config
        self.texts = texts
        self.metrics = metrics or PrometheusMetrics()
        self.flashes = Flashes()
        self.issued: set[str] = set()  # the moderators' chats this process sent events from
        self.uploads: dict[str, bytes] = {}  # files of a reply, until the hub fetches them
        self._accounts: LocalAccounts | None = None
        self._account_store: AccountStore | None = None
        self._http = http or httpx.AsyncClient(timeout=10.0)
        self._clock = clock
        self._queries: DeskQueries | None = None
        self._settle: Callable[[], Awaitable[None]] = _nothing
        self.watch: ChangeWatch | None = None
        self.server: uvicorn.Server | None = None

    def bind(
        self,
        queries: DeskQueries,
        settle: Callable[[], Awaitable[None]],
        accounts: AccountStore,
    ) -> None:
        """What the pages read, what to wait for after an action (its answer's delivery), and
        where the local accounts and the session key are (the store)."""
        self._queries = queries
        self._settle = settle
        self._account_store = accounts
        self._accounts = LocalAccounts(accounts, clock=self._clock)

    @property
    def accounts(self) -> LocalAccounts:
        """The local accounts (once bound)."""
        if self._accounts is None:
            raise RuntimeError("WebDesk.bind(queries, settle, accounts) first")
        return self._accounts

    def accepts(self, item: object) -> bool:
        """Whether this process delivers an outbox item: web answers only to its own
        moderators (another process may serve the web too)."""
        platform, chat = getattr(item, "platform", ""), getattr(item, "chat_id", "")
        return platform != PLATFORM or chat in self.issued

    def _rights(self) -> dict[str, Rights]:
        cfg, found = self.config, {}
        tg_token = cfg.token(cfg.telegram.token_env)
        if tg_token and cfg.telegram.moderator_chat_id:
            self.telegram = TelegramApi(
                self._http, tg_token, cfg.telegram.moderator_chat_id,
                cfg.telegram.admins_only, cfg.telegram.base_url,
            )  # fmt: skip
            found["telegram"] = CachedRights(self.telegram.is_moderator, self._clock)
        else:
            self.telegram = None
        dc = cfg.discord
        secret = cfg.token(cfg.web.discord_client_secret_env)
        bot_token = cfg.token(dc.token_env)
        if cfg.web.discord_client_id and secret and bot_token and dc.guild_id:
            self.discord = DiscordOAuth(
                self._http, cfg.web.discord_client_id, secret, bot_token, dc.guild_id,
                dc.moderator_role_id, cfg.web.discord_api_url.rstrip("/"),
                cfg.web.discord_authorize_url,
            )  # fmt: skip
            found["discord"] = CachedRights(self.discord.is_moderator, self._clock)
        else:
            self.discord = None
        return found

    async def app(self, sink: EventSink) -> Starlette:
        """The ASGI app, its events going to `sink`; first, accounts and a session key that an
        older Kefu kept in the data directory move into the store."""
        if self._queries is None or self._account_store is None:
            raise RuntimeError("WebDesk.bind(queries, settle, accounts) first")
        cfg = self.config
        await import_files(cfg.bot.data_dir, self._account_store, self._clock())
        secret = await session_secret(self._account_store, self._clock())
        sessions = Sessions(secret, cfg.web.session_hours * 3600.0)
        rights = self._rights()
        guard = Guard(
            sessions, self.accounts, rights, self.texts, cfg.bot.default_lang,
            cfg.web.public_url.startswith("https://"),
        )  # fmt: skip
        self.watch = ChangeWatch(self._queries.change_mark)
        parts = Parts(
            cfg, guard, guard.templates, self._queries, sink, self._settle, self.flashes,
            self.watch, self.metrics, cfg.token(cfg.web.metrics_token_env)
            if cfg.web.metrics_token_env else "", self.issued, self.uploads,
        )  # fmt: skip
        way = gate.SignIn(
            self.accounts, Throttle(), self.telegram, self.discord, cfg.web.public_url, self._clock
        )
        routes = [
            *gate.Gate(parts, way).routes(),
            *pages.Pages(parts).routes(),
            *reportpage.routes(parts),
            Route("/metrics", self._metrics_route(parts)),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
        return Starlette(routes=routes)

    def _metrics_route(self, parts: Parts) -> Callable[[Request], Awaitable[Response]]:
        async def metrics(request: Request) -> Response:
            if parts.metrics_token:
                given = request.headers.get("authorization", "")
                if not hmac.compare_digest(given, f"Bearer {parts.metrics_token}"):
                    return PlainTextResponse("unauthorized", 401)
            snapshot = await parts.queries.ops()
            body = self.metrics.exposition(snapshot, parts.queries.now())
            return Response(body, media_type=CONTENT_TYPE)

        return metrics

    # the Adapter protocol

    async def run(self, sink: EventSink) -> None:
        """Serve until cancelled, on `[web] listen`:`[web] port`."""
        cfg = self.config.web
        server = _Server(
            uvicorn.Config(
                await self.app(sink), host=cfg.listen, port=cfg.port, log_level="warning",
                lifespan="off", access_log=False, timeout_graceful_shutdown=SHUTDOWN_SECONDS,
            )
        )  # fmt: skip
        self.server = server
        log.info("web desk on http://%s:%d", cfg.listen, cfg.port)
        try:
            await server.serve()
        finally:
            await self._stop(server)

    async def _stop(self, server: uvicorn.Server) -> None:
        """End the event streams first (they would hold the shutdown), then the server."""
        if self.watch is not None:
            await self.watch.close()
        server.should_exit = True
        if server.started:
            with contextlib.suppress(Exception):
                await server.shutdown()
            server.started = False

    async def send(self, out: Outgoing) -> Delivered:
        """The core's answer to a moderator: shown on their next page."""
        text = f"{out.reply.title}\n{out.reply.text}" if out.reply.title else out.reply.text
        self.flashes.add(out.to.id, text)
        return Delivered(("web",))

    async def fetch_attachment(self, attachment: Attachment, max_bytes: int) -> bytes:
        """A file a moderator uploaded with a reply (held only until this fetch)."""
        data = self.uploads.pop(attachment.ref, None)
        if data is None:
            raise ValueError("no such upload")
        return data

    async def __aenter__(self) -> WebDesk:
        """Used with AsyncExitStack by the composition root."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the HTTP client."""
        await self._http.aclose()


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: Kefu's composition root owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield
