"""What every part of the web desk shares: the request guard, templates, the query port,
the hub's sink, and the outcome messages the core sends back to each moderator."""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import HTMLResponse

from adapters.web.live import ChangeWatch
from adapters.web.metrics import PrometheusMetrics
from adapters.web.site import Ctx, Guard, Templates
from bot.config import Config
from bot.ports import EventSink
from bot.queries import DeskQueries
from bot.types import (
    Attachment,
    ChatKind,
    ChatRef,
    CommandReceived,
    IncomingEvent,
    TextReceived,
    UserRef,
)

PLATFORM = "web"
SYSTEM_AUTHOR = "system"  # the author of the lines Kefu writes into a ticket's history
FLASHES_KEPT = 20  # outcome messages kept per moderator until their next page


class Flashes:
    """What the core answered each moderator (the adapter's `send`), until a page shows it."""

    def __init__(self) -> None:
        self._by_chat: dict[str, deque[str]] = defaultdict(lambda: deque(maxlen=FLASHES_KEPT))

    def add(self, chat_id: str, text: str) -> None:
        """Keep a message for the moderator whose chat it is."""
        self._by_chat[chat_id].append(text)

    def take(self, chat_id: str) -> list[str]:
        """The messages waiting for a moderator, now shown."""
        found = self._by_chat.pop(chat_id, None)
        return list(found) if found else []


@dataclass(frozen=True, slots=True)
class Upload:
    """A file posted with a reply: its declared name and type, and its bytes."""

    name: str
    mime: str
    data: bytes


@dataclass(slots=True)
class Parts:
    """The web desk's shared pieces, built by the adapter."""

    config: Config
    guard: Guard
    templates: Templates
    queries: DeskQueries
    sink: EventSink
    settle: Callable[[], Awaitable[None]]
    flashes: Flashes
    watch: ChangeWatch
    metrics: PrometheusMetrics
    metrics_token: str = ""
    issued: set[str] = field(default_factory=set)
    uploads: dict[str, bytes] = field(default_factory=dict)

    def moderator(self, ctx: Ctx) -> tuple[UserRef, ChatRef]:
        """The signed-in moderator as the hub sees them, in the chat of one ticket."""
        who = ctx.session.who
        user = UserRef(PLATFORM, who, ctx.session.name or who, ctx.lang, is_moderator=True)
        return user, ChatRef(PLATFORM, who, ChatKind.MODERATION)

    async def act(
        self,
        ctx: Ctx,
        ticket_id: int,
        command: str,
        text: str = "",
        files: Sequence[Upload] = (),
    ) -> None:
        """Hand a moderator's action on a ticket to the hub, as any adapter does, and wait
        for the core's answer to this moderator (shown on the next page). A reply's `files`
        wait in `uploads` for the hub to fetch and check them, as a platform's would."""
        user, chat = self.moderator(ctx)
        chat = ChatRef(chat.platform, chat.id, chat.kind, str(ticket_id))
        event_id = f"{uuid.uuid4().hex}"
        self.issued.add(chat.id)
        attachments = []
        for upload in files:
            ref = uuid.uuid4().hex
            self.uploads[ref] = upload.data
            attachments.append(Attachment(ref, upload.name, upload.mime, len(upload.data)))
        event: IncomingEvent
        if command == "reply":
            event = TextReceived(user, chat, event_id, text, tuple(attachments))
        else:
            event = CommandReceived(user, chat, event_id, command, text)
        try:
            await self.sink(event)
            await self.settle()
        finally:
            for a in attachments:  # fetched by now, unless the event failed first
                self.uploads.pop(a.ref, None)

    def render(self, ctx: Ctx, name: str, status: int = 200, **values: object) -> HTMLResponse:
        """A page with the moderator's waiting messages and the helpers templates use."""
        return self.templates.render(
            ctx,
            name,
            status,
            flashes=self.flashes.take(ctx.session.who) if ctx.session.signed_in else [],
            now=self.queries.now(),
            sla=self.queries.sla_seconds,
            ago=lambda seconds: ago(ctx, seconds),
            when=lambda at: when(at, self.queries.timezone),
            category=lambda cid: self.queries.category_label(cid, ctx.lang) if cid else "-",
            said=lambda m: _said(ctx, m),
            **values,
        )

    def today(self) -> date:
        """Today in the reports' time zone."""
        return datetime.fromtimestamp(self.queries.now(), ZoneInfo(self.queries.timezone)).date()


def _said(ctx: Ctx, message: Any) -> str:
    """A history line's text (a TicketMessage of DeskQueries): Kefu's own lines ("claimed",
    author "system") in the page's language."""
    if message.author == SYSTEM_AUTHOR:
        return str(ctx.texts.reread(message.text, ctx.lang))
    return str(message.text)


def ago(ctx: Ctx, seconds: float | None) -> str:
    """A duration as "3 min", "2 h 5 min" or "4 d 2 h" in the page's language."""
    if seconds is None:
        return "-"
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return ctx.t("web_minutes", m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return ctx.t("web_hours", h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return ctx.t("web_days", d=days, h=hours)


def when(at: float | None, zone: str) -> str:
    """A moment as local "YYYY-MM-DD HH:MM"."""
    if at is None:
        return "-"
    return datetime.fromtimestamp(at, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
