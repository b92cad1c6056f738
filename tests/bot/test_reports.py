"""The reports' figures, from tickets with known times and ratings, equal the ones worked out
by hand (in the comments): through the SQLite store and the query port, as the web shows them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.app import load_kb
from bot.config import Config, HandoffConfig
from bot.queries import StoreQueries
from bot.reports import Period, Row, median, moderator_labels, p90
from bot.storage import Store, open_store
from bot.storage.records import Miss, Ticket, TicketStatus

D1 = 1_767_225_600.0  # 2026-01-01 00:00 UTC
D2 = D1 + 86_400
D3 = D2 + 86_400
CLOSED = TicketStatus.CLOSED


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    made = await open_store(tmp_path / "kefu.sqlite3")
    try:
        yield made
    finally:
        await made.close()


def _t(platform: str, category: str, created: float, **fields: Any) -> Ticket:
    return Ticket(
        f"{platform}:u{created}", platform, "1", category=category, created_at=created, **fields
    )


FIXTURE = [
    # 1: answered in 5 min, resolved in 1 h, rated 5
    _t(
        "telegram",
        "account",
        D1,
        first_response_at=D1 + 300,
        closed_at=D1 + 3600,
        status=CLOSED,
        claimed_by="telegram:m1",
        rating=5,
    ),
    # 2: answered in 15 min (late), resolved in 2 h, rated 3
    _t(
        "telegram",
        "account",
        D1 + 100,
        first_response_at=D1 + 1000,
        closed_at=D1 + 7300,
        status=CLOSED,
        claimed_by="telegram:m1",
        rating=3,
    ),
    # 3: answered in 1 min, closed the next day (86,200 s), rated 4
    _t(
        "discord",
        "payment",
        D1 + 200,
        first_response_at=D1 + 260,
        closed_at=D2,
        status=CLOSED,
        claimed_by="discord:m2",
        rating=4,
    ),
    # 4: never answered, still waiting at the end: past the SLA
    _t("discord", "payment", D2 + 1000),
    # 5: closed by its user after 100 s, unanswered: its SLA window never ended
    _t("console", "", D2 + 2000, closed_at=D2 + 2100, status=CLOSED, closed_by="user:console:u"),
    # 6: opened before the period, closed in it after 1,500 s, rated 1
    _t(
        "telegram",
        "account",
        D1 - 1000,
        first_response_at=D1 - 900,
        closed_at=D1 + 500,
        status=CLOSED,
        closed_by="desk:bob",
        rating=1,
    ),
]


async def _report(store: Store, tmp_path: Path) -> Any:
    for ticket in FIXTURE:
        await store.create_ticket(ticket)
    for article, query, solved in [
        ("a1", "Login  fails", True),
        ("a1", "login fails", False),
        ("a1", "login fails", False),
        ("a2", "pay", True),
        ("a2", "pay", True),
        ("a2", "pay", True),
        ("a3", "LOGIN fails", False),
    ]:
        await store.add_feedback(article, query, solved, D1 + 10)
    for query, when in (("dark mode", D1 + 5), ("Dark Mode", D2 + 5), ("old", D1 - 5)):
        await store.add_search_miss(Miss(query, created_at=when))
    config = Config(handoff=HandoffConfig(sla_minutes=10))
    kb = load_kb(config)
    queries = StoreQueries(store, config, lambda: D3, lambda: kb, tmp_path, lambda p: tmp_path / p)
    return await queries.report(Period(date(2026, 1, 1), date(2026, 1, 2)))


def _figures(row: Row) -> tuple[Any, ...]:
    return (
        row.key,
        row.opened,
        row.closed,
        row.first_median,
        row.first_p90,
        row.resolution_median,
        row.resolution_p90,
        row.within_sla,
        row.csat,
        row.csat_mean,
    )


async def test_the_reports_figures_are_the_hand_computed_ones(
    store: Store, tmp_path: Path
) -> None:
    report = await _report(store, tmp_path)
    # opened 1-5; closed 1, 2, 3, 5, 6; first responses 60, 300, 900; resolutions 100, 1500,
    # 3600, 7200, 86200; SLA windows over: 1 (met), 2, 3 (met), 4 → 2/4; ratings 5, 3, 4, 1
    assert _figures(report.total) == ("", 5, 5, 300, 900, 3600, 86200, 0.5, (1, 0, 1, 1, 1), 3.25)
    day1, day2 = report.by_day
    assert _figures(day1) == (
        "2026-01-01",
        3,
        3,
        300,
        900,
        3600,
        7200,
        2 / 3,
        (1, 0, 1, 0, 1),
        3.0,
    )
    assert _figures(day2) == (
        "2026-01-02",
        2,
        2,
        None,
        None,
        43150,
        86200,
        0.0,
        (0, 0, 0, 1, 0),
        4.0,
    )
    assert [(r.key, r.opened, r.closed) for r in report.by_category] == [
        ("account", 2, 3),
        ("payment", 2, 1),
        ("-", 1, 1),
    ]
    assert [(r.key, r.opened, r.closed) for r in report.by_platform] == [
        ("discord", 2, 1),
        ("telegram", 2, 3),
        ("console", 1, 1),
    ]
    assert [(r.key, r.opened, r.closed, r.csat_mean) for r in report.by_moderator] == [
        ("telegram:m1", 2, 2, 4.0),
        ("discord:m2", 1, 1, 4.0),
        ("desk:bob", 0, 1, 1.0),
    ]
    # no moderator acted through a turn here: no names recorded, each shown by id and platform
    assert report.moderators == {
        "telegram:m1": "m1 (telegram)",
        "discord:m2": "m2 (discord)",
        "desk:bob": "bob (desk)",
    }
    payment = report.by_category[1]
    assert (payment.first_median, payment.within_sla, payment.sla_counted) == (60, 0.5, 2)


async def test_help_center_figures_and_content_gaps(store: Store, tmp_path: Path) -> None:
    report = await _report(store, tmp_path)
    assert [(a.article_id, a.solved, a.not_solved) for a in report.articles] == [
        ("a3", 0, 1),
        ("a1", 1, 2),
        ("a2", 3, 0),
    ]
    assert report.found_nothing == [("dark mode", 2)]
    assert report.not_solved == [("login fails", 3)]


def test_median_and_p90_by_nearest_rank() -> None:
    assert median([]) is None and p90([]) is None
    assert median([4, 1, 3, 2]) == 2.5
    assert p90(list(range(1, 11))) == 9
    assert p90(list(range(1, 12))) == 10
    assert p90([7]) == 7


def test_moderators_are_labelled_by_name_and_kept_apart_when_names_collide() -> None:
    names = {"telegram:5012345": "Amy", "web:local:amy": "Amy", "discord:8812": "王芳"}
    keys = ["telegram:5012345", "web:local:amy", "discord:8812", "telegram:777", "odd", "x:"]
    assert moderator_labels(keys, names) == {
        "telegram:5012345": "Amy (telegram:5012345)",  # two moderators named Amy
        "web:local:amy": "Amy (web:local:amy)",
        "discord:8812": "王芳",
        "telegram:777": "777 (telegram)",  # no name recorded (an old ticket)
        "odd": "odd",
        "x:": "x:",
    }
