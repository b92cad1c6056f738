"""The moderator's pages: the live queue, a ticket (with its actions), Find, the help center,
the screenshots and the live event stream."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from adapters.web.parts import Parts, Upload
from adapters.web.site import Ctx, body_size, read_form, signed_in
from bot.queries import TicketQuery, TicketStatus

SHA256 = re.compile(r"^[0-9a-f]{64}$")
TEXT_MAX = 4000  # characters of a reply or note taken from the form
ACTIONS = {  # form action → the moderator command it is (plain text replies)
    "reply": "reply",
    "note": "note",
    "snippet": "snippet",
    "claim": "claim",
    "unclaim": "unclaim",
    "close": "close",
    "reopen": "reopen",
    "block": "block",
    "unblock": "unblock",
}
NEEDS_TEXT = frozenset({"reply", "note", "snippet"})
FILES_MAX = 5  # screenshots a reply may carry (as a form takes from a user)
FOUND_SHOWN = 200


async def _uploads(fields: list[UploadFile | str], max_bytes: int) -> list[Upload]:
    """The files chosen in a reply form (an empty file input sends one with no name). Read
    up to one byte over the limit: the hub refuses what is too large, by content, and says
    so, as for a file sent on a platform."""
    found = []
    for f in fields:
        if isinstance(f, UploadFile) and f.filename:
            data = await f.read(max_bytes + 1)
            found.append(Upload(f.filename[:200], f.content_type or "", data))
    return found


def _ticket_id(ctx: Ctx) -> int | None:
    raw = str(ctx.request.path_params.get("ticket_id", ""))
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


class Pages:
    """The moderator's pages, on the shared parts."""

    def __init__(self, p: Parts) -> None:
        self.p = p

    def routes(self) -> list[Route]:
        """The pages' routes: pages redirect an anonymous visitor, the rest answer 401."""
        page, other = signed_in(self.p.guard), signed_in(self.p.guard, page=False)
        return [
            Route("/", self.home),
            Route("/queue", page(self.queue)),
            Route("/queue/rows", other(self.queue_rows)),
            Route("/tickets/{ticket_id}", page(self.ticket)),
            Route("/tickets/{ticket_id}/history", other(self.history)),
            Route("/tickets/{ticket_id}/card", other(self.card)),
            Route("/tickets/{ticket_id}/{action}", other(self.action), methods=["POST"]),
            Route("/files/{sha}", other(self.file)),
            Route("/find", page(self.find)),
            Route("/help", page(self.help_center)),
            Route("/events", other(self.events)),
        ]

    async def home(self, _request: Request) -> Response:
        """The queue is the start page."""
        return RedirectResponse("/queue", 303)

    async def queue(self, ctx: Ctx) -> Response:
        """Open and claimed tickets, live."""
        return await self._queue(ctx, "queue.html")

    async def queue_rows(self, ctx: Ctx) -> Response:
        """The queue's rows (fetched again at every change)."""
        return await self._queue(ctx, "queue_rows.html")

    async def _queue(self, ctx: Ctx, template: str) -> Response:
        tickets = await self.p.queries.queue()
        mods = await self.p.queries.moderators(t.claimed_by for t in tickets)
        return self.p.render(ctx, template, tickets=tickets, mods=mods)

    async def ticket(self, ctx: Ctx) -> Response:
        """A ticket: card, screenshots, history and actions."""
        return await _ticket_page(self.p, ctx, "ticket.html")

    async def history(self, ctx: Ctx) -> Response:
        """A ticket's history (fetched again at every change)."""
        return await _ticket_page(self.p, ctx, "ticket_history.html")

    async def card(self, ctx: Ctx) -> Response:
        """A ticket's card and heading (fetched again at every change: a colleague's claim,
        close or reopen shows, with the buttons that now apply)."""
        return await _ticket_page(self.p, ctx, "ticket_live.html")

    async def action(self, ctx: Ctx) -> Response:
        """A moderator's action on a ticket, handed to the hub as an event."""
        ticket_id = _ticket_id(ctx)
        command = ACTIONS.get(str(ctx.request.path_params.get("action", "")))
        if ticket_id is None or command is None:
            return PlainTextResponse("not found", 404)
        max_bytes = self.p.config.bot.max_image_bytes
        if (body_size(ctx.request) or 0) > FILES_MAX * max_bytes + 65536:
            self.p.flashes.add(ctx.session.who, ctx.t("web_files_too_large", n=FILES_MAX))
            return RedirectResponse(f"/tickets/{ticket_id}", 303)
        form = await read_form(ctx.request)
        raw = form.get("text", "")
        text = (raw if isinstance(raw, str) else "").strip()[:TEXT_MAX]
        files = await _uploads(form.getlist("files"), max_bytes)
        if files and command != "reply":
            self.p.flashes.add(ctx.session.who, ctx.t("web_files_reply_only"))
            files = []
        if len(files) > FILES_MAX:
            self.p.flashes.add(ctx.session.who, ctx.t("web_too_many_files", n=FILES_MAX))
        elif command in NEEDS_TEXT and not text and not files:
            self.p.flashes.add(ctx.session.who, ctx.t("web_empty"))
        else:
            await self.p.act(ctx, ticket_id, command, text, files)
        return RedirectResponse(f"/tickets/{ticket_id}", 303)

    async def file(self, ctx: Ctx) -> Response:
        """A stored screenshot, to signed-in moderators only."""
        sha = str(ctx.request.path_params.get("sha", ""))
        found = await self.p.queries.file(sha) if SHA256.match(sha) else None
        if found is None or not found.path.is_file():
            return PlainTextResponse("not found", 404)
        return FileResponse(found.path, media_type=found.mime, headers={
            "cache-control": "private, max-age=3600",
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'",
        })  # fmt: skip

    async def find(self, ctx: Ctx) -> Response:
        """Tickets by number, user, text, category, status, date."""
        query, asked = _query(ctx.request, self.p.queries.timezone)
        found = await self.p.queries.find(query) if asked else []
        values = dict(ctx.request.query_params)
        return self.p.render(ctx, "find.html", found=found, asked=asked, q=values)

    async def help_center(self, ctx: Ctx) -> Response:
        """Articles with solve rates and queries; gaps; `kefu kb check` findings."""
        return self.p.render(ctx, "help.html", hc=await self.p.queries.help_center(ctx.lang))

    async def events(self, _ctx: Ctx) -> Response:
        """Server-sent events: "change" whenever a ticket changed anywhere."""
        assert self.p.watch is not None
        return StreamingResponse(
            self.p.watch.stream(),
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )


