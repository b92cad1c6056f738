"""Normalising and tokenising Chinese and English text for the help-center search."""

from __future__ import annotations

import functools
import logging
import math
import operator
import re
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jieba

from knowledge.writing import simplified

if TYPE_CHECKING:
    from knowledge.terms import Lexicon, Match

# Work on a query is capped: a 10,000-character paste must not block the event loop.
MAX_QUERY_CHARS = 500

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN_RE = re.compile(rf"[{_CJK}]+|[a-z0-9]+(?:'[a-z]+)*")
_CJK_RE = re.compile(rf"[{_CJK}]")
_CJK_RUN_RE = re.compile(rf"[{_CJK}]+")
_LATIN_RE = re.compile(rf"[a-z0-9][^{_CJK}|]*")  # English between Chinese runs or "|"
_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
# Characters that make a bigram noise when they start or end it ("的笔", "号了").
_NOISE = frozenset("的了是我你他她它们在和就都也还又很吗呢吧啊|")
# Particles, pronouns and adverbs that users put inside set phrases ("退了钱", "不想再看到").
_FILLER_RE = re.compile("一直|总是|老是|[了的都也再又着啊呢吧呀还我你他她]")
# Function characters that jieba's HMM glues to a neighbour ("还发", "卡得", "谈个").
_GLUE = frozenset("还也都就又再才老总好被说我你他她它了的得着过吗呢吧啊呀嘛个要能会想")
# Verb complements that jieba's HMM glues to the verb before them ("改不了", "消不掉").
_COMPLEMENT_RE = re.compile(
    "(.+?)(不了|不掉|不到|不上|不出|不动|不来|不去|不起|不住|不着|不过|不进|不完)"
)
# Numbers with a measure word ("一件", "五天", "两次"): context, not a topic.
_COUNT_RE = re.compile(
    "[0-9一二两三四五六七八九十几半百千万多好]+[个件条句篇次天周月年号点分秒遍块元群些种张位岁倍]"
)
# A complaint word after these says "did not help" ("换了网络也没用"), not "you are useless".
_SOFTENERS = frozenset({"也", "都", "还是", "还", "依然", "仍然", "照样", "一样"})


def _load_stopwords() -> dict[str, frozenset[str]]:
    """The word lists of knowledge/lexicon/stopwords.toml (package data, read at import)."""
    data = tomllib.loads((Path(__file__).parent / "lexicon" / "stopwords.toml").read_text("utf-8"))
    return {name: frozenset(str(words).split()) for name, words in data.items()}


_STOP = _load_stopwords()
_SHORT_FORMS = dict(pair.split("=", 1) for pair in _STOP["short_forms"])
EN_FILLERS = _STOP["english"]
EN_STOPWORDS = EN_FILLERS | _STOP["pinyin"]
ZH_STOPWORDS = _STOP["chinese"]
_NEGATIONS = _STOP["negations"]
_NEG_STEMS = _STOP["negation_stems"]
_PARTICLES = _STOP["particles"]
COMPLAINTS = _STOP["complaints"]
NOT = "!not"  # not a word a stemmer can produce ("note" stems to "not")


def normalize(text: str) -> str:
    """NFKC-fold, lower-case, unify apostrophes and write Chinese in Simplified characters.

    Full-width letters and digits become ASCII ("ＡＰＰ" is "app"); Traditional characters and
    phrases become Simplified ("帳號被封" is "帐号被封").
    """
    folded = simplified(unicodedata.normalize("NFKC", text)).lower()
    return folded.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")


_REPEAT_LATIN_RE = re.compile(r"([a-z])\1{2,}")
_REPEAT_CJK_RE = re.compile(rf"([{_CJK}])\1{{2,}}")
_REPEAT_MARK_RE = re.compile(r"([^\w\s])\1+")


