"""The read-only query port of the core: what a moderator surface that shows more than one
ticket at a time (the web desk) may read — the queue, a ticket with its history, finding
tickets, reports, the help center's figures — never the engine's internals.

`DeskQueries` is the port; `StoreQueries` answers it from the store (its QueryStore role and
a few reads of the others) and the loaded help center. Changes go the other way, as events
through the hub.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bot import reports
from bot.config import Config
from bot.reports import Period, Report
from bot.storage.base import FileRecords, QueryStore, SnippetStore, TicketStore, UserStore
from bot.storage.records import (
    Author,
    OpsSnapshot,
    Ticket,
    TicketMessage,
    TicketQuery,
    TicketStatus,
)
from knowledge.loader import check_content, content_warnings
from knowledge.models import KnowledgeBase

__all__ = [
    "Author",
    "DeskQueries",
    "FileInfo",
    "HelpCenter",
    "OpsSnapshot",
    "Period",
    "Report",
    "StoreQueries",
    "Ticket",
    "TicketMessage",
    "TicketQuery",
    "TicketStatus",
    "TicketView",
]

MISSES_SHOWN = 50  # queries that found nothing, per report or help-center page
REPORT_TTL = 30.0  # seconds a report is reused while no ticket changed (ratings and clicks
# do not move the change mark: they show within this)
FINDINGS_TTL = 30.0  # seconds `kefu kb check`'s findings are reused (a check takes ~0.5 s)


@dataclass(frozen=True, slots=True)
class TicketView:
    """A ticket with its whole history and whether its user is blocked."""

    ticket: Ticket
    history: list[TicketMessage]
    user_banned: bool


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A stored attachment: where its bytes are and what they are."""

    path: Path
    mime: str


@dataclass(frozen=True, slots=True)
class ArticleInfo:
    """An article of the help center with its Solved / Not solved clicks (all time) and the
    queries that led to it: (query, solved, not solved), most clicked first."""

    id: str
    title: str
    category: str
    solved: int
    not_solved: int
    queries: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        """Solved over all clicks; None when nobody clicked."""
        total = self.solved + self.not_solved
        return self.solved / total if total else None


@dataclass(frozen=True, slots=True)
class HelpCenter:
    """The help center's page: its articles, the queries that found nothing, and what
    `kefu kb check` finds in its content."""

    articles: list[ArticleInfo]
    found_nothing: list[tuple[str, int]]
    problems: list[str]
    warnings: list[str]


class DeskQueries(Protocol):
    """What the web desk reads."""

    @property
    def sla_seconds(self) -> float:
        """`[handoff] sla_minutes` in seconds: a ticket waiting longer is late."""
        ...

    @property
    def timezone(self) -> str:
        """The zone reports count days in (`[handoff] timezone`)."""
        ...

    def now(self) -> float:
        """The time now (epoch seconds)."""
        ...

    async def queue(self) -> list[Ticket]:
        """Open and claimed tickets, by priority (high first), then oldest first."""
        ...

    async def ticket(self, ticket_id: int) -> TicketView | None:
        """A ticket with its history."""
        ...

    async def find(self, query: TicketQuery) -> list[Ticket]:
        """Tickets matching every criterion given, newest first."""
        ...

    async def change_mark(self) -> tuple[int, ...]:
        """A value that differs whenever any ticket changed, in any process."""
        ...

    async def report(self, period: Period) -> Report:
        """The figures of a period."""
        ...

    async def help_center(self, lang: str) -> HelpCenter:
        """The articles with their solve rates and queries, gaps and content findings."""
        ...

    async def file(self, sha256: str) -> FileInfo | None:
        """A stored attachment by its hash."""
        ...

    async def snippets(self) -> list[tuple[str, str]]:
        """The moderators' canned replies (name, text)."""
        ...

    async def moderators(self, keys: Iterable[str]) -> dict[str, str]:
        """How to show each of those moderators' keys: their latest name (see
        bot.reports.moderator_labels)."""
        ...

    async def ops(self) -> OpsSnapshot:
        """The service's state now, for /metrics."""
        ...

    def category_label(self, category: str, lang: str) -> str:
        """A category's name in `lang` (its id when unknown)."""
        ...

    def article_title(self, article_id: str, lang: str) -> str:
        """An article's title in `lang` (its id when unknown)."""
        ...


class QueryStorage(TicketStore, QueryStore, FileRecords, SnippetStore, UserStore, Protocol):
    """The store's roles the queries read."""


