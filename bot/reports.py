"""Reports for whoever runs the team: pure figures from the facts the store hands out.

For a period (whole days in `[handoff] timezone`):
- opened: tickets created in the period; closed: tickets closed in it (and closed still);
- first response: created in the period and answered, seconds from creation to the first
  moderator action; resolution: closed in the period, seconds from creation to closing;
- within SLA: of the tickets created in the period whose SLA window is over (answered, or
  waiting or closed unanswered past `sla_minutes`), the share answered within it;
- CSAT: the ratings (1-5) of the tickets closed in the period.
By day, a ticket's opening-side figures (opened, first response, SLA) count on the day it was
created and its closing-side ones (closed, resolution, CSAT) on the day it was closed. Median
is the middle value (the mean of the two middle ones); p90 is the nearest rank (the value at
position ceil(0.9 n)).
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.storage.records import FeedbackCount, TicketFacts, TicketStatus

RATINGS = (1, 2, 3, 4, 5)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days from `first` to `last` (both included) in a time zone."""

    first: date
    last: date
    zone: str = "UTC"

    @property
    def since(self) -> float:
        """The first moment of the period (epoch seconds)."""
        return _midnight(self.first, self.zone)

    @property
    def until(self) -> float:
        """The first moment after it."""
        return _midnight(self.last + timedelta(days=1), self.zone)

    def days(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def day_of(self, when: float) -> date:
        """The local day of a moment."""
        return datetime.fromtimestamp(when, ZoneInfo(self.zone)).date()


def _midnight(day: date, zone: str) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).timestamp()


def median(values: Sequence[float]) -> float | None:
    """The middle value (mean of the two middle ones); None for no values."""
    return statistics.median(values) if values else None


def p90(values: Sequence[float]) -> float | None:
    """The 90th percentile by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


@dataclass(slots=True)
class Tally:
    """What one row of a report collects before its figures are worked out."""

    opened: int = 0
    closed: int = 0
    first: list[float] = field(default_factory=list)
    resolution: list[float] = field(default_factory=list)
    sla_due: int = 0
    sla_met: int = 0
    ratings: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a report table: a day, a category, a platform, a moderator, or the total."""

    key: str
    opened: int
    closed: int
    first_median: float | None
    first_p90: float | None
    resolution_median: float | None
    resolution_p90: float | None
    within_sla: float | None  # share, 0-1; None when no ticket's SLA window is over
    sla_counted: int
    csat: tuple[int, ...]  # how many ratings of 1, 2, 3, 4, 5
    csat_mean: float | None

    @classmethod
    def of(cls, key: str, t: Tally) -> Row:
        """The figures of a tally."""
        return cls(
            key,
            t.opened,
            t.closed,
            median(t.first),
            p90(t.first),
            median(t.resolution),
            p90(t.resolution),
            t.sla_met / t.sla_due if t.sla_due else None,
            t.sla_due,
            tuple(t.ratings.count(n) for n in RATINGS),
            statistics.fmean(t.ratings) if t.ratings else None,
        )


@dataclass(frozen=True, slots=True)
class ArticleRow:
    """How one article solved problems: Solved / Not solved clicks in the period."""

    article_id: str
    solved: int
    not_solved: int

    @property
    def rate(self) -> float:
        """Solved clicks over all clicks."""
        return self.solved / (self.solved + self.not_solved)


@dataclass(frozen=True, slots=True)
class Report:
    """Every table of the reports page."""

    period: Period
    sla_seconds: float
    total: Row
    by_day: list[Row]
    by_category: list[Row]
    by_platform: list[Row]
    by_moderator: list[Row]
    articles: list[ArticleRow]
    found_nothing: list[tuple[str, int]]  # queries that found nothing, with their counts
    not_solved: list[tuple[str, int]]  # queries whose article did not solve it
    moderators: dict[str, str] = field(default_factory=dict)  # by_moderator key -> label


def moderator_labels(keys: Iterable[str], names: Mapping[str, str]) -> dict[str, str]:
    """How moderators are shown, by key: their latest recorded name, else the key's id with
    its platform ("5012345 (telegram)"); a name two of the keys share goes with the key, so
    that they stay apart ("Amy (telegram:5012345)")."""
    labels: dict[str, str] = {}
    for key in dict.fromkeys(keys):
        platform, colon, rest = key.partition(":")
        labels[key] = names.get(key) or (f"{rest} ({platform})" if colon and rest else key)
    taken = Counter(labels.values())
    return {k: f"{v} ({k})" if taken[v] > 1 else v for k, v in labels.items()}


