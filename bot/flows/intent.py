"""What a typed message asks for: a person, an angry outburst, a repeat of an earlier question.

The phrase lists live in one place, knowledge/lexicon/intents.toml (knowledge.intents matches
them); a deployment adds angry words in [bot] angry_words_zh / angry_words_en."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from rapidfuzz import fuzz

from knowledge import intents

_INVISIBLE = dict.fromkeys(
    [
        0x200B,
        0x200C,
        0x200D,
        0x200E,
        0x200F,
        0x2060,
        0xFEFF,
        0x202A,
        0x202B,
        0x202C,
        0x202D,
        0x202E,
        0x2066,
        0x2067,
        0x2068,
        0x2069,
    ]
)


def clean(text: str) -> str:
    """For matching only: NFKC, without zero-width and bidi control characters, trimmed."""
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE).strip()


# Direction overrides, embeddings and isolates: formatting, not words, and a way to make a
# moderator read text in another order than it was written. Joiners stay (emoji need them).
_DIRECTION = dict.fromkeys(
    [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]
)
_EDGES = " \t\r\n\u00a0\u3000\u200b\u2060\ufeff"


def as_typed(text: str) -> str:
    """What the user wrote, to keep and relay: their characters, punctuation and width as
    typed, without direction controls and the blank or invisible characters at its ends."""
    return text.translate(_DIRECTION).strip(_EDGES)


def is_angry(text: str, extra: Iterable[str] = ()) -> bool:
    """True when the message holds an angry word (built-in or `extra`), or shouts."""
    return intents.builtin().is_angry(text, extra)


def is_repeat(text: str, recent: Iterable[str], threshold: float = 85.0) -> bool:
    """True when `text` is about the same as one of the recent questions."""
    norm = clean(text).lower()
    if len(norm) < 2:
        return False
    return any(fuzz.ratio(norm, clean(r).lower()) >= threshold for r in recent if r)


_CJK = re.compile(r"[\u3400-\u9fff]")


def guess_lang(text: str) -> str:
    """zh-CN when the text holds Chinese characters, en when it holds Latin letters, else ""."""
    if _CJK.search(text):
        return "zh-CN"
    if re.search(r"[A-Za-z]{2,}", text):
        return "en"
    return ""