class StoreQueries:
    """DeskQueries from the store and the help center as currently loaded."""

    def __init__(
        self,
        store: QueryStorage,
        config: Config,
        clock: Callable[[], float],
        knowledge: Callable[[], KnowledgeBase],
        content_root: Path,
        file_path: Callable[[str], Path],
    ) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._knowledge = knowledge
        self._root = content_root
        self._file_path = file_path
        self._findings: tuple[float, list[str], list[str]] | None = None
        self._reports: dict[Period, tuple[float, tuple[int, ...], Report]] = {}

    @property
    def sla_seconds(self) -> float:
        """`[handoff] sla_minutes` in seconds."""
        return self._config.handoff.sla_minutes * 60.0

    @property
    def timezone(self) -> str:
        """`[handoff] timezone`."""
        return self._config.handoff.timezone

    def now(self) -> float:
        """The runtime's clock."""
        return self._clock()

    async def queue(self) -> list[Ticket]:
        """The queue, as the desk's /queue orders it."""
        return await self._store.queue()

    async def ticket(self, ticket_id: int) -> TicketView | None:
        """A ticket, its history, and whether its user is blocked."""
        ticket = await self._store.get_ticket(ticket_id)
        if ticket is None:
            return None
        history = await self._store.messages(ticket_id)
        user = await self._store.get_user(ticket.user_key)
        return TicketView(ticket, history, user is not None and user.banned)

    async def find(self, query: TicketQuery) -> list[Ticket]:
        """Tickets matching every criterion given."""
        return await self._store.find_tickets(query)

    async def change_mark(self) -> tuple[int, ...]:
        """Differs whenever any ticket changed."""
        return await self._store.change_mark()

    async def report(self, period: Period) -> Report:
        """The period's figures (see bot.reports); the same Report again while no ticket
        changed and it is less than REPORT_TTL seconds old (20 managers on one page)."""
        mark = await self._store.change_mark()
        kept = self._reports.get(period)
        if kept is not None and kept[1] == mark and time.monotonic() - kept[0] < REPORT_TTL:
            return kept[2]
        report = await self._build_report(period)
        if len(self._reports) > 16:
            self._reports.clear()
        self._reports[period] = (time.monotonic(), mark, report)
        return report

    async def _build_report(self, period: Period) -> Report:
        since, until = period.since, period.until
        facts = await self._store.ticket_facts(since, until)
        feedback = await self._store.feedback_counts(since, until)
        misses = await self._store.miss_counts(since, until, MISSES_SHOWN)
        names = await self._store.moderator_names({f.handler for f in facts if f.handler})
        now = self._clock()
        return reports.build(facts, feedback, misses, period, self.sla_seconds, now, names)

    async def help_center(self, lang: str) -> HelpCenter:
        """Every article (all-time clicks, worst first), gaps and `kefu kb check` findings."""
        kb = self._knowledge()
        feedback = await self._store.feedback_counts(0.0, float("inf"))
        queries: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        for c in feedback:
            queries[c.article_id].append((c.query, c.solved, c.not_solved))
        articles = []
        for article_id in dict.fromkeys(a.id for a in kb.articles):
            article = kb.article(article_id, lang)
            assert article is not None
            asked = sorted(queries.get(article_id, []), key=lambda q: (-q[1] - q[2], q[0]))
            solved = sum(q[1] for q in asked)
            articles.append(
                ArticleInfo(
                    article_id,
                    article.title,
                    article.category,
                    solved,
                    sum(q[2] for q in asked),
                    asked,
                )
            )
        articles.sort(key=lambda a: (a.rate if a.rate is not None else 2.0, a.id))
        misses = await self._store.miss_counts(0.0, float("inf"), MISSES_SHOWN)
        problems, warnings = await self._check()
        return HelpCenter(articles, misses, problems, warnings)

    async def _check(self) -> tuple[list[str], list[str]]:
        """`kefu kb check`'s problems and warnings, reused for FINDINGS_TTL seconds."""
        cached = self._findings
        if cached is not None and time.monotonic() - cached[0] < FINDINGS_TTL:
            return cached[1], cached[2]
        problems = await asyncio.to_thread(check_content, self._root)
        warnings = await asyncio.to_thread(content_warnings, self._root)
        self._findings = (time.monotonic(), problems, warnings)
        return problems, warnings

    async def file(self, sha256: str) -> FileInfo | None:
        """Where a stored attachment's bytes are."""
        stored = await self._store.get_file(sha256)
        if stored is None:
            return None
        return FileInfo(self._file_path(stored.path), stored.mime)

    async def snippets(self) -> list[tuple[str, str]]:
        """The canned replies."""
        return await self._store.list_snippets()

    async def moderators(self, keys: Iterable[str]) -> dict[str, str]:
        """Each key's label: its latest recorded name, else its id and platform."""
        wanted = {k for k in keys if k}
        return reports.moderator_labels(sorted(wanted), await self._store.moderator_names(wanted))

    async def ops(self) -> OpsSnapshot:
        """Queue, outbox, dead letters, tickets opened and closed, SLA breaches."""
        return await self._store.ops_snapshot(self._clock(), self.sla_seconds)

    def category_label(self, category: str, lang: str) -> str:
        """A category's label in `lang`."""
        found = self._knowledge().categories.get(category)
        return found.label(lang) if found is not None else category

    def article_title(self, article_id: str, lang: str) -> str:
        """An article's title in `lang`."""
        found = self._knowledge().article(article_id, lang)
        return found.title if found is not None else article_id