def normalize_query(text: str) -> str:
    """`normalize`, and typed emphasis undone: "sooooo" → "soo", "啊啊啊" → "啊", "???" → "?".

    Letters repeated three times or more keep two (the typo fixer can take one more away),
    Chinese characters keep one, and repeated punctuation or emoji one; digits are kept.
    """
    text = _REPEAT_LATIN_RE.sub(r"\1\1", normalize(text))
    return _REPEAT_MARK_RE.sub(r"\1", _REPEAT_CJK_RE.sub(r"\1", text))


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
                word = word[:-1]  # stopped → stop, but billed → bill
            break
    else:
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    if word.endswith("ication") and len(word) > 9:  # verification/verify, notification/notify
        return word[:-6]
    if len(word) > 3 and word[-1] in "ey":  # close/closing, verify/verified agree
        word = word[:-1] + ("i" if word[-1] == "y" else "")
    return word


# Bounded small: users' messages bring new words forever (names, ids, typos), and a cache of
# 65,536 of them grew kefu run's memory by ~0.3 MB a minute for 45 minutes of a soak.
@functools.lru_cache(maxsize=4096)
def english_token(raw: str) -> tuple[str, bool]:
    """One word stemmed (a negation becomes NOT), and whether it is a filler word."""
    word = raw.replace("'", "")
    word = _SHORT_FORMS.get(word, word)
    if word in _NEGATIONS or (word.endswith("nt") and word[:-2] in _NEG_STEMS):
        return NOT, False
    return stem(word), word in EN_STOPWORDS


def english_tokens(words: Iterable[str]) -> list[tuple[str, bool]]:
    """Each word stemmed, with whether it is a filler word."""
    return list(map(english_token, words))


_REFERENCE_RE = re.compile(r"[0-9]{5,}|(?=[a-z]*[0-9])(?=[0-9]*[a-z])[a-z0-9]{8,}")


def is_reference(word: str) -> bool:
    """Whether a word is an order number, a user id or a transaction code ("20261107123456",
    "uid88812345", "tx9f3k2m1q"): no article names one, so it says nothing about the topic.
    Shorter numbers stay words: error codes ("1003"), amounts ("648"), sizes ("99%")."""
    return bool(_REFERENCE_RE.fullmatch(word))


def runs(text: str) -> list[str]:
    """Chinese runs and English/number words of a normalised text, in order."""
    return _RUN_RE.findall(text)


def is_cjk(run: str) -> bool:
    """Whether a run from `runs` is Chinese."""
    return bool(_CJK_RE.match(run))


def bigrams(run: str) -> list[str]:
    """Overlapping character bigrams of a Chinese run (a single character stays alone)."""
    if len(run) < 2:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


@dataclass(slots=True)
class Segmenter:
    """jieba word segmentation, loaded on first use (its dictionary takes about a second)."""

    _jieba: Any = None
    _pairs: frozenset[str] | None = None

    def _load(self) -> Any:
        if self._jieba is None:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            self._jieba = jieba
        return self._jieba

    def cut(self, run: str) -> list[str]:
        """Words of a Chinese run.

        jieba's HMM glues characters it does not know into new words, often a function word
        with a neighbour ("还发", "卡得", "我要"): a made-up word of two to four characters is
        split after a leading and before a trailing function character. A verb and its
        complement ("改不了", "消不掉") are split too, so that the verb is a word of its own.
        """
        jb = self._load()
        freq: dict[str, int] = jb.dt.FREQ
        out: list[str] = []
        for word in jb.lcut(run, HMM=True):
            m = _COMPLEMENT_RE.fullmatch(word) if 3 <= len(word) <= 4 else None
            if m and m.group(1) not in ZH_STOPWORDS:
                out.extend(m.groups())
            elif 2 <= len(word) <= 4 and not freq.get(word):
                out.extend(_unglue(word))
            else:
                out.append(word)
        return out

    def known(self, word: str) -> bool:
        """Whether a word is in jieba's dictionary (not one its HMM made up)."""
        return bool(self._load().dt.FREQ.get(word))

    def parts(self, word: str) -> tuple[str, ...]:
        """The bigrams of a long word that articles are indexed under: the dictionary words it
        is made of ("环境异常" → 环境, 异常; "境异" is in no body), or every bigram if none is one.

        Where two dictionary words overlap, the commoner one is the part: "新手机" is a new
        手机 (phone), not a 新手 (newbie) with a 机.
        """
        freq: dict[str, int] = self._load().dt.FREQ
        words = self.two_char_words()
        # best[i]: (total log frequency, parts) over the first i characters.
        best: list[tuple[float, tuple[str, ...]]] = [(0.0, ())] * (len(word) + 1)
        for i in range(1, len(word) + 1):
            best[i] = best[i - 1]
            pair = word[i - 2 : i] if i >= 2 else ""
            if pair in words and pair not in ZH_STOPWORDS:
                score, found = best[i - 2]
                gain = score + math.log1p(freq.get(pair, 0))
                if gain > best[i][0]:
                    best[i] = (gain, (*found, pair))
        return best[-1][1] or tuple(bigrams(word))

    def two_char_words(self) -> frozenset[str]:
        """The two-character words of jieba's dictionary (collected once)."""
        if self._pairs is None:
            freq: dict[str, int] = self._load().dt.FREQ
            self._pairs = frozenset(w for w, f in freq.items() if f and len(w) == 2)
        return self._pairs


