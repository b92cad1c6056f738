"""Text rules of the help-center search: normalising, segmenting, stemming, lexicon spans."""

from __future__ import annotations

import pytest

from knowledge.query import _typo_of
from knowledge.terms import Lexicon
from knowledge.text import (
    EN_STOPWORDS,
    Segmenter,
    analyze,
    english_token,
    normalize_query,
    stem,
)


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return Segmenter()


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("pleeeease", "pleease"),  # the typo fixer can take the last extra letter away
        ("bannnned", "banned"),
        ("好卡卡卡卡", "好卡"),
        ("怎么办啊啊啊啊", "怎么办啊"),
        ("？？？！！", "?!"),
        ("😭😭😭封号了", "😭封号了"),
        ("ＡＰＰ闪退", "app闪退"),  # full-width letters
        ("1000元", "1000元"),  # digits are never collapsed
        ("good", "good"),
    ],
)
def test_normalize_query_undoes_typed_emphasis(typed: str, normal: str) -> None:
    assert normalize_query(typed) == normal


@pytest.mark.parametrize(
    ("run", "words"),
    [
        ("还发了一堆广告", ["还", "发"]),  # 还发: a function word glued to a verb
        ("昵称改不了", ["改", "不了"]),  # a verb complement glued to the verb
        ("红点消不掉", ["消", "不掉"]),
    ],
)
def test_segmenter_splits_what_jieba_glues(
    segmenter: Segmenter, run: str, words: list[str]
) -> None:
    cut = segmenter.cut(run)
    assert "".join(cut) == run
    for word in words:
        assert word in cut


def test_segmenter_keeps_dictionary_words(segmenter: Segmenter) -> None:
    assert segmenter.cut("验证码收不到") == ["验证码", "收", "不到"]
    assert segmenter.cut("还是不行") == ["还是", "不行"]  # a dictionary word is not split
    assert segmenter.cut("过不去") == ["过不去"]  # nor a complement after a function word


def test_parts_of_a_long_word_are_its_dictionary_words(segmenter: Segmenter) -> None:
    assert segmenter.parts("环境异常") == ("环境", "异常")  # "境异" is in no article body


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("verification", "verified"),
        ("verify", "verification"),
        ("notifications", "notify"),
        ("application", "apply"),
    ],
)
def test_stem_unifies_ication_nouns_with_their_verbs(a: str, b: str) -> None:
    assert stem(a) == stem(b)


@pytest.mark.parametrize(
    ("typed", "known", "typo"),
    [
        ("acount", "account", True),  # a letter missing
        ("vidoe", "video", True),  # two swapped
        ("recognize", "recognise", True),  # a changed letter in a long word
        ("care", "are", False),  # typos keep the first letter
        ("came", "same", False),
        ("wrote", "write", False),  # a changed letter in a short word is another word
    ],
)
def test_typo_rule(typed: str, known: str, typo: bool) -> None:
    assert _typo_of(typed, known) is typo


def test_pinyin_function_words_are_fillers() -> None:
    for word in ("zenme", "zenmeban", "weishenme", "nihao"):
        assert word in EN_STOPWORDS
        assert english_token(word)[1]


def test_a_concept_inside_a_longer_term_of_another_concept_is_inner(
    segmenter: Segmenter,
) -> None:
    lexicon = Lexicon.compile([("ban", "banned"), ("shadowban", "shadow banned")])
    analysis = analyze(normalize_query("am i shadow banned"), lexicon, segmenter)
    assert set(analysis.concepts) == {"~0", "~1"}
    assert analysis.inner == {"~0"}  # "banned" is part of "shadow banned"
    alone = analyze(normalize_query("i got banned"), lexicon, segmenter)
    assert alone.inner == set()


def test_a_softened_complaint_word_is_no_complaint(segmenter: Segmenter) -> None:
    lexicon = Lexicon.compile([])
    angry = analyze(normalize_query("客服没用"), lexicon, segmenter)
    assert any(u.complaint for u in angry.units)
    tried = analyze(normalize_query("换了网络也没用"), lexicon, segmenter)
    assert not any(u.complaint for u in tried.units)  # "也没用": it did not help


def test_counts_and_fillers_are_not_content_words(segmenter: Segmenter) -> None:
    lexicon = Lexicon.compile([])
    analysis = analyze(normalize_query("付款五天了 只买了一件"), lexicon, segmenter)
    tokens = {u.token for u in analysis.units}
    assert "五天" not in tokens
    assert "一件" not in tokens
    assert "付款" in tokens
