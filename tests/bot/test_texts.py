"""The catalogs: history lines Kefu wrote are read back in the reader's language."""

from __future__ import annotations

import pytest

from bot.texts import Texts

TEXTS = Texts()


@pytest.mark.parametrize(
    ("kept", "en", "zh"),
    [
        ("已认领", "claimed", "已认领"),
        ("从 bob 接手", "took over from bob", "从 bob 接手"),
        ("已关闭。重复的工单", "closed. 重复的工单", "已关闭。重复的工单"),
        ("已关闭。", "closed.", "已关闭。"),
        ("closed. duplicate", "closed. duplicate", "已关闭。duplicate"),
        ("closed by the user", "closed by the user", "用户已关闭"),
        ("投递问题：Forbidden", "delivery problem: Forbidden", "投递问题：Forbidden"),
    ],
)
def test_a_history_line_kefu_wrote_is_read_in_the_readers_language(
    kept: str, en: str, zh: str
) -> None:
    """They are kept in the moderators' language of the day: a desk or a web page in the
    other language showed "已认领" under English labels."""
    assert TEXTS.reread(kept, "en") == en
    assert TEXTS.reread(kept, "zh-CN") == zh


@pytest.mark.parametrize("said", ["closed it for you", "已认领了吗？", "claimed!", ""])
def test_anything_else_is_left_as_it_was_written(said: str) -> None:
    assert TEXTS.reread(said, "zh-CN") == said
    assert TEXTS.reread(said, "en") == said
