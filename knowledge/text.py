"""Normalising and tokenising Chinese and English text for the help-center search."""

from __future__ import annotations

import functools
import logging
import operator
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

import jieba

# Work on a query is capped: a 10,000-character paste must not block the event loop.
MAX_QUERY_CHARS = 500

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN_RE = re.compile(rf"[{_CJK}]+|[a-z0-9]+(?:'[a-z]+)*")
_SEGMENT_RE = re.compile(rf"([{_CJK}]+)|([^{_CJK}]+)")
_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
_CJK_RE = re.compile(rf"[{_CJK}]")
_CJK_RUN_RE = re.compile(rf"[{_CJK}]+")
_NOISE = frozenset("的了是我你他她它们在和就都也还又很吗呢吧啊")
# Particles, pronouns and adverbs that users put inside set phrases ("退了钱", "不想再看到").
_FILLER_RE = re.compile("一直|总是|老是|[了的都也再又着啊呢吧呀还我你他她]")



def _words(text: str) -> frozenset[str]:
    """A set of words written one after another (keeps long word lists readable)."""
    return frozenset(text.split())


# Contractions and negations all become "not", so "can't", "cannot" and "unable to" agree.
_NEGATIONS = _words(
    "not no never cant cannot couldnt wont wouldnt dont doesnt didnt isnt arent wasnt werent havent hasnt hadnt shouldnt aint unable nt"
)
_NEG_STEMS = _words("can could wo would do does did is are was were have has had should")
NOT = "!not"  # not a word a stemmer can produce ("note" stems to "not")
# Words that carry no topic; greetings are here so that "hello" matches nothing.
EN_STOPWORDS = _words(
    """
a an the i me my mine myself we us our you your yours he him his she her it its they them
their this that these those is am are was were be been being do does did doing have has
had having to of for from by with about as at into onto than then so too very just also
and or but if because while what which who whom whose when where why how can could would
should will shall may might must there here im ive youre thats whats theres hi hello hey
hiya yo thanks thank thx ty please pls plz ok okay lol lmao omg bro guys sir madam dear
anyone someone somebody help any some all every again still already even really actually
literally seriously basically now today yesterday ago like other one ones via per etc ya
yeah yes get got gets getting keep keeps kept want wants wanted need needs needed know
tell told say says said try tried trying thing things stuff lot lots take takes took good
morning evening afternoon night bye goodbye cya gonna wanna
"""
)
# Phrase-level particles: kept while matching lexicon phrases ("log in"), not scored alone.
_PARTICLES = frozenset(["in", "on", "off", "up", "down", "out", "back", "over"])
ZH_STOPWORDS = _words(
    """
的 了 吗 呢 啊 吧 呀 嘛 哦 哈 么 我 你 他 她 它 我们 你们 他们 是 在 有 和 就 都 也 还 又 很 太 这 那 这个 那个 这样 那样 怎么 怎么办 怎样
如何 为什么 为啥 什么 啥 一下 一直 现在 今天 已经 可以 能 能不能 可不可以 请问 请 谢谢 你好 您好 在吗 哈喽 一个 自己 然后 但是 就是 还是 没有 不是
到底 真的 咋 咋办 咋回事 求助 求 帮忙 帮 一下子 呗 啦 了吗 上去 下来 出来 起来 进去 回来 过来 几天 好几 总是 老是 突然 怎么回事 明明 根本 之前 以前
之后 以后 时候 问题 情况 办法 知道 觉得 感觉 应该 需要 想要 可能 要 想 会 让 把 被 给 对 从 说 去 来 到 着 过 一 个 上 下 不 没 里 中 后 前
多 少 大 小 好 点 些 其 之 与 及 或 等 于 为 以 而 但 所 如 若 则 即 哪里 哪儿 哪个 哪 多少 几 谁 怎么样 怎么弄 怎么整 咋整 弄 搞 东西 有没有
越来越 早上好 晚上好 晚安 好的 知道了 哈哈 哈哈哈 嗯 嗯嗯 拜拜 再见 好吧 谢了 多谢 感谢 收到了
"""
)