def _opening_side(t: Tally, f: TicketFacts, sla: float, now: float) -> None:
    t.opened += 1
    if f.first_response_at is not None:
        waited = f.first_response_at - f.created_at
        t.first.append(waited)
        t.sla_due += 1
        t.sla_met += int(waited <= sla)
    elif (f.closed_at or now) - f.created_at > sla:
        t.sla_due += 1


def _closing_side(t: Tally, f: TicketFacts, closed_at: float) -> None:
    t.closed += 1
    t.resolution.append(closed_at - f.created_at)
    if f.rating is not None:
        t.ratings.append(f.rating)


Tallies = dict[str, Tally]


def _rows(tallies: Tallies, keys: Iterable[str] | None = None) -> list[Row]:
    order = (
        list(keys) if keys is not None else sorted(tallies, key=lambda k: (-tallies[k].opened, k))
    )
    return [Row.of(k, tallies.get(k, Tally())) for k in order]


def tally(facts: Iterable[TicketFacts], period: Period, sla: float, now: float) -> list[Tallies]:
    """One pass over the facts: tallies of the total, by day, category, platform, moderator.

    A day is found by bisecting the period's midnights (a time-zone conversion per ticket
    would cost more than the rest of the report).
    """
    since, until = period.since, period.until
    days = [d.isoformat() for d in period.days()]
    starts = [_midnight(d, period.zone) for d in period.days()]
    out: list[Tallies] = [defaultdict(Tally) for _ in range(5)]
    total, by_day = out[0], out[1]
    for f in facts:
        groups = (f.category or "-", f.platform or "-", f.handler or "-")
        if since <= f.created_at < until:
            day = days[bisect_right(starts, f.created_at) - 1]
            for t in (
                total[""],
                by_day[day],
                *(d[g] for d, g in zip(out[2:], groups, strict=True)),
            ):
                _opening_side(t, f, sla, now)
        closed = f.closed_at
        if f.status is TicketStatus.CLOSED and closed is not None and since <= closed < until:
            day = days[bisect_right(starts, closed) - 1]
            for t in (
                total[""],
                by_day[day],
                *(d[g] for d, g in zip(out[2:], groups, strict=True)),
            ):
                _closing_side(t, f, closed)
    return out


def build(
    facts: Sequence[TicketFacts],
    feedback: Sequence[FeedbackCount],
    misses: Sequence[tuple[str, int]],
    period: Period,
    sla_seconds: float,
    now: float,
    names: Mapping[str, str] | None = None,
) -> Report:
    """The report of a period from its facts; `names`: moderators' recorded names by key."""
    total, days, categories, platforms, handlers = tally(facts, period, sla_seconds, now)
    handlers.pop("-", None)  # closed by their users, never handled
    by_moderator = _rows(handlers)
    return Report(
        period,
        sla_seconds,
        Row.of("", total.get("", Tally())),
        _rows(days, [d.isoformat() for d in period.days()]),
        _rows(categories),
        _rows(platforms),
        by_moderator,
        _articles(feedback),
        list(misses),
        _not_solved(feedback),
        moderator_labels((r.key for r in by_moderator), names or {}),
    )


def _articles(feedback: Sequence[FeedbackCount]) -> list[ArticleRow]:
    """Per article, worst solve rate first (then the most clicked)."""
    solved: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in feedback:
        solved[c.article_id][0] += c.solved
        solved[c.article_id][1] += c.not_solved
    rows = [ArticleRow(a, s, n) for a, (s, n) in solved.items() if s + n]
    return sorted(rows, key=lambda r: (r.rate, -(r.solved + r.not_solved), r.article_id))


def fold(query: str) -> str:
    """How queries are grouped: lower case, whitespace runs collapsed, trimmed."""
    return " ".join(query.lower().split())


def _not_solved(feedback: Sequence[FeedbackCount]) -> list[tuple[str, int]]:
    """Queries that ended "Not solved", folded, most frequent first."""
    counts: dict[str, int] = defaultdict(int)
    for c in feedback:
        if c.not_solved:
            counts[fold(c.query)] += c.not_solved
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
