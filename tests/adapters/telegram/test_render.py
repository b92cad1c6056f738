"""Golden renders: Reply → sendMessage kwargs and reply_markup.to_dict(), no network."""

from __future__ import annotations

import pytest

from adapters.telegram.render import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    edit_kwargs,
    html_chunks,
    keyboard,
    message_kwargs,
    plan,
    split_text,
    topic_name,
    utf16_len,
)
from bot.types import Button, OutFile, Reply

HUMAN = Button("人工客服", "kefu:h:1a2b3c4d")
MENU = Button("账号问题", "kefu:m:1a2b3c4d:account")


def test_text_is_escaped_html_with_bold_title_and_keyboard() -> None:
    reply = Reply(
        text='Use <Settings> & then "Appeal".',
        title="Account <banned>",
        buttons=((MENU,), (HUMAN,)),
    )
    (kwargs,) = message_kwargs(reply)
    assert kwargs["text"] == (
        '<b>Account &lt;banned&gt;</b>\nUse &lt;Settings&gt; &amp; then "Appeal".'
    )
    assert kwargs["parse_mode"] == "HTML"
    assert kwargs["disable_notification"] is False
    assert kwargs["link_preview_options"].to_dict() == {"is_disabled": True}
    assert kwargs["reply_markup"].to_dict() == {
        "inline_keyboard": [
            [{"text": "账号问题", "callback_data": "kefu:m:1a2b3c4d:account"}],
            [{"text": "人工客服", "callback_data": "kefu:h:1a2b3c4d"}],
        ]
    }


def test_no_buttons_no_reply_markup_and_silent_flag() -> None:
    (kwargs,) = message_kwargs(Reply(text="ok", silent=True))
    assert "reply_markup" not in kwargs
    assert kwargs["disable_notification"] is True


def test_long_text_splits_on_paragraphs_with_buttons_on_the_last_part() -> None:
    paragraph = "段落" * 900  # 1,800 characters
    text = "\n\n".join([paragraph] * 5)  # 9,008 characters
    parts = message_kwargs(Reply(text=text, title="标题", buttons=((HUMAN,),)))
    assert len(parts) == 3
    assert all(utf16_len(p["text"]) <= TEXT_LIMIT for p in parts)
    assert parts[0]["text"].startswith("<b>标题</b>\n")
    assert all("reply_markup" not in p for p in parts[:-1])
    assert parts[-1]["reply_markup"].to_dict()["inline_keyboard"][0][0]["text"] == "人工客服"
    joined = "".join(p["text"] for p in parts).replace("<b>标题</b>\n", "")
    assert joined.replace("\n", "") == text.replace("\n", "")


def test_split_counts_emoji_as_two_units_and_never_loses_text() -> None:
    text = "😀" * 5000
    chunks = split_text(text)
    assert [utf16_len(c) for c in chunks] == [4096, 4096, 1808]
    assert "".join(chunks) == text


def test_split_prefers_line_then_sentence_boundaries() -> None:
    text = "a" * 3000 + "\n" + "b" * 2000
    assert split_text(text) == ["a" * 3000, "b" * 2000]
    cjk = "这是一句话。" * 1000  # no spaces, no newlines
    chunks = split_text(cjk)
    assert all(c.endswith("。") for c in chunks)
    assert "".join(chunks) == cjk


def test_escaping_does_not_count_against_the_limit() -> None:
    text = "<" * 4096  # 4,096 characters, 16,384 once escaped: still one message
    (chunk,) = html_chunks(Reply(text=text))
    assert chunk == "&lt;" * 4096


def test_callback_data_over_64_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="64"):
        keyboard(((Button("x", "k" * 65),),))


def test_edit_is_one_message_cut_to_fit() -> None:
    kwargs = edit_kwargs(Reply(text="x" * 5000, title="Ticket #12", buttons=((HUMAN,),)))
    assert utf16_len(kwargs["text"].replace("<b>", "").replace("</b>", "")) <= TEXT_LIMIT
    assert kwargs["text"].endswith("…")
    assert kwargs["reply_markup"].to_dict()["inline_keyboard"] == [
        [{"text": "人工客服", "callback_data": "kefu:h:1a2b3c4d"}]
    ]


def _files(n: int, mime: str = "image/png") -> tuple[OutFile, ...]:
    return tuple(OutFile(f"/tmp/f{i}.png", f"f{i}.png", mime) for i in range(n))


def test_one_photo_with_short_text_is_one_captioned_photo() -> None:
    (step,) = plan(Reply(text="screenshot", files=_files(1), buttons=((HUMAN,),)))
    assert step.kind == "photo"
    assert step.kwargs["caption"] == "screenshot"
    assert step.kwargs["reply_markup"].to_dict()["inline_keyboard"][0][0]["text"] == "人工客服"


def test_one_photo_with_long_text_goes_photo_then_text() -> None:
    steps = plan(Reply(text="x" * (CAPTION_LIMIT + 1), files=_files(1)))
    assert [s.kind for s in steps] == ["photo", "text"]
    assert "caption" not in steps[0].kwargs


def test_many_photos_are_media_groups_of_at_most_ten_then_the_text() -> None:
    steps = plan(Reply(text="card", files=_files(11) + _files(1, "application/pdf")))
    assert [(s.kind, len(s.files)) for s in steps] == [
        ("group", 10),
        ("photo", 1),
        ("document", 1),
        ("text", 0),
    ]


def test_topic_name_is_one_line_of_at_most_128() -> None:
    assert topic_name("#12 账号\n被封 " + "x" * 200).startswith("#12 账号 被封 x")
    assert len(topic_name("y" * 300)) == 128
    assert topic_name("  ") == "Ticket"
