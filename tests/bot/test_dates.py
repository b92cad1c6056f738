"""Dates as people write them (bot.dates): the past wins, the strict form is the last resort."""

from __future__ import annotations

from datetime import date

import pytest

from bot.dates import understand, vague

TODAY = date(2026, 1, 15)  # a Thursday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the strict forms
        ("2025-03-14", date(2025, 3, 14)),
        ("2025/3/4", date(2025, 3, 4)),
        ("2025.03.14", date(2025, 3, 14)),
        ("２０２５－０３－１４", date(2025, 3, 14)),
        ("2025年3月14日", date(2025, 3, 14)),
        ("2025 年 3 月 14 号", date(2025, 3, 14)),
        # Chinese, relative
        ("1月3日", date(2026, 1, 3)),
        ("昨天", date(2026, 1, 14)),
        ("昨天晚上", date(2026, 1, 14)),
        ("前天", date(2026, 1, 13)),
        ("大前天", date(2026, 1, 12)),
        ("三天前", date(2026, 1, 12)),
        ("3天前", date(2026, 1, 12)),
        ("两周前", date(2026, 1, 1)),
        ("上周二", date(2026, 1, 6)),
        ("上星期五", date(2026, 1, 9)),
        ("上上周一", date(2025, 12, 29)),
        ("这周一", date(2026, 1, 12)),
        ("礼拜二", date(2026, 1, 13)),  # a bare weekday: the latest, never a future one
        ("周四", TODAY),
        ("周五", date(2026, 1, 9)),
        ("上个月15号", date(2025, 12, 15)),
        ("上月3号", date(2025, 12, 3)),
        ("12号", date(2026, 1, 12)),
        ("20号", date(2025, 12, 20)),  # the 20th of this month is yet to come
        ("去年12月3日", date(2025, 12, 3)),
        ("十二月三日", date(2025, 12, 3)),
        ("前天下午3点", date(2026, 1, 13)),  # a clock time does not change the day
        ("昨天晚上8点半", date(2026, 1, 14)),
        ("大概一周前", date(2026, 1, 8)),  # how sure they are is not the date
        ("大约3天前", date(2026, 1, 12)),
        ("昨晚", date(2026, 1, 14)),  # a day with its time of day in one word
        ("刚才", TODAY),
        ("上週二", date(2026, 1, 6)),  # Traditional characters
        ("昨天吧", date(2026, 1, 14)),  # what people add around a date
        ("就今天", TODAY),
        ("yesterday i think", date(2026, 1, 14)),
        ("yday", date(2026, 1, 14)),
        # English
        ("today", TODAY),
        ("Yesterday", date(2026, 1, 14)),
        ("last Tuesday", date(2026, 1, 13)),
        ("3 days ago", date(2026, 1, 12)),
        ("a week ago", date(2026, 1, 8)),
        ("1 Dec", date(2025, 12, 1)),
        ("Dec 1st", date(2025, 12, 1)),
        ("about a week ago", date(2026, 1, 8)),
        ("maybe 3 days ago", date(2026, 1, 12)),
        ("March 14", date(2025, 3, 14)),
        ("yesterday around 5pm", date(2026, 1, 14)),  # the time of day is not the date
        ("Tuesday at 10:30", date(2026, 1, 13)),
        ("Jan 3, 4pm", date(2026, 1, 3)),
        ("the 5th", date(2026, 1, 5)),  # of this month, not May
        ("on the 21st", date(2025, 12, 21)),  # still to come this month: last month's
        # not dates
        ("2025-02-30", None),
        ("13/13", None),
        ("soon", None),
        ("", None),
        ("'; DROP TABLE tickets; --", None),
    ],
)
def test_dates_as_people_write_them(text: str, expected: date | None) -> None:
    assert understand(text, TODAY) == expected


def test_a_day_without_a_year_is_the_latest_one_not_in_the_future() -> None:
    """ "3月14日" typed in January means last March (a form asks when something happened)."""
    assert understand("3月14日", TODAY) == date(2025, 3, 14)
    assert understand("12-31", TODAY) == date(2025, 12, 31)


def test_a_chinese_date_in_an_english_conversation_is_read_as_chinese() -> None:
    assert understand("上周二", TODAY, "en") == date(2026, 1, 6)
    assert understand("last Tuesday", TODAY, "zh-CN") == date(2026, 1, 13)


def test_what_is_to_come_is_read_as_the_future_so_that_the_form_can_refuse_it() -> None:
    assert understand("tomorrow", TODAY) == date(2026, 1, 16)
    assert understand("明天", TODAY) == date(2026, 1, 16)


@pytest.mark.parametrize(
    "text",
    ["前几天", "大概前几天", "最近", "a few days ago", "Recently.", "the other day",
     # a stretch of days names no day: "上周" became a date seven days back, which the
     # moderator read as the day it happened
     "上周", "上个礼拜", "上周吧", "last week", "上个月", "last month", "今年", "this week",
     "去年", "月初", "12月初", "earlier this month", "end of November", "a couple weeks ago"],
)  # fmt: skip
def test_roughly_when_without_a_day_is_vague_not_a_date(text: str) -> None:
    """Taken as written by the form (not asked again and again), never turned into a day."""
    assert understand(text, TODAY) is None
    assert vague(text)


@pytest.mark.parametrize("text", ["昨天", "3 days ago", "soon", "my order", "2025-03-14"])
def test_a_date_or_anything_else_is_not_vague(text: str) -> None:
    assert not vague(text)