def _unglue(word: str) -> list[str]:
    """A made-up word with a function character split off either end."""
    head = [word[0]] if word[0] in _GLUE else []
    rest = word[len(head) :]
    if len(rest) >= 2 and rest[-1] in _GLUE:
        return [*head, rest[:-1], rest[-1]]
    return [*head, rest]


class _ConceptNames(dict[int, str]):
    """Group id → concept token, each string made once."""

    def __missing__(self, gid: int) -> str:
        name = self[gid] = f"~{gid}"
        return name


_CONCEPTS = _ConceptNames()


def doc_tokens(text: str, lexicon: Lexicon, words: set[str] | None = None) -> Counter[str]:
    """The tokens a short article field (title, keywords, category) is indexed under, counted
    (no jieba: fast): every plain Chinese bigram and character, English terms, and the concepts
    of the lexicon's terms and phrases. English words seen are added to `words`, the vocabulary
    typos are corrected to. A long body is read by `read_body`.
    """
    tokens: list[str] = []
    groups: list[int] = []
    for stretch in _LATIN_RE.findall(text):
        english = _WORD_RE.findall(stretch)
        if words is not None:
            words.update(english)
        terms = english_tokens(english)
        groups.extend(lexicon.count_en(terms))
        tokens.extend([t for t, stop in terms if not stop and t not in _PARTICLES])
    chinese = _CJK_RUN_RE.findall(text)
    if chinese:
        joined = "|".join(chinese)  # no term or word holds "|": none spans two runs
        pairs = set(map(operator.add, joined, joined[1:]))  # every adjacent pair, made in C
        groups.extend(lexicon.count_zh(joined, pairs))
        tokens.extend([p for p in map(operator.add, joined, joined[1:]) if _plain(p)])
        tokens.extend([c for c in joined if c not in ZH_STOPWORDS and c != "|"])
    tally = Counter(tokens)
    tally.update([_CONCEPTS[g] for g in groups])
    return tally


def _plain(pair: str) -> bool:
    return pair[0] not in _NOISE and pair[1] not in _NOISE


@dataclass(frozen=True, slots=True)
class Unit:
    """A content word of a query, for judging how much of the query an article explains.

    An article explains it when it holds `token`, every one of `parts` (the bigrams of a long
    Chinese word, as article bodies hold no jieba words), or one of `concepts`.
    """

    token: str
    parts: tuple[str, ...] = ()
    concepts: tuple[str, ...] = ()
    complaint: bool = False  # a complaint word, which no article explains


@dataclass(slots=True)
class Analysis:
    """The tokens of a query: English terms, Chinese characters, bigrams and words, concepts.

    `covered` holds the plain tokens inside a lexicon match: a query counts them less, as the
    concept already says what they mean. `inner` holds the concepts only found inside a longer
    match of another concept, which count less too.
    """

    terms: list[str] = field(default_factory=list)
    unigrams: list[str] = field(default_factory=list)
    bigrams: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    concepts: list[str] = field(default_factory=list)
    covered: set[str] = field(default_factory=set)
    units: list[Unit] = field(default_factory=list)
    inner: set[str] = field(default_factory=set)


