"""Sections of articles: how much of a query one part of an article explains on its own.

An article answers several situations, one a section ("## Long queues", "## The ranked button
is greyed out"). A query describes one situation: the article whose single section explains
most of it is a better answer than one whose words for it are spread over the whole body
(the first names the situation; the second mentions its words in passing). Sections are read
character by character, like titles: the 码 of "礼包码" meets the 码 of "兑换码", and the 人 of
"排不到人" the 人 of "匹配不到人", which a body indexed by its dictionary words does not show.
A body is read once for both: its counts for the index and its sections' tokens.
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from collections.abc import Iterable, Sequence, Set

from knowledge.terms import Lexicon
from knowledge.text import (
    _CJK_RUN_RE,
    _CONCEPTS,
    _PARTICLES,
    _WORD_RE,
    NOT,
    ZH_STOPWORDS,
    Unit,
    english_tokens,
)

# A section starts at a Markdown heading; a body without headings is one section.
_HEADING_RE = re.compile(r"\n(?=#{1,6}\s)")
# Headings that say what a section is not about.
_NOT_ZH_RE = re.compile("不是|并非|其他|其它")
# A section with fewer words and characters than this under its heading only points elsewhere.
_MIN_SECTION = 12
_CONTENT_RE = re.compile(r"[a-z0-9]+|[\u3400-\u9fff]")


def sections(body: str) -> list[str]:
    """A body cut at its Markdown headings (the text before the first heading is one)."""
    return [part for part in _HEADING_RE.split(body) if part.strip()]


def read_body(
    sections: Iterable[str], lexicon: Lexicon, words: set[str], body: Set[str]
) -> tuple[Counter[str], list[tuple[set[str], set[str]]]]:
    """A long body's tokens, counted, and the tokens each of its sections and their headings
    hold.

    The body gives each dictionary word (`body`) among its bigrams once, which drops the
    bigrams that straddle two words, English terms, and the concepts of Chinese terms and
    one-word English terms (not of English phrases, which add nothing measurable there and cost
    the most). A section is read like a title, by every Chinese character and bigram, for
    `passages`. English words seen are added to `words`. One pass over the text."""
    tally: Counter[str] = Counter()
    kept: set[str] = set()  # the body's dictionary words, each counted once
    groups: list[int] = []
    out: list[tuple[set[str], set[str]]] = []
    for text in sections:
        english = _WORD_RE.findall(text)
        words.update(english)
        terms, found, tokens, pairs = _read(text, lexicon)
        tally.update(terms)
        kept |= pairs & body
        groups.extend(found)
        out.append((tokens, _heading(text, lexicon)))
    tally.update(kept)
    tally.update([_CONCEPTS[g] for g in groups])
    return tally, out


def _read(text: str, lexicon: Lexicon) -> tuple[Counter[str], list[int], set[str], set[str]]:
    """A text's English terms (counted), the lexicon groups it holds, its tokens as a section
    (terms, Chinese characters and bigrams, concepts) and its Chinese bigrams."""
    read = english_tokens(_WORD_RE.findall(text))
    terms = Counter([t for t, stop in read if not stop and t not in _PARTICLES])
    found = lexicon.count_words(terms)
    tokens = set(terms)
    pairs: set[str] = set()
    chinese = _CJK_RUN_RE.findall(text)
    if chinese:
        joined = "|".join(chinese)
        pairs = set(map(operator.add, joined, joined[1:]))
        found.extend(lexicon.count_zh(joined, pairs))
        tokens |= pairs  # pairs with "的" or "|" too: filtering costs more than they do
        tokens.update(joined)
        tokens.difference_update(ZH_STOPWORDS)
        tokens.discard("|")
    tokens.update([_CONCEPTS[g] for g in set(found)])
    return terms, found, tokens, pairs


def _heading(section: str, lexicon: Lexicon) -> set[str]:
    """The tokens of a section's heading, which names the situation the section answers.

    Nothing when the section starts with no heading, when the heading names what the article is
    not about ("Not a ban, just can't start", "这些情况不是禁言", "其他问题"), or when little
    text is left under it once the clauses that send the reader to another article are cut:
    such a heading ("旧号收不到验证码？" over a "see ..." line) names another article's situation.
    """
    line, _, rest = section.lstrip("\n").partition("\n")
    if not line.startswith("#") or len(_CONTENT_RE.findall(rest, 0, 200)) < _MIN_SECTION:
        return set()
    if _NOT_ZH_RE.search(line) or NOT in (t for t, _ in english_tokens(_WORD_RE.findall(line))):
        return set()
    return _read(line, lexicon)[2]


class Passages:
    """Token → section bit mask, for every article: which of its sections hold the token."""

    def __init__(self) -> None:
        self._masks: list[dict[str, int]] = []
        self._heads: list[dict[str, int]] = []

    def add(self, sections: Iterable[tuple[Set[str], Set[str]]]) -> None:
        """Index the next article's sections (of all its language versions), each given by the
        tokens it holds and those of its heading (`read_body`)."""
        masks: dict[str, int] = {}
        heads: dict[str, int] = {}
        bit = 1
        for tokens, heading in sections:
            common = tokens & masks.keys()
            for token in common:
                masks[token] |= bit
            masks.update(dict.fromkeys(tokens - common, bit))  # most tokens: set in C
            for token in heading:
                heads[token] = heads.get(token, 0) | bit
            bit <<= 1
        self._masks.append(masks)
        self._heads.append(heads)

    def heading(self, doc: int, units: Sequence[Unit], weights: Sequence[float]) -> float:
        """The largest share of a query's words that one section's heading explains."""
        return _best_share(self._heads[doc], units, weights)

    def coverage(self, doc: int, units: Sequence[Unit], weights: Sequence[float]) -> float:
        """The largest share of a query's words (each weighed by `weights`, as the query's
        coverage weighs them) that one section of an article explains: through the word, one
        of its concepts, or all its parts. A complaint word counts, and is never explained."""
        return _best_share(self._masks[doc], units, weights)


def _best_share(masks: dict[str, int], units: Sequence[Unit], weights: Sequence[float]) -> float:
    """The largest weighted share of the query's words that one section's bits explain."""
    total = sum(weights)
    if not masks or not total:
        return 0.0
    per_bit: dict[int, float] = {}
    for unit, w in zip(units, weights, strict=False):
        if unit.complaint:
            continue
        found = masks.get(unit.token, 0)
        for concept in unit.concepts:
            found |= masks.get(concept, 0)
        if unit.parts:
            every = -1
            for part in unit.parts:
                every &= masks.get(part, 0)
            found |= every
        while found:
            low = found & -found
            per_bit[low] = per_bit.get(low, 0.0) + w
            found ^= low
    return max(per_bit.values(), default=0.0) / total
