"""Help-center search: ranking, confidence, languages, synonyms and the JSON Lines output."""

from __future__ import annotations

import json

import pytest

from knowledge.loader import default_content_path, load_articles
from knowledge.models import Article
from knowledge.search import (
    SearchIndex,
    SearchResult,
    load_lexicon,
    parse_synonyms,
    search_jsonl,
)

# Used when the bundled help center is absent: the same ids, in both languages.
_FALLBACK = [
    (
        "account-banned",
        "account/banned",
        "账号被封禁或限制使用怎么办",
        ["封号", "账号被封", "申诉"],
        "账号因违反社区规定被封禁时，可以在通知里查看原因并提交申诉。",
        "My account is suspended or restricted",
        ["account suspended", "banned account", "appeal"],
        "If your account was suspended for breaking the community guidelines, read the notice "
        "and submit an appeal.",
    ),
    (
        "login-verification-code",
        "account/login",
        "登录不上或收不到验证码",
        ["登录失败", "验证码", "收不到短信"],
        "收不到短信验证码时，检查信号并尝试语音验证码。",
        "I can't log in or I'm not getting the verification code",
        ["can't log in", "verification code", "no SMS"],
        "If the SMS code does not arrive, check your signal and try a voice code.",
    ),
    (
        "forgot-password",
        "account/password",
        "忘记密码怎么重置",
        ["忘记密码", "重置密码"],
        "在登录页点忘记密码，用手机号验证后设置新密码。",
        "Forgot your password",
        ["forgot password", "reset password"],
        "Tap Forgot password on the login page and set a new one.",
    ),
    (
        "order-not-shipped",
        "commerce/orders",
        "下单后商家一直不发货",
        ["不发货", "催发货"],
        "商家超过承诺时间未发货，可以在订单页催发货或申请退款。",
        "The seller hasn't shipped my order",
        ["not shipped", "remind seller"],
        "If the seller misses the shipping time, remind them or ask for a refund.",
    ),
]


def _fallback_articles() -> list[Article]:
    out = []
    for art_id, cat, zh_title, zh_kw, zh_body, en_title, en_kw, en_body in _FALLBACK:
        out.append(Article(art_id, "zh-CN", zh_title, cat, tuple(zh_kw), zh_body))
        out.append(Article(art_id, "en", en_title, cat, tuple(en_kw), en_body))
    return out


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    root = default_content_path()
    if (root / "articles" / "en").is_dir() and any((root / "articles" / "en").glob("*.md")):
        return load_articles(root)
    return _fallback_articles()


@pytest.fixture(scope="module")
def index(articles: list[Article]) -> SearchIndex:
    return SearchIndex.build(articles)


def _check_shape(result: SearchResult) -> None:
    ids = [h.id for h in result.hits]
    assert len(ids) == len(set(ids))
    scores = [h.score for h in result.hits]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("封号了", "account-banned"),
        ("我的号被封了怎么申诉", "account-banned"),
        ("I can't log in", "login-verification-code"),
        ("验证码一直收不到", "login-verification-code"),
        ("forgot my pasword", "forgot-password"),  # a typo
        ("商家一直不发货", "order-not-shipped"),
    ],
)
def test_obvious_queries_are_answered_confidently(
    index: SearchIndex, query: str, expected: str
) -> None:
    result = index.search(query)
    _check_shape(result)
    assert result.hits[0].id == expected
    assert result.confident


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "😀😀😀",
        "hello",
        "你好",
        "thanks!",
        "谢谢",
        "客服态度太差",
        "今天天气怎么样",
        "asdfgh",
    ],
)
def test_small_talk_and_off_topic_are_not_confident(index: SearchIndex, query: str) -> None:
    result = index.search(query)
    _check_shape(result)
    assert not result.confident


def test_very_long_input_is_capped_and_not_confident(index: SearchIndex) -> None:
    for text in ("x" * 10_000, "啊" * 10_000, "please help " * 1_000):
        result = index.search(text)
        _check_shape(result)
        assert not result.confident
        assert result.query == text


def test_long_story_still_finds_the_article(index: SearchIndex) -> None:
    story = (
        "昨天晚上我还好好的发了一条笔记，今天早上起来一打开app就提示我的账号因为违反社区规定"
        "被封了，我什么都没干啊，到底怎么申诉才能把号要回来？" * 3
    )
    assert index.search(story).hits[0].id == "account-banned"


def test_results_are_unique_bounded_and_deterministic(
    index: SearchIndex, articles: list[Article]
) -> None:
    again = SearchIndex.build(articles)
    for query in ("账号 登录 密码 验证码", "refund order seller coupon", "视频 video 上传"):
        first = index.search(query, limit=10)
        _check_shape(first)
        assert len(first.hits) <= 10
        assert first == index.search(query, limit=10)
        assert first == again.search(query, limit=10)


def test_limit(index: SearchIndex) -> None:
    assert len(index.search("账号", limit=2).hits) <= 2
    assert index.search("账号", limit=0).hits == ()


def test_a_chinese_query_finds_the_article_and_shows_the_requested_language(
    index: SearchIndex, articles: list[Article]
) -> None:
    titles = {(a.id, a.lang): a.title for a in articles}
    in_english = index.search("封号了", lang="en").hits[0]
    assert in_english.title == titles["account-banned", "en"]
    assert in_english.category == "account/banned"
    in_chinese = index.search("my account got banned", lang="zh-CN").hits[0]
    assert in_chinese.id == "account-banned"
    assert in_chinese.title == titles["account-banned", "zh-CN"]


def test_one_language_only_falls_back_to_the_title_it_has() -> None:
    only_zh = [
        Article("gift-cards", "zh-CN", "礼品卡怎么用", "commerce/gift", ("礼品卡",), "礼品卡")
    ]
    hit = SearchIndex.build(only_zh).search("礼品卡", lang="en").hits[0]
    assert hit.title == "礼品卡怎么用"


def test_synonyms_extend_the_lexicon(index: SearchIndex, articles: list[Article]) -> None:
    query = "zonked again??"  # a made-up word no article uses
    assert not index.search(query).confident
    extended = SearchIndex.build(articles, synonyms=[("zonked", "banned", "封号")])
    result = extended.search(query)
    assert result.hits[0].id == "account-banned"
    assert result.confident


def test_synonyms_toml_format() -> None:
    groups = parse_synonyms('[[group]]\nterms = ["销号", "注销", "delete account", " "]\n')
    assert groups == [("销号", "注销", "delete account")]
    builtin = load_lexicon()
    assert len(builtin) > 50
    assert all(isinstance(g, tuple) and g for g in builtin)
    assert any("注销" in g and "销号" in g for g in builtin)


def test_search_jsonl_writes_one_object_per_line(index: SearchIndex) -> None:
    lines = ["封号了\n", "\n", "hello\n", "I can't log in"]
    out = list(search_jsonl(index, lines, limit=3))
    assert len(out) == len(lines)
    objects = [json.loads(line) for line in out]
    assert [o["query"] for o in objects] == ["封号了", "", "hello", "I can't log in"]
    assert "封号了" in out[0]  # ensure_ascii=False
    for obj in objects:
        assert set(obj) == {"query", "confident", "results"}
        assert isinstance(obj["confident"], bool)
        assert len(obj["results"]) <= 3
        for item in obj["results"]:
            assert set(item) == {"id", "score"}
            assert 0.0 <= item["score"] <= 1.0
    assert objects[0]["confident"] and objects[0]["results"][0]["id"] == "account-banned"
    assert not objects[1]["confident"] and objects[1]["results"] == []
    assert not objects[2]["confident"]
