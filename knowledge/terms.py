"""Synonym groups compiled for matching in queries and articles (Chinese and English terms)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Container, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field

from knowledge.text import (
    _CJK_RE,
    _CJK_RUN_RE,
    _FILLER_RE,
    NOT,
    bigrams,
    english_tokens,
    is_cjk,
    normalize,
    runs,
)

Match = tuple[int, int, int]  # (group id, start, length)


@dataclass(slots=True)
class _Phrases:
    """English phrases by their word (one-word ones) or first two words (longer ones)."""

    singles: dict[str, list[int]] = field(default_factory=dict)
    pairs: dict[tuple[str, str], list[tuple[tuple[str, ...], int]]] = field(default_factory=dict)
    starts: set[str] = field(default_factory=set)

    def add(self, phrase: tuple[str, ...], gid: int) -> None:
        """Register a phrase (a tuple of terms) for a group."""
        if len(phrase) == 1:
            self.singles.setdefault(phrase[0], []).append(gid)
        else:
            self.pairs.setdefault((phrase[0], phrase[1]), []).append((phrase, gid))
            self.starts.add(phrase[0])

    def find(self, seq: Sequence[str], gaps: int, shortest: int = 1) -> list[Match]:
        """Each phrase of `shortest` words or more in `seq`, skipping up to `gaps` words."""
        found: set[Match] = set()
        if shortest <= 1:
            ones = self.singles
            found.update((g, i, 1) for i, w in enumerate(seq) if w in ones for g in ones[w])
        for i in [i for i, w in enumerate(seq) if w in self.starts]:
            for skip in range(min(gaps, len(seq) - i - 2) + 1):
                if skip and seq[i + 1] in self.singles:
                    break  # a word with a meaning of its own is not skipped
                for phrase, gid in self.pairs.get((seq[i], seq[i + 1 + skip]), ()):
                    end = _follow(seq, i + 2 + skip, phrase[2:], gaps - skip, self.singles)
                    if end and len(phrase) >= shortest:
                        found.add((gid, i, end - i))
        return sorted(found)


def _follow(
    seq: Sequence[str], j: int, rest: tuple[str, ...], gaps: int, meaningful: Container[str]
) -> int:
    """Where `rest` ends if it starts at `j`, skipping at most `gaps` plain words; else 0."""
    for want in rest:
        if j < len(seq) and seq[j] == want:
            j += 1
        elif gaps and j + 1 < len(seq) and seq[j + 1] == want and seq[j] not in meaningful:
            gaps -= 1
            j += 2
        else:
            return 0
    return j


@dataclass(slots=True)
class Lexicon:
    """Synonym groups compiled for matching; each group stands for one concept token."""

    _zh: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # by first bigram
    _zh2: dict[str, list[int]] = field(default_factory=dict)  # two-character terms
    _zh_long: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # rarest bigram
    _zh_pairs: dict[str, frozenset[str]] = field(default_factory=dict)
    _en: _Phrases = field(default_factory=_Phrases)  # filler words dropped
    _en_full: _Phrases = field(default_factory=_Phrases)  # word for word
    _en_words: set[str] = field(default_factory=set)  # every English term's words, stemmed

    @classmethod
    def compile(cls, groups: Iterable[Sequence[str]]) -> Lexicon:
        """Index every term of every group (the group's position is its id)."""
        lex = cls()
        for gid, group in enumerate(groups):
            for term in group:
                lex._add(normalize(term).strip(), gid)
        spread = Counter(p for pairs in lex._zh_pairs.values() for p in pairs)
        for key, found in lex._zh.items():
            lex._zh[key] = entries = sorted(set(found))
            for term, gid in entries:
                if len(term) == 2:
                    lex._zh2.setdefault(term, []).append(gid)
                else:
                    rarest = min(sorted(lex._zh_pairs[term]), key=spread.__getitem__)
                    lex._zh_long.setdefault(rarest, []).append((term, gid))
        return lex

    def _add(self, term: str, gid: int) -> None:
        compact = re.sub(r"\s+", "", term)
        if _CJK_RE.search(compact):
            # Chinese runs hold no Latin letters or digits: only all-Chinese terms can match.
            if len(compact) >= 2 and _CJK_RUN_RE.fullmatch(compact):
                self._zh.setdefault(compact[:2], []).append((compact, gid))
                self._zh_pairs[compact] = frozenset(bigrams(compact))
            return
        tokens = english_tokens(w for w in runs(term) if not is_cjk(w))
        full = tuple(t for t, _ in tokens)
        self._en_words.update(full)
        kept = tuple(t for t, stop in tokens if not stop)
        if kept and kept != (NOT,) and (len(kept) == len(full) or len(kept) >= 2):
            self._en.add(kept, gid)
        if len(kept) < len(full) and len(full) >= 2:
            # "for you page" says something its content words alone ("page") do not.
            self._en_full.add(full, gid)

    def chinese_terms(self) -> list[str]:
        """Every Chinese term of every group."""
        return [term for entries in self._zh.values() for term, _ in entries]

    def knows(self, term: str) -> bool:
        """Whether a stemmed English word is part of some term (so it is no typo)."""
        return term in self._en_words

    def match_zh(self, run: str) -> list[Match]:
        """Every Chinese term in a run, also across filler words.

        "退了钱" says "退钱" and "不想再看到" says "不想看到": a second pass reads the run with
        particles and adverbs such as 了, 的, 再, 一直 taken out, and maps matches back.
        """
        found = self._scan(run)
        keep = [True] * len(run)
        for m in _FILLER_RE.finditer(run):
            keep[m.start() : m.end()] = [False] * (m.end() - m.start())
        pos = [i for i, k in enumerate(keep) if k]
        if len(pos) < len(run):
            seen = set(found)
            for gid, start, length in self._scan("".join(run[i] for i in pos)):
                match = (gid, pos[start], pos[start + length - 1] + 1 - pos[start])
                if match not in seen:
                    seen.add(match)
                    found.append(match)
        return found

    def _scan(self, run: str) -> list[Match]:
        found: list[Match] = []
        for key in sorted(self._zh.keys() & set(bigrams(run))):
            i = run.find(key)
            while i >= 0:
                found.extend((g, i, len(t)) for t, g in self._zh[key] if run.startswith(t, i))
                i = run.find(key, i + 1)
        return found

    def count_zh(self, text: str, pairs: Set[str]) -> list[int]:
        """The group of every Chinese term occurrence in a text whose bigrams are `pairs`.

        Two-character terms are counted directly. A longer term is only looked for when all
        its bigrams occur, and is filed under its rarest bigram so that few are tried.
        """
        out: list[int] = []
        for key in self._zh2.keys() & pairs:
            out.extend(self._zh2[key] * text.count(key))
        for key in self._zh_long.keys() & pairs:
            for term, gid in self._zh_long[key]:
                if self._zh_pairs[term] <= pairs:
                    out.extend([gid] * text.count(term))
        return out

    def count_en(self, tokens: Sequence[tuple[str, bool]]) -> list[int]:
        """The group of every English word and phrase occurrence (a short field's)."""
        return [
            gid
            for gid, _, _ in (
                *self._en.find([t for t, stop in tokens if not stop], gaps=1),
                *self._en_full.find([t for t, _ in tokens], gaps=0),
            )
        ]

    def count_words(self, tally: Mapping[str, int]) -> list[int]:
        """The group of every one-word English term occurrence, from counted terms."""
        ones = self._en.singles
        return [g for w in ones.keys() & tally.keys() for g in ones[w] * tally[w]]

    def match_en(self, tokens: Sequence[tuple[str, bool]]) -> list[Match]:
        """Every English phrase, with positions in `tokens`.

        Content-word phrases match across fillers and one extra word ("can't leave comments"
        says "can't comment"); phrases that need their fillers match word for word.
        """
        pos = [i for i, (_, stop) in enumerate(tokens) if not stop]
        found = [
            (gid, pos[start], pos[start + length - 1] + 1 - pos[start])
            for gid, start, length in self._en.find([tokens[i][0] for i in pos], gaps=1)
        ]
        found.extend(self._en_full.find([t for t, _ in tokens], gaps=0))
        return found