def analyze(
    text: str, lexicon: Lexicon, segmenter: Segmenter, fix: Callable[[str], str] | None = None
) -> Analysis:
    """Tokenise a normalised query; `fix` corrects misspelt English words (its answer may be
    two words)."""
    out = Analysis()
    english: list[str] = []
    for run in [*runs(text), ""]:
        if run and not is_cjk(run):
            english.extend(fix(run).split() if fix else [run])
            continue
        if english:
            _english(english, lexicon, out)
            english = []
        if run:
            _chinese(run, lexicon, segmenter, out)
    return out


Span = tuple[int, int, str]  # (start, end, concept token)


_EDGE_FREE = 3


def _spans(found: list[Match], out: Analysis) -> list[Span]:
    """Concept spans of the matches; concepts only found inside a longer match go to `inner`.

    "shadow banned" is about reach more than a ban, "物流不更新" about tracking more than an
    app update, "卖家不理" about a seller who does not answer: the shorter term inside a
    longer term of another group is part of it, and its own concept counts less.
    """
    spans = [(start, start + length, _CONCEPTS[gid]) for gid, start, length in found]
    out.concepts.extend(c for _, _, c in spans)
    if len(spans) > 1:
        alone = {
            c
            for a, b, c in spans
            if not any(b2 - a2 > b - a and c2 != c and a2 <= a and b <= b2 for a2, b2, c2 in spans)
        }
        out.inner.update(c for _, _, c in spans if c not in alone)
    return spans


def _over(spans: list[Span], start: int, end: int) -> tuple[str, ...]:
    return tuple(sorted({c for a, b, c in spans if a < end and start < b}))


def _inside(spans: list[Span], start: int, end: int) -> bool:
    return bool(spans) and any(a <= start and end <= b for a, b, _ in spans)


def _english(words: list[str], lexicon: Lexicon, out: Analysis) -> None:
    tokens = english_tokens(words)
    spans = _spans(lexicon.match_en(tokens), out)
    for i, (term, stop) in enumerate(tokens):
        if not stop and term not in _PARTICLES and not is_reference(term):
            out.terms.append(term)
            out.units.append(Unit(term, (), _over(spans, i, i + 1), words[i] in COMPLAINTS))
            if _inside(spans, i, i + 1):
                out.covered.add(term)


def _edges(words: list[str], segmenter: Segmenter) -> set[int]:
    """Where words start and end; inside a word jieba made up ("博主接"), everywhere."""
    edges = {0}
    pos = 0
    for word in words:
        if len(word) > 2 and not segmenter.known(word):
            edges.update(range(pos + 1, pos + len(word)))
        pos += len(word)
        edges.add(pos)
    return edges


def _chinese(run: str, lexicon: Lexicon, segmenter: Segmenter, out: Analysis) -> None:
    words = segmenter.cut(run)
    edges = _edges(words, segmenter)
    # A term that cuts through a word is a coincidence: "推广" in 老推广告 (老/推/广告).
    found = [
        m for m in lexicon.match_zh(run) if m[2] >= _EDGE_FREE or {m[1], m[1] + m[2]} <= edges
    ]
    spans = _spans(found, out)
    reach = [0] * (len(run) + 1)  # reach[i]: the furthest end of a match over character i
    for a, b, _ in spans:
        for i in range(a, b):
            reach[i] = max(reach[i], b)
    for i, char in enumerate(run):
        if char not in ZH_STOPWORDS:
            out.unigrams.append(char)
            if reach[i] > i:
                out.covered.add(char)
    for i, pair in enumerate(bigrams(run)):
        if len(pair) == 2 and _plain(pair):
            out.bigrams.append(pair)
            if reach[i] >= i + 2:
                out.covered.add(pair)
    _words_of(words, spans, reach, out, segmenter)


def _words_of(
    words: list[str], spans: list[Span], reach: list[int], out: Analysis, segmenter: Segmenter
) -> None:
    pos = 0
    before = ""
    for word in words:
        out.words.append(word)
        end = pos + len(word)
        if reach[pos] >= end:
            out.covered.add(word)
        if word not in ZH_STOPWORDS and not (_COUNT_RE.fullmatch(word) and reach[pos] < end):
            parts = segmenter.parts(word) if len(word) > 2 else ()
            complaint = word in COMPLAINTS and before not in _SOFTENERS
            out.units.append(Unit(word, parts, _over(spans, pos, end), complaint))
        pos, before = end, word