def normalize(text: str) -> str:
    """NFKC-fold, lower-case and unify apostrophes (full-width letters become ASCII)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return folded.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")


def stem(word: str) -> str:
    """A light English stemmer: plurals, -ed, -ing, -ly and a final -e or -y."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in (("ies", "i"), ("ied", "i"), ("sses", "ss")):
        if word.endswith(suffix):
            return word[: -len(suffix)] + repl
    for suffix, keep in (("ingly", 3), ("ing", 3), ("edly", 3), ("ed", 3), ("ly", 4)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    else:
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    if len(word) > 3 and word[-1] in "ey":
        word = word[:-1] + ("i" if word[-1] == "y" else "")
    return word


def english_tokens(words: Iterable[str]) -> list[tuple[str, bool]]:
    """Each word stemmed (negations folded to NOT), with whether it is a filler word."""
    return list(map(english_token, words))


@functools.lru_cache(maxsize=1 << 16)
def english_token(raw: str) -> tuple[str, bool]:
    """One word stemmed (a negation becomes NOT), and whether it is a filler word."""
    word = raw.replace("'", "")
    if word in _NEGATIONS or (word.endswith("nt") and word[:-2] in _NEG_STEMS):
        return NOT, False
    return stem(word), word in EN_STOPWORDS


def english_terms(words: Iterable[str]) -> list[str]:
    """Stemmed English terms, negations folded to NOT, filler words dropped."""
    return [t for t, stop in english_tokens(words) if not stop]


def is_cjk(token: str) -> bool:
    """Whether a run from `runs` is Chinese."""
    return bool(_CJK_RE.match(token))


def runs(text: str) -> list[str]:
    """Chinese runs and English/number words of a normalised text, in order."""
    return _RUN_RE.findall(text)


def bigrams(run: str) -> list[str]:
    """Overlapping character bigrams of a Chinese run (a single character stays alone)."""
    if len(run) < 2:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


@dataclass(slots=True)
class Segmenter:
    """jieba word segmentation, loaded on first use (its dictionary takes about a second)."""

    _jieba: Any = None

    def _load(self) -> Any:
        if self._jieba is None:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            self._jieba = jieba
        return self._jieba

    def cut(self, run: str) -> list[str]:
        """Words of a Chinese run."""
        words: list[str] = self._load().lcut(run, HMM=True)
        return words

    def two_char_words(self) -> frozenset[str]:
        """The two-character words of jieba's dictionary."""
        freq: dict[str, int] = self._load().dt.FREQ
        return frozenset(w for w, f in freq.items() if f and len(w) == 2)


@dataclass(slots=True)
class Lexicon:
    """Synonym groups compiled for matching; each group yields one concept token."""

    _zh: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    _en: _Phrases = field(default_factory=lambda: _Phrases())
    _en_full: _Phrases = field(default_factory=lambda: _Phrases())
    size: int = 0

    @classmethod
    def compile(cls, groups: Iterable[Sequence[str]]) -> Lexicon:
        """Index each term by its first bigram (Chinese) or first term (English)."""
        lex = cls()
        for gid, group in enumerate(groups):
            lex.size = gid + 1
            for term in group:
                lex._add(normalize(term).strip(), gid)
        for key, entries in lex._zh.items():
            lex._zh[key] = sorted(set(entries))
        return lex

    def _add(self, term: str, gid: int) -> None:
        compact = re.sub(r"\s+", "", term)
        if _CJK_RE.search(compact):
            # Chinese runs hold no Latin letters or digits: only all-Chinese terms can match.
            if len(compact) >= 2 and _CJK_RUN_RE.fullmatch(compact):
                self._zh.setdefault(compact[:2], []).append((compact, gid))
            return
        tokens = english_tokens(w for w in runs(term) if not is_cjk(w))
        full = tuple(t for t, _ in tokens)
        kept = tuple(t for t, stop in tokens if not stop)
        if len(kept) == len(full) or len(kept) >= 2:
            if kept and kept != (NOT,):
                self._en.add(kept, gid)
        if len(kept) < len(full) and len(full) >= 2:
            # "for you page" says something its content words alone ("page") do not.
            self._en_full.add(full, gid)

    def match_zh(self, run: str, loose: bool = True) -> list[tuple[int, int, int]]:
        """(group id, start, length) of every Chinese term in a run, also across filler words.

        "退了钱" says "退钱" and "不想再看到" says "不想看到": a second pass reads the run with
        particles and adverbs such as 了, 的, 再, 一直 taken out, and maps matches back.
        """
        found = self._scan(run)
        if not loose:
            return found
        stripped, pos = _without_fillers(run)
        if len(stripped) < len(run):
            seen = set(found)
            for gid, start, length in self._scan(stripped):
                begin = pos[start]
                match = (gid, begin, pos[start + length - 1] + 1 - begin)
                if match not in seen:
                    seen.add(match)
                    found.append(match)
        return found

    def _scan(self, run: str, pairs: Iterable[str] | None = None) -> list[tuple[int, int, int]]:
        """Matches in a run whose bigrams (`pairs`, if already cut) are given."""
        found: list[tuple[int, int, int]] = []
        table = self._zh
        for key in sorted(table.keys() & set(bigrams(run) if pairs is None else pairs)):
            entries = table[key]
            i = run.find(key)
            while i >= 0:
                for term, gid in entries:
                    if run.startswith(term, i):
                        found.append((gid, i, len(term)))
                i = run.find(key, i + 1)
        return found

    def count_zh(self, text: str, pairs: Set[str]) -> list[int]:
        """The group id of every Chinese term occurrence in a text whose bigrams are `pairs`."""
        table = self._zh
        return [
            gid
            for key in sorted(table.keys() & pairs)
            for term, gid in table[key]
            for _ in range(text.count(term))
        ]

    def count_en(self, tokens: Sequence[tuple[str, bool]]) -> list[int]:
        """The group id of every English phrase occurrence (no positions: faster)."""
        gids = self._en.count([t for t, stop in tokens if not stop], gaps=1)
        gids.extend(self._en_full.count([t for t, _ in tokens], gaps=0))
        return gids

    def match_en(self, tokens: Sequence[tuple[str, bool]]) -> list[tuple[int, int, int]]:
        """(group id, start, length) of every English phrase, in positions of `tokens`.

        Content-word phrases match across fillers and one extra word ("can't leave comments"
        says "can't comment"); phrases that need their fillers match word for word.
        """
        pos = [i for i, (_, stop) in enumerate(tokens) if not stop]
        kept = [tokens[i][0] for i in pos]
        found = []
        for gid, start, length in self._en.find(kept, gaps=1):
            found.append((gid, pos[start], pos[start + length - 1] + 1 - pos[start]))
        found.extend(self._en_full.find([t for t, _ in tokens], gaps=0))
        return found


@dataclass(slots=True)
class _Phrases:
    """English phrases by their first word (one-word ones) or first two words (longer ones)."""

    singles: dict[str, set[int]] = field(default_factory=dict)
    pairs: dict[tuple[str, str], set[tuple[tuple[str, ...], int]]] = field(default_factory=dict)
    starts: set[str] = field(default_factory=set)

    def add(self, phrase: tuple[str, ...], gid: int) -> None:
        """Register a phrase (a tuple of terms) for a group."""
        if len(phrase) == 1:
            self.singles.setdefault(phrase[0], set()).add(gid)
        else:
            self.pairs.setdefault((phrase[0], phrase[1]), set()).add((phrase, gid))
            self.starts.add(phrase[0])

    def find(
        self, seq: Sequence[str], gaps: int, singles: bool = True, shortest: int = 2
    ) -> list[tuple[int, int, int]]:
        """(group id, start, length) of each phrase in `seq`, skipping up to `gaps` words.

        Phrases of two words or more count only from `shortest` words on.
        """
        found: set[tuple[int, int, int]] = set()
        n = len(seq)
        if singles:
            ones = self.singles
            found.update((g, i, 1) for i, w in enumerate(seq) if w in ones for g in ones[w])
        starts, pairs = self.starts, self.pairs
        for i in [i for i, w in enumerate(seq) if w in starts]:
            first = seq[i]
            for skip in range(gaps + 1):
                j = i + 1 + skip
                if j >= n:
                    break
                for phrase, gid in pairs.get((first, seq[j]), ()):
                    if len(phrase) < shortest:
                        continue
                    end = _follow(seq, j + 1, phrase[2:], gaps - skip)
                    if end:
                        found.add((gid, i, end - i))
        return sorted(found)

    def count(self, seq: Sequence[str], gaps: int) -> list[int]:
        """The group id of every phrase occurrence in `seq` (no positions, mostly in C)."""
        tally = Counter(seq)
        gids = [g for w in sorted(self.singles.keys() & tally.keys()) for g in self.singles[w]
                for _ in range(tally[w])]
        if self.starts.isdisjoint(tally):
            return gids
        near = Counter(zip(seq, seq[1:]))
        for skip in range(1, gaps + 1):
            near.update(zip(seq, seq[1 + skip :]))
        hits = self.pairs.keys() & near.keys()
        long_hit = False
        for key in sorted(hits):
            for phrase, gid in sorted(self.pairs[key]):
                if len(phrase) == 2:
                    gids.extend([gid] * near[key])
                else:
                    long_hit = True
        if long_hit:
            gids.extend(g for g, _, _ in self.find(seq, gaps, singles=False, shortest=3))
        return gids


def _follow(seq: Sequence[str], j: int, rest: tuple[str, ...], gaps: int) -> int:
    """Where `rest` ends if it starts at `j`, skipping at most `gaps` words; else 0."""
    for want in rest:
        if j < len(seq) and seq[j] == want:
            j += 1
        elif gaps and j + 1 < len(seq) and seq[j + 1] == want:
            gaps -= 1
            j += 2
        else:
            return 0
    return j


def _without_fillers(run: str) -> tuple[str, list[int]]:
    """The run with filler words taken out, and where each kept character was."""
    keep = [True] * len(run)
    for m in _FILLER_RE.finditer(run):
        keep[m.start() : m.end()] = [False] * (m.end() - m.start())
    pos = [i for i, k in enumerate(keep) if k]
    return "".join(run[i] for i in pos), pos


_CONCEPTS = [f"~{gid}" for gid in range(4096)]


def concept(gid: int) -> str:
    """The token that stands for a lexicon group."""
    return _CONCEPTS[gid] if gid < len(_CONCEPTS) else f"~{gid}"


def is_particle(term: str) -> bool:
    """Whether an English term only matters inside a phrase ("log in")."""
    return term in _PARTICLES


@dataclass(frozen=True, slots=True)
class Unit:
    """A content word of a text, for judging how much of a query an article explains.

    An article explains it when it holds `token`, every one of `parts` (the bigrams of a long
    Chinese word; article bodies are indexed by bigrams only), or one of `concepts`.
    """

    token: str
    parts: tuple[str, ...] = ()
    concepts: tuple[str, ...] = ()


@dataclass(slots=True)
class Analysis:
    """The tokens of one text: English terms, Chinese characters, bigrams and words, concepts.

    `covered` holds the plain tokens inside a lexicon match: a query counts them less, as the
    concept already says what they mean.
    """

    terms: list[str] = field(default_factory=list)
    unigrams: list[str] = field(default_factory=list)
    bigrams: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    concepts: list[str] = field(default_factory=list)
    covered: set[str] = field(default_factory=set)
    units: list[Unit] = field(default_factory=list)


Span = tuple[int, int, str]


def _spans(found: list[tuple[int, int, int]], out: Analysis) -> list[Span]:
    """Record the concepts of a run's matches; return (start, end, concept) for each."""
    spans = [(start, start + length, concept(gid)) for gid, start, length in found]
    out.concepts.extend(c for _, _, c in spans)
    return spans


def _over(spans: list[Span], start: int, end: int) -> tuple[str, ...]:
    """The concepts whose match overlaps [start, end)."""
    return tuple(sorted({c for a, b, c in spans if a < end and start < b}))


def _inside(spans: list[Span], start: int, end: int) -> bool:
    return any(a <= start and end <= b for a, b, _ in spans)


def _english(words: list[str], lexicon: Lexicon, out: Analysis) -> None:
    tokens = english_tokens(words)
    spans = _spans(lexicon.match_en(tokens), out)
    for i, (term, stop) in enumerate(tokens):
        if not stop and not is_particle(term):
            out.terms.append(term)
            out.units.append(Unit(term, (), _over(spans, i, i + 1)))
            if _inside(spans, i, i + 1):
                out.covered.add(term)


def _chinese(run: str, lexicon: Lexicon, segmenter: Segmenter | None, out: Analysis) -> None:
    spans = _spans(lexicon.match_zh(run), out)
    for i, char in enumerate(run):
        if char not in ZH_STOPWORDS:
            out.unigrams.append(char)
            if _inside(spans, i, i + 1):
                out.covered.add(char)
    for i, pair in enumerate(bigrams(run)):
        if pair[0] in _NOISE or pair[-1] in _NOISE:
            continue
        out.bigrams.append(pair)
        if _inside(spans, i, i + 2):
            out.covered.add(pair)
    if segmenter is None:
        return
    pos = 0
    for word in segmenter.cut(run):
        out.words.append(word)
        end = pos + len(word)
        if _inside(spans, pos, end):
            out.covered.add(word)
        if word not in ZH_STOPWORDS:
            parts = tuple(bigrams(word)) if len(word) > 2 else ()
            out.units.append(Unit(word, parts, _over(spans, pos, end)))
        pos = end


def doc_tokens(
    text: str, lexicon: Lexicon, words: set[str] | None = None, body: Set[str] | None = None
) -> list[str]:
    """The tokens an article field is indexed under (a fast path of `analyze`, no jieba).

    English words seen are added to `words`, the vocabulary typos are corrected to. A short
    field gives every Chinese bigram and character; a long body (`body` given: the words to
    keep) gives each dictionary word among its bigrams once, which is cheap and drops the
    bigrams that straddle two words.
    """
    tokens: list[str] = []
    chinese_runs: list[str] = []
    for chinese, other in _SEGMENT_RE.findall(text):
        if chinese:
            chinese_runs.append(chinese)
            if body is None:
                tokens.extend([b for b in bigrams(chinese) if b[0] not in _NOISE])
                tokens.extend([c for c in chinese if c not in ZH_STOPWORDS])
            continue
        english = _WORD_RE.findall(other)
        if english:
            if words is not None:
                words.update(english)
            terms = english_tokens(english)
            tokens.extend([concept(g) for g in lexicon.count_en(terms)])
            tokens.extend([t for t, stop in terms if not stop and t not in _PARTICLES])
    if chinese_runs:
        joined = "|".join(chinese_runs)  # no term or word holds "|": none spans two runs
        pairs = set(map(operator.add, joined, joined[1:]))  # every adjacent pair, built in C
        tokens.extend([concept(g) for g in lexicon.count_zh(joined, pairs)])
        if body is not None:
            tokens.extend(sorted(pairs & body))
    return tokens


def analyze(
    text: str,
    lexicon: Lexicon,
    segmenter: Segmenter | None = None,
    fix: Callable[[str], str] | None = None,
) -> Analysis:
    """Tokenise a normalised text; `segmenter` adds jieba words, `fix` corrects English words."""
    out = Analysis()
    english: list[str] = []
    for run in [*runs(text), ""]:
        if run and not is_cjk(run):
            english.append(fix(run) if fix else run)
            continue
        if english:
            _english(english, lexicon, out)
            english = []
        if run:
            _chinese(run, lexicon, segmenter, out)
    return out