async def _ticket_page(p: Parts, ctx: Ctx, template: str) -> Response:
    ticket_id = _ticket_id(ctx)
    view = await p.queries.ticket(ticket_id) if ticket_id is not None else None
    if view is None:
        return p.render(ctx, "missing.html", 404, number=ticket_id or "?")
    full, live = template == "ticket.html", template == "ticket_live.html"
    snippets = await p.queries.snippets() if full else []
    t = view.ticket
    named = (full or live) and t.claimed_by
    mods = await p.queries.moderators([t.claimed_by]) if named else {}
    return p.render(ctx, template, view=view, t_=t, snippets=snippets, mods=mods, live=live)


def _day(raw: str, zone: str) -> float | None:
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).timestamp()


def _query(request: Request, zone: str) -> tuple[TicketQuery, bool]:
    """Find's form as a TicketQuery, and whether anything was asked at all."""
    q = request.query_params
    number = q.get("number", "").strip().lstrip("#")
    status = q.get("status", "")
    since = _day(q.get("from", ""), zone)
    until = _day(q.get("to", ""), zone)
    query = TicketQuery(
        number=int(number) if number.isdigit() and len(number) < 12 else None,
        user=q.get("user", "")[:200],
        text=q.get("text", "")[:200],
        category=q.get("category", "")[:200],
        status=TicketStatus(status) if status in set(TicketStatus) else None,
        since=since,
        until=until + timedelta(days=1).total_seconds() if until is not None else None,
        limit=FOUND_SHOWN,
    )
    asked = any(v.strip() for k, v in q.items() if k != "lang")
    return query, asked
