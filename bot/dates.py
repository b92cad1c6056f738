"""Dates as people write them, for a question about something that happened (the past wins).

English and most written-out forms go to dateparser ("last Tuesday", "3 days ago", "1 Dec",
"yesterday morning"). Chinese relative forms that dateparser does not read ("上周二",
"上个月15号", "三天前", "礼拜二", "12号") are read here first: a short grammar over the
weekday, day-offset and month-day forms. (jionlp's parse_time reads them too, but it brings
~170 MB of word-segmentation models and numpy along for one question of a form.)
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

import dateparser

from knowledge.writing import simplified

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_DIGITS |= {"七": 7, "八": 8, "九": 9}
_NUM = r"(\d{1,4}|[零〇一二两三四五六七八九十]{1,3})"
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_WEEKDAYS |= {str(n): n - 1 for n in range(1, 8)}
# Times of day people add ("昨天晚上", "前天下午3点多"): they do not change the date.
_TIME_OF_DAY = re.compile(
    rf"(早上|上午|中午|下午|傍晚|晚上|夜里|半夜|凌晨|早晨|晚|左右|的时候|那天"
    rf"|{_NUM}[点點](半|多|钟|{_NUM}分?)?)+$"
)
# How sure people are, before the date ("大概一周前", "about a week ago"): it is the date.
_ROUGHLY = re.compile(
    r"^(大概是?|大约是?|差不多是?|好像是?|应该是?|可能是?|估计是?|约|"
    r"(about|around|roughly|approximately|approx\.?|maybe|probably|i think|like)\s+)"
)
_DAYS_BACK = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "昨晚": 1, "前天": 2, "大前天": 3}
_DAYS_BACK |= {"刚才": 0, "刚刚": 0, "今早": 0, "今晚": 0, "昨夜": 1, "前晚": 2}
# "上周", "last week", "上个月" name a stretch of days, not one: taken as written (_VAGUE), so
# that the moderator reads what the user said rather than a day nobody gave.
# English times of day after a date ("yesterday around 5pm", "Tuesday at 10:30"): dateparser
# reads a plain "at 5pm" but not "around 5pm"; the date is what the question asks.
_EN_TIME = re.compile(
    r"(,?\s+(at|around|about|approx\.?|like|by)\s+\d{1,2}([:.]\d{2})?\s*(am|pm|ish)?"
    r"|,?\s+\d{1,2}([:.]\d{2})?\s*(am|pm)|,?\s+\d{1,2}:\d{2})$"
)
# A day of this month in English ("the 5th", "on the 21st"): dateparser takes "5th" for May.
_EN_DAY = re.compile(r"^(on\s+)?(the\s+)?(\d{1,2})(st|nd|rd|th)$")
# Answers that say roughly when but name no day ("前几天", "a few days ago", "recently"):
# taken as written, like "I don't remember", rather than asked again.
_VAGUE = re.compile(
    r"^(前几天|这几天|最近|近期|不久前|前阵子|前段时间|前些天|几天前|好几天前|有几天了|好几天了"
    r"|一段时间前|很久以前|好久以前|a few days ago|few days ago|a couple of days ago"
    r"|couple (of )?days ago|the other day|recently|lately|a while ago|some time ago"
    r"|not long ago|a few weeks ago|few weeks ago|a couple of weeks ago|a couple weeks ago"
    r"|couple weeks ago|上上?周|上上?个?星期|上上?个?礼拜|这周|本周|这个?星期|这个?礼拜"
    r"|上上?个?月|这个?月|本月"
    r"|(上个?|这个?|本)?月[初中底末]|\d{1,2}月[初中底末]|[一二三四五六七八九十]{1,2}月[初中底末]"
    r"|今年|去年|前年|年初|年底|last week|this week|the week before|last month|this month"
    r"|earlier this month|early this month|last year|this year|a while back"
    r"|(early|mid|late|the end of|end of|the beginning of|beginning of|start of) ?"
    r"(this month|last month|january|february|march|april|may|june|july|august|september"
    r"|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec))$"
)
# What people add around a date that says nothing of it ("昨天吧", "就今天", "yesterday i
# think"): read past, like "大概" and "about" before it.
_TAIL = re.compile(r"(\s*(吧|啊|呀|呢|的样子|左右|i think|i guess|maybe|probably|or so|ish))+$")
_HEAD = re.compile(r"^(就是|就|应该|好像|可能)(?=\S)")
_ALIASES = {"yday": "yesterday", "ytd": "yesterday", "tmr": "tomorrow"}
_AGO = re.compile(rf"^{_NUM}\s*(天|日|周|星期|个?礼拜|个?月|年)(前|之前|以前)$")
_WEEKDAY = re.compile(r"^(上上|上|这|本)?(?:个)?(周|星期|礼拜)([一二三四五六日天七1-7])$")
_MONTH_DAY = re.compile(rf"^(去年|今年)?{_NUM}月{_NUM}[日号]?$")
_DAY_ONLY = re.compile(rf"^(上上个?月|上个?月|这个?月|本月)?{_NUM}[日号]$")
_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_MD = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})$")
_NUMERIC = re.compile(r"^[\d\s/.\-]+$")


def _number(text: str) -> int:
    """An Arabic or Chinese numeral up to 99 ("12", "十二", "二十一", "两")."""
    if text.isdigit():
        return int(text)
    if "十" not in text:
        return _DIGITS.get(text, -1) if len(text) == 1 else -1
    tens, _, ones = text.partition("十")
    return (_DIGITS.get(tens, -1) if tens else 1) * 10 + (_DIGITS.get(ones, -1) if ones else 0)


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _months_back(today: date, months: int) -> tuple[int, int]:
    index = today.year * 12 + today.month - 1 - months
    return index // 12, index % 12 + 1


def _latest(today: date, month: int, day: int) -> date | None:
    """The latest such day that is not in the future (a date without its year)."""
    for year in (today.year, today.year - 1):
        found = _make(year, month, day)
        if found is not None and found <= today:
            return found
    return _make(today.year, month, day)


def _ago(today: date, amount: int, unit: str) -> date | None:
    if amount < 0:
        return None
    if unit in ("天", "日"):
        return today - timedelta(days=amount)
    if unit in ("周", "星期") or unit.endswith("礼拜"):
        return today - timedelta(weeks=amount)
    months = amount if unit.endswith("月") else 12 * amount
    year, month = _months_back(today, months)
    return _make(year, month, min(today.day, 28)) or _make(year, month, 28)


def _weekday(today: date, prefix: str, day: str) -> date:
    monday = today - timedelta(days=today.weekday())
    weeks = {"上上": 2, "上": 1, "这": 0, "本": 0}.get(prefix)
    if weeks is None:  # a bare weekday: the latest one that is not in the future
        back = (today.weekday() - _WEEKDAYS[day]) % 7
        return today - timedelta(days=back)
    return monday - timedelta(weeks=weeks) + timedelta(days=_WEEKDAYS[day])


def _chinese(text: str, today: date) -> date | None:
    """The Chinese relative and month-day forms, or None when the text is none of them."""
    if text not in _DAYS_BACK:  # "昨晚" is a day; "昨天晚上" is one with its time of day
        text = _TIME_OF_DAY.sub("", text) or text
    if text in _DAYS_BACK:
        return today - timedelta(days=_DAYS_BACK[text])
    if text in ("半个月前", "半月前"):
        return today - timedelta(days=15)
    if m := _AGO.match(text):
        return _ago(today, _number(m.group(1)), m.group(2))
    if m := _WEEKDAY.match(text):
        return _weekday(today, m.group(1) or "", m.group(3))
    if m := _MONTH_DAY.match(text):
        month, day = _number(m.group(2)), _number(m.group(3))
        if m.group(1) == "去年":
            return _make(today.year - 1, month, day)
        return _make(today.year, month, day) if m.group(1) else _latest(today, month, day)
    if m := _DAY_ONLY.match(text):
        prefix = m.group(1) or ""
        back = 2 if prefix.startswith("上上") else 1 if prefix.startswith("上") else 0
        year, month = _months_back(today, back)
        day = _number(m.group(2))
        found = _make(year, month, day)
        if not m.group(1) and found is not None and found > today:  # "15号": the latest
            year, month = _months_back(today, 1)
            found = _make(year, month, day)
        return found
    return None


def _numeric(text: str, today: date) -> date | None:
    """Digits only: year first, month/day, or day and month around a year when only one order
    makes sense (3/4/2025 could be either: the question is asked again)."""
    if m := _YMD.match(text):
        return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _MD.match(text):
        return _latest(today, int(m.group(1)), int(m.group(2)))
    if m := _DMY.match(text):
        first, second, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if first > 12 >= second:
            return _make(year, second, first)
        if second > 12 >= first or first == second:
            return _make(year, first, second)
    return None


def _dateparser(text: str, today: date, lang: str) -> date | None:
    languages = ["zh"] if lang.startswith("zh") else ["en"]  # one: a guess across all is slow
    settings: Any = {
        "PREFER_DATES_FROM": "past",
        "RELATIVE_BASE": datetime(today.year, today.month, today.day, 12),  # noqa: DTZ001
        "RETURN_AS_TIMEZONE_AWARE": False,
        "STRICT_PARSING": False,
    }
    found = dateparser.parse(text, languages=languages, settings=settings)
    return found.date() if found is not None else None


def _bare(text: str) -> str:
    """The words that say when: folded, without "大概", "吧", "i think" and end punctuation."""
    norm = simplified(unicodedata.normalize("NFKC", text)).strip().lower()  # 上週二 = 上周二
    norm = re.sub(r"\s+", " ", norm).rstrip("。.!！?？~～")
    norm = _ROUGHLY.sub("", norm, count=1).strip() or norm
    norm = _TAIL.sub("", norm).strip() or norm
    norm = _HEAD.sub("", norm).strip() or norm
    return _ALIASES.get(norm, norm)


def understand(text: str, today: date, lang: str = "") -> date | None:
    """The date `text` names, reading it as about the past; None when it names none (and for
    a stretch of days: "上周", "last month" are `vague`)."""
    norm = _bare(text)
    if _VAGUE.match(norm):
        return None
    if not norm or len(norm) > 40:
        return None
    if _NUMERIC.match(norm):
        return _numeric(norm, today)  # dateparser guesses wildly at bare numbers ("13/13")
    compact = norm.replace(" ", "")
    if m := _YMD.match(compact):  # "2025 年 3 月 14 号"
        return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    found = _chinese(compact, today)
    if found is not None:
        return found
    # the text's own script first: a Chinese date typed in an English conversation is Chinese
    if re.search(r"[\u4e00-\u9fff]", norm):
        lang = "zh"
    elif re.search(r"[a-z]", norm):
        lang = "en"
        norm = _EN_TIME.sub("", norm) or norm
        if m := _EN_DAY.match(norm):
            return _day_of_month(today, int(m.group(3)))
    return _dateparser(norm, today, lang or "en")


def vague(text: str) -> bool:
    """Whether `text` says roughly when without naming a day ("前几天", "recently")."""
    return bool(_VAGUE.match(_bare(text)))


def _day_of_month(today: date, day: int) -> date | None:
    """That day of this month, or of last month when it is still to come."""
    found = _make(today.year, today.month, day)
    if found is None or found > today:
        year, month = _months_back(today, 1)
        found = _make(year, month, day)
    return found


def warm() -> None:
    """Build dateparser's tables now (~0.4 s, once a process), not in the first turn that
    asks for a date, where they would stall every conversation behind it."""
    today = date(2025, 1, 1)
    _dateparser("3 days ago", today, "en")
    _dateparser("三天前", today, "zh")
