"""How people write Chinese to support: Traditional characters and pinyin, read as Simplified.

A user in Taiwan or Hong Kong types 帳號被封, another without a Chinese keyboard types
"zhanghao bei feng" or "wo de ding dan mei fa huo". The help center is written in Simplified
characters. Traditional text is converted with OpenCC's phrase-aware tables; pinyin is read back
into the words of the help center itself (its own vocabulary decides between homophones: in a
shop's help center "fa huo" is 发货, not 发火).
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence

import opencc
from pypinyin.pinyin_dict import pinyin_dict

_MAX_SYLLABLES = 5  # the longest word looked up as one piece of pinyin
_MAX_READINGS = 8  # spellings of one word kept when its characters have several readings
_SINGLE = 0.1  # a syllable read as a lone character counts this much against a word


# Taiwan words that OpenCC turns into mainland words of another meaning in an app: 登出 is
# "log out" but 注销 "delete the account"; 停用 is "deactivated" (a phone number) but 禁用
# "banned". They are kept as they are, in Traditional and Simplified text alike.
_KEPT_RE = re.compile("登出|停用")


@functools.cache
def _t2s() -> opencc.OpenCC:
    # Taiwan's characters and words to the mainland's: 帳號 → 账号, 軟體 → 软件, 影片 → 视频.
    return opencc.OpenCC("tw2sp")


def simplified(text: str) -> str:
    """Traditional Chinese characters and phrases in Simplified form (other text unchanged).

    帐 and 账 are both Simplified; the help center says 账号 and users type either, so 帐 is
    read as 账 everywhere (in articles too: 帐篷 would become 账篷 on both sides alike).
    """
    if text.isascii():
        return text
    t2s = _t2s()
    if _KEPT_RE.search(text) is None:
        return str(t2s.convert(text)).replace("帐", "账")
    pieces = _KEPT_RE.split(text)
    kept = [*_KEPT_RE.findall(text), ""]
    converted = "".join(str(t2s.convert(p)) + k for p, k in zip(pieces, kept, strict=True))
    return converted.replace("帐", "账")


def _plain(reading: str) -> str:
    """A tone-marked pinyin reading without its tone marks (ü typed as v)."""
    decomposed = unicodedata.normalize("NFD", reading)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("u\u0308", "v")


@functools.cache
def _readings() -> dict[str, tuple[str, ...]]:
    """Each character's toneless readings, from pypinyin's table (built once, ~0.1 s)."""
    table: dict[str, tuple[str, ...]] = {}
    for code, readings in pinyin_dict.items():
        plain = tuple(dict.fromkeys(_plain(r) for r in readings.split(",")))
        table[chr(code)] = plain
    return table


@functools.cache
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable (each with a vowel: "m" or "ng" are not typed as words)."""
    return frozenset(
        s for plain in _readings().values() for s in plain if re.search("[aeiouv]", s)
    )


def split_syllables(word: str) -> tuple[str, ...] | None:
    """A word of run-together pinyin cut into the fewest syllables, or None if it is not one."""
    known = syllables()
    n = len(word)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for i in range(n):
        start = best[i]
        if start is None:
            continue
        for j in range(min(n, i + 6), i, -1):
            piece = word[i:j]
            if piece in known:
                cut = (*start, piece)
                done = best[j]
                if done is None or len(cut) < len(done):
                    best[j] = cut
    return best[n]


class PinyinReader:
    """Reads pinyin back into Chinese with the words and characters of one help center."""

    def __init__(self, words: Mapping[str, float]) -> None:
        """`words`: Chinese words and characters with how common they are in the help center."""
        readings = _readings()
        self._words: dict[tuple[str, ...], tuple[float, str]] = {}
        for word, weight in words.items():
            if not 1 <= len(word) <= _MAX_SYLLABLES:
                continue
            # A character alone is read by its first (commonest) reading only: 能 is "neng",
            # not the archaic "tai".
            first = [(r,) for r in readings.get(word, ())[:1]]
            for key in _spellings(word, readings) if len(word) > 1 else first:
                if key not in self._words or self._words[key][0] < weight:
                    self._words[key] = (weight, word)

    def read(self, syllables: Sequence[str]) -> tuple[str, int]:
        """The likeliest Chinese for a run of syllables: long known words first, then the
        commonest character of each leftover syllable (dropped when there is none); and how
        many syllables known words of two syllables or more account for."""
        n = len(syllables)
        # best[i]: (score, text, syllables in words) for the first i; a word of k syllables
        # scores k*k.
        best: list[tuple[float, str, int]] = [(0.0, "", 0)] + [(-1.0, "", 0)] * n
        for i in range(n):
            score, text, in_words = best[i]
            if score < 0:
                continue
            for k in range(1, min(_MAX_SYLLABLES, n - i) + 1):
                found = self._words.get(tuple(syllables[i : i + k]))
                gain = k * k if k > 1 else _SINGLE
                if found is not None:
                    gain += math.log1p(found[0]) / 100  # between equals, the commoner word
                if found is None:
                    if k > 1:
                        continue
                    found, gain = (0.0, ""), 0.0
                if score + gain > best[i + k][0]:
                    best[i + k] = (score + gain, text + found[1], in_words + (k if k > 1 else 0))
        return best[n][1], best[n][2]


def _spellings(word: str, readings: Mapping[str, tuple[str, ...]]) -> Iterable[tuple[str, ...]]:
    """Every way to spell a word in toneless pinyin (a few, for characters with several)."""
    keys: list[tuple[str, ...]] = [()]
    for char in word:
        options = readings.get(char)
        if not options:
            return []
        keys = [(*k, r) for k in keys for r in options][:_MAX_READINGS]
    return keys


_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)*")


def read_pinyin(text: str, reader: PinyinReader, english: Callable[[str], bool]) -> str:
    """`text` with its stretches of pinyin read as Chinese ("zhanghao bei feng" → 账号被封).

    A stretch is words next to each other (space between them) that all cut into pinyin
    syllables; it is read as Chinese when at least half its words are not English words
    (`english`) and at least half its syllables (two or more) read as words of the help center,
    its lexicon or the language's commonest: "ban", "you can", "china" or "banana" stay English.
    """
    out: list[str] = []
    done = 0
    stretch: list[tuple[re.Match[str], tuple[str, ...]]] = []

    def flush() -> None:
        nonlocal done
        count = sum(len(s) for _, s in stretch)
        foreign = sum(not english(m.group()) for m, _ in stretch)
        if count >= 2 and 2 * foreign >= len(stretch):
            chinese, in_words = reader.read([s for _, parts in stretch for s in parts])
            if chinese and in_words >= 2 and 2 * in_words >= count:
                start, end = stretch[0][0].start(), stretch[-1][0].end()
                out.extend((text[done:start], chinese))
                done = end
        stretch.clear()

    for match in _WORD_RE.finditer(text):
        parts = split_syllables(match.group()) if "'" not in match.group() else None
        gap = text[stretch[-1][0].end() : match.start()] if stretch else ""
        if stretch and (parts is None or gap.strip()):
            flush()
        if parts is not None:
            stretch.append((match, parts))
    if stretch:
        flush()
    return "".join(out) + text[done:] if out else text
