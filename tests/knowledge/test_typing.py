"""How people type: Traditional characters, pinyin with and without spaces, full-width forms,
emoji, order numbers and mixed Chinese and English find what the plain query finds."""

from __future__ import annotations

import pytest

from knowledge.loader import default_content_path, load_knowledge
from knowledge.search import SearchIndex
from knowledge.text import is_reference, normalize
from knowledge.writing import simplified, split_syllables


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    kb = load_knowledge(default_content_path())
    return SearchIndex.build(kb.articles, kb.synonyms)


def _top(index: SearchIndex, query: str) -> tuple[str, bool]:
    result = index.search(query)
    assert result.hits, query
    return result.hits[0].id, result.confident


@pytest.mark.parametrize(
    ("traditional", "plain"),
    [
        ("帳號被封", "账号被封"),
        ("我的帳號被盜了", "我的账号被盗了"),
        ("驗證碼收不到", "验证码收不到"),
        ("退款還沒到賬", "退款还没到账"),
        ("訂單一直不發貨", "订单一直不发货"),
        ("軟體一直閃退", "软件一直闪退"),  # Taiwan's 軟體 is the mainland's 软件
        ("影片上傳失敗", "视频上传失败"),
    ],
)
def test_traditional_chinese_finds_what_simplified_finds(
    index: SearchIndex, traditional: str, plain: str
) -> None:
    assert simplified(traditional) != traditional
    typed, expected = index.search(traditional), index.search(plain)
    assert (typed.confident, typed.hits) == (expected.confident, expected.hits)


@pytest.mark.parametrize(
    ("typed", "read"),
    [("登出", "登出"), ("帳號登出", "账号登出"), ("已經停用了", "已经停用了"), ("停用", "停用")],
)
def test_taiwan_words_that_mean_something_else_on_the_mainland_are_kept(
    typed: str, read: str
) -> None:
    # OpenCC's Taiwan phrases read 登出 (log out) as 注销 (delete the account).
    assert simplified(typed) == read


@pytest.mark.parametrize("query", ["怎么登出账号", "怎麼登出帳號"])
def test_logging_out_is_not_deleting_the_account(index: SearchIndex, query: str) -> None:
    result = index.search(query)
    assert not (result.confident and result.hits[0].id == "delete-account")


@pytest.mark.parametrize(
    ("pinyin", "expected"),
    [
        ("zhanghao bei feng", "account-banned"),
        ("zhanghaobeifeng", "account-banned"),
        ("wo de ding dan mei fa huo", "order-not-shipped"),
        ("wodedingdanmeifahuo", "order-not-shipped"),
        ("yanzhengma shou bu dao", "login-verification-code"),
        ("tuikuan hai mei daozhang", "refund-not-received"),
        ("zhuxiao zhanghao", "delete-account"),
        ("app shantui le", "app-crash"),
    ],
)
def test_pinyin_with_and_without_spaces(index: SearchIndex, pinyin: str, expected: str) -> None:
    assert _top(index, pinyin) == (expected, True)


def test_english_words_that_are_also_pinyin_stay_english(index: SearchIndex) -> None:
    # "ban", "me" and "an" are pinyin syllables too; these are English sentences.
    assert _top(index, "why did you ban me")[0] == "account-banned"
    assert split_syllables("password") is None
    assert split_syllables("xian") == ("xian",)


def test_full_width_and_half_width_forms_agree(index: SearchIndex) -> None:
    assert normalize("ＶＩＤＥＯ上传失败！") == "video上传失败!"
    assert index.search("ＶＩＤＥＯ 上传失败").hits[0].id == "video-upload-failed"
    assert _top(index, "ｍｙ ａｃｃｏｕｎｔ ｇｏｔ ｂａｎｎｅｄ") == _top(
        index, "my account got banned"
    )


def test_emoji_are_read_past(index: SearchIndex) -> None:
    assert _top(index, "😭😭 封号了 😡") == _top(index, "封号了")
    assert not index.search("😭😭😭").confident


def test_order_numbers_and_ids_do_not_count_against_the_query(index: SearchIndex) -> None:
    assert is_reference("20261107123456")
    assert is_reference("uid88812345")
    assert not is_reference("1003")  # an error code is a word of the articles
    assert not is_reference("648")
    with_id = index.search("订单 20261107123456 一直不发货")
    assert with_id.hits[0].id == "order-not-shipped"
    assert with_id.confident


def test_mixed_chinese_and_english(index: SearchIndex) -> None:
    assert _top(index, "video上传一直失败") == ("video-upload-failed", True)
    assert _top(index, "refund 还没到账") == ("refund-not-received", True)


@pytest.mark.parametrize(
    "english", ["i live in china", "she ran away", "my banana", "lame excuse", "gene"]
)
def test_english_words_that_parse_as_pinyin_are_not_read_as_chinese(
    index: SearchIndex, english: str
) -> None:
    # Each cuts into syllables ("chi na", "ba na na"), but they do not read as words.
    assert not any("\u4e00" <= c <= "\u9fff" for u in index._reader.read(english).words for c in u)


@pytest.mark.parametrize(
    ("joined", "spaced"),
    [("my accountlocked", "my account locked"), ("forgot passwordreset", "forgot password reset")],
)
def test_two_words_typed_as_one_are_read_apart(
    index: SearchIndex, joined: str, spaced: str
) -> None:
    read = index._reader.read
    assert [u.token for u in read(joined).units] == [u.token for u in read(spaced).units]
    assert _top(index, joined) == _top(index, spaced)
