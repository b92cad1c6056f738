"""What a typed message asks for: a person, an angry outburst, a repeat of an earlier question."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from rapidfuzz import fuzz

# Principle 1: explicit phrases anywhere in a message start the handoff.
EXPLICIT = (
    "转人工",
    "人工客服",
    "找人工",
    "要人工",
    "接人工",
    "人工服务",
    "真人",
    "活人",
    "客服小姐姐",
    "talk to a human",
    "talk to human",
    "talk to a person",
    "talk to someone",
    "speak to a human",
    "speak to a person",
    "speak to someone",
    "real person",
    "real human",
    "human agent",
    "live agent",
    "live chat",
    "customer service agent",
)
_EXPLICIT_WORDS = re.compile(r"\b(agent|representative|operator)s?\b")
# Bare words count only when they are (nearly) the whole message: "客服态度太差" is a complaint.
BARE = {"客服", "人工", "人工客服", "human", "person", "support", "help desk", "staff"}
_FILLER = re.compile(
    r"(please|pls|plz|i want|i need|i'd like|give me|a |an |the |"
    r"请|我要|我想|找|要|给我|呢|吧|啊|呀|谢谢|你好|麻烦)",
)
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
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


def wants_human(text: str) -> bool:
    """True when the message asks for a person (DESIGN principle 1)."""
    low = clean(text).lower()
    if not low:
        return False
    if any(p in low for p in EXPLICIT) or _EXPLICIT_WORDS.search(low):
        return True
    bare = _NON_WORD.sub(" ", _FILLER.sub(" ", low)).strip()
    bare = re.sub(r"\s+", " ", bare)
    return bare in BARE


def is_angry(text: str, words: Iterable[str]) -> bool:
    """True when the message holds one of the configured angry words, or shouts."""
    low = clean(text).lower()
    if any(w.lower() in low for w in words if w):
        return True
    letters = [c for c in text if c.isalpha() and c.isascii()]
    shouting = len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.8
    return shouting or low.count("!") + low.count("！") >= 3


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
