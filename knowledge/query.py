"""Reading a user's query: pinyin and typos, tokens, and how much each token weighs."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping, Sequence

import jieba
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from knowledge.bm25 import Tuning
from knowledge.terms import Lexicon
from knowledge.text import (
    EN_FILLERS,
    MAX_QUERY_CHARS,
    ZH_STOPWORDS,
    Analysis,
    Segmenter,
    analyze,
    english_token,
    is_cjk,
    normalize_query,
)
from knowledge.writing import PinyinReader, read_pinyin

_MAX_FIXES = 8  # typo look-ups per query, so that gibberish stays cheap
_COMPOUND_PART = 3  # the shortest part of a compound word ("speed" + "hack")


# How telling a Chinese word is in the language at large, from jieba's corpus frequencies
# (ln of the corpus size over the word's count): a word as common as 已经, 可以 or 一起 says
# little about a topic however rare it is in one help center, and weighs _COMMON_WEIGHT; one as
# rare as 按钮 or 充值 weighs fully; between the two, in proportion.
_COMMON_LOG = 7.0
_TOPICAL_LOG = 11.0
_COMMON_WEIGHT = 0.5


@functools.lru_cache(maxsize=4096)
def topical(word: str) -> float:
    """The share of its weight a query word keeps for how common it is in Chinese at large
    (1 for a word that is not Chinese or of one character, and for jieba's rarer words)."""
    if len(word) < 2 or not is_cjk(word):
        return 1.0
    if not jieba.dt.initialized:
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
    rarity = math.log(jieba.dt.total / (jieba.dt.FREQ.get(word, 0) + 1))
    share = (rarity - _COMMON_LOG) / (_TOPICAL_LOG - _COMMON_LOG)
    return min(1.0, max(_COMMON_WEIGHT, share))


def made_up(word: str) -> bool:
    """Whether a Chinese word of two characters or more is in no jieba dictionary: one that
    jieba's HMM glued together from characters it did not know ("卡成" of 卡成ppt, "哪输")."""
    if len(word) < 2 or not is_cjk(word):
        return False
    if not jieba.dt.initialized:
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
    return not jieba.dt.FREQ.get(word)


class QueryReader:
    """Reads queries with one help center's vocabulary, lexicon and idf."""

    def __init__(
        self,
        lexicon: Lexicon,
        segmenter: Segmenter,
        vocab: list[str],
        postings: Mapping[str, Mapping[int, float]],
        idf: Mapping[str, float],
        tuning: Tuning,
    ) -> None:
        self._pinyin = PinyinReader(_chinese_words(postings, lexicon, segmenter))
        self._lexicon = lexicon
        self._segmenter = segmenter
        self._vocab = vocab
        self._vocab_set = frozenset(vocab)
        self._idf = idf
        self._tuning = tuning

    def read(self, query: str) -> Analysis:
        """The tokens of a user's words: normalised, pinyin read, typos fixed, two words typed
        as one split ("speedhacking"), tokenised."""
        text = normalize_query(query[: MAX_QUERY_CHARS * 2])[:MAX_QUERY_CHARS]
        text = read_pinyin(text, self._pinyin, self._english)
        budget = [_MAX_FIXES]  # typo look-ups per query, so that gibberish stays cheap

        def fix(word: str) -> str:
            if budget[0] <= 0 or not self._unknown(word):
                return word
            budget[0] -= 1
            # One edit (a swap counts as one): two would turn "collection" into "connection".
            found = process.extract(
                word, self._vocab, scorer=OSA.distance, score_cutoff=1, limit=5
            )
            typo = next((str(f[0]) for f in found if _typo_of(word, str(f[0]))), None)
            return typo or self._compound(word) or word

        return analyze(text, self._lexicon, self._segmenter, fix)

    def weights(self, a: Analysis) -> dict[str, float]:
        """How much each token of an analysed query weighs in the ranking (a Chinese word
        common in the language at large weighs less: `topical`)."""
        t = self._tuning
        weights: dict[str, float] = {}

        def put(token: str, weight: float) -> None:
            weights[token] = max(weights.get(token, 0.0), weight)

        for term in a.terms:
            put(term, t.w_number if term.isdigit() else t.w_term)
        for char in a.unigrams:
            put(char, t.w_unigram)
        strong = _strong_bigrams(a.words, self._segmenter)
        for bigram in a.bigrams:
            put(bigram, t.w_bigram if bigram in strong else t.w_weak_bigram)
        # A word inside a lexicon term counts less (the concept says what it means), unless it
        # is rarer here than that concept: "mac" says more than "computer" does.
        idf = self._idf
        rarer = {
            u.token
            for u in a.units
            if u.concepts and idf.get(u.token, 0.0) > max(idf.get(c, 0.0) for c in u.concepts)
        }
        for token in (a.covered & weights.keys()) - rarer:
            weights[token] *= t.w_covered
        for token in a.concepts:
            put(token, t.w_inner if token in a.inner else t.w_concept)
        for token, weight in weights.items():
            if token[0] != "~":  # a concept was chosen as a topic
                weights[token] = weight * topical(token)
        return weights

    def _english(self, word: str) -> bool:
        """Whether a word is English: a filler, in an article or in a lexicon term."""
        return (
            word in EN_FILLERS
            or word in self._vocab_set
            or self._lexicon.knows(english_token(word)[0])
        )

    def _compound(self, word: str) -> str | None:
        """Two known words written as one ("speedhacking", "passwordreset"), spaced (the most
        even split first), or None."""
        splits = [
            (min(i, len(word) - i), word[:i], word[i:])
            for i in range(_COMPOUND_PART, len(word) - _COMPOUND_PART + 1)
        ]
        for _, head, tail in sorted(splits, reverse=True):
            if self._known(head) and self._known(tail):
                return f"{head} {tail}"
        return None

    def _known(self, word: str) -> bool:
        term, stop = english_token(word)
        return not stop and (word in self._vocab_set or self._lexicon.knows(term))

    def _unknown(self, word: str) -> bool:
        """Whether an English word of 5 to 24 letters is in no article nor term (maybe a typo)."""
        if not 5 <= len(word) <= 24 or not word.isalpha() or word in self._vocab_set:
            return False
        term, stop = english_token(word)
        return not stop and term not in self._idf and not self._lexicon.knows(term)


def _chinese_words(
    postings: Mapping[str, Mapping[int, float]], lexicon: Lexicon, segmenter: Segmenter
) -> dict[str, float]:
    """The Chinese words typed pinyin may stand for, each with how common it is here: the help
    center's words by the number of articles that hold them, lexicon terms, and function words,
    which always win (so that "wo de" reads 我的)."""
    words = dict.fromkeys(ZH_STOPWORDS, 1e6)  # the commonest words of the language win
    words.update(dict.fromkeys(lexicon.chinese_terms(), 1.0))
    for token, posting in postings.items():
        # A title's bigrams include pairs across two words ("得被"): only real words count.
        if len(token) <= 5 and is_cjk(token) and (len(token) == 1 or segmenter.known(token)):
            words[token] = max(words.get(token, 0.0), 1.0 + len(posting))
    return words


def _typo_of(word: str, known: str) -> bool:
    """Whether `word` plausibly mistypes `known` (one edit away), rather than being a word.

    Typos keep the first letter ("acount", "vidoe"), and a changed letter, rather than one
    missing, doubled or swapped, is only believed in a long word: "wrote" is not "write" and
    "came" is not "same", but "recognize" is "recognise".
    """
    if word[0] != known[0]:
        return False
    if len(word) != len(known) or sorted(word) == sorted(known):
        return True  # a letter missing or extra, or two swapped
    return len(word) >= 7 and Levenshtein.distance(word, known) == 1


def _strong_bigrams(words: Sequence[str], segmenter: Segmenter) -> set[str]:
    """Bigrams inside a content word (a long word's parts); across words they count less."""
    strong: set[str] = set()
    for w in words:
        if len(w) == 2 and w not in ZH_STOPWORDS:
            strong.add(w)
        elif len(w) > 2 and w not in ZH_STOPWORDS:
            strong.update(segmenter.parts(w))
    return strong
