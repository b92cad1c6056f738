"""Typed intent: anger, repeats, cleaning, language. Asking for a person (DESIGN principle 1)
is tested with the other intents in tests/knowledge/test_intents.py."""

from __future__ import annotations

import pytest

from bot.config import BotConfig
from bot.flows.intent import clean, guess_lang, is_angry, is_repeat

ANGRY = (*BotConfig().angry_words_zh, *BotConfig().angry_words_en)  # a deployment's own: none


@pytest.mark.parametrize(
    "text",
    [
        "什么垃圾客服",
        "骗子平台",
        "我要投诉",
        "气死我了",
        "this is useless",
        "Ridiculous.",
        "WHY IS MY ACCOUNT STILL LOCKED",
        "where is my refund!!!",
        "退款呢！！！",
        "😡😡😡",
        "还没到账 🤬",
    ],
)
def test_angry_words_and_shouting(text: str) -> None:
    assert is_angry(text, ANGRY)


@pytest.mark.parametrize(
    "text", ["忘记密码了怎么办", "How do I change my phone number?", "OK", "谢谢😊"]
)
def test_calm_messages(text: str) -> None:
    assert not is_angry(text, ANGRY)


def test_a_deployment_adds_its_own_angry_words() -> None:
    assert ANGRY == ()
    assert not is_angry("meh", ANGRY)
    assert is_angry("meh", ["MEH"])
    assert not is_angry("anything", ["", ""])
    assert is_angry("骗子平台", ["MEH"])  # the built-in ones stay


def test_the_same_question_again_is_a_repeat() -> None:
    recent = ["我的账号被封了怎么办", "refund"]
    assert is_repeat("我的账号被封了怎么办？", recent)
    assert is_repeat("My account was banned", ["my account was banned"])
    assert not is_repeat("怎么修改手机号", recent)
    assert not is_repeat("a", ["a"])  # too short to mean anything
    assert not is_repeat("anything", [])


def test_clean_drops_invisible_and_bidi_characters_and_folds_width() -> None:
    assert clean("  \u200b忘记\u200d密码\u202e\u2066 ") == "忘记密码"
    assert clean("ＡＢＣ１２３") == "ABC123"
    assert clean("\ufeff") == ""


@pytest.mark.parametrize(
    ("text", "lang"),
    [("封号了", "zh-CN"), ("my account", "en"), ("123", ""), ("", ""), ("ok 好的", "zh-CN")],
)
def test_guess_lang(text: str, lang: str) -> None:
    assert guess_lang(text) == lang
