"""Golden payloads: real Bot API update JSON → telegram.Update.de_json → convert → event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from telegram import Update

from adapters.telegram.convert import (
    Context,
    album_key,
    convert,
    locale_of,
    merge_album,
    parse_command,
)
from bot.types import (
    Attachment,
    ButtonPressed,
    ChatKind,
    ChatRef,
    CommandReceived,
    MessageRef,
    TextReceived,
    UserRef,
)

PAYLOADS = Path(__file__).parent / "payloads"
GROUP = -1001234567890
CTX = Context(bot_id=7999999999, bot_username="kefu_test_bot", moderator_chats=frozenset({GROUP}))
LIN = UserRef("telegram", "5012345678", "小林 王", "zh-CN")
ANN = UserRef("telegram", "6023456789", "Ann", "en")
LIN_CHAT = ChatRef("telegram", "5012345678", ChatKind.PRIVATE)
ANN_CHAT = ChatRef("telegram", "6023456789", ChatKind.PRIVATE)
TOPIC = ChatRef("telegram", str(GROUP), ChatKind.MODERATION, "405")


def load(name: str) -> Update:
    """A fixture parsed by python-telegram-bot itself."""
    data = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return Update.de_json(data, None)


def test_private_text_keeps_markup_characters_as_plain_text() -> None:
    event = convert(load("private_text_zh"), CTX)
    assert event == TextReceived(LIN, LIN_CHAT, "851793001", "我的账号被封了 <b>怎么办</b>")


def test_command_is_lower_case_without_bot_suffix_and_with_args() -> None:
    event = convert(load("private_command_start"), CTX)
    assert event == CommandReceived(ANN, ANN_CHAT, "851793002", "start", "ref-42")


def test_photo_takes_the_largest_size_and_the_caption() -> None:
    event = convert(load("private_photo"), CTX)
    lin = UserRef("telegram", "5012345678", "小林", "zh-CN")
    photo = Attachment("AgACAgUAAxkBAAMSaLarge", "photo_AQADlarge.jpg", "image/jpeg", 190233)
    assert event == TextReceived(lin, LIN_CHAT, "851793003", "截图在这里", (photo,))


def test_image_document_is_an_attachment() -> None:
    event = convert(load("private_document_image"), CTX)
    doc = Attachment("BQACAgUAAxkBAAMTDocPng", "screenshot.png", "image/png", 734003)
    assert event == TextReceived(ANN, ANN_CHAT, "851793004", "", (doc,))


@pytest.mark.parametrize(
    ("name", "attachment", "text"),
    [
        (
            "private_document_pdf",
            Attachment(
                "BQACAgUAAxkBAAMUDocPdf",
                "receipt.pdf",
                "application/pdf",
                51234,
                "",
                "err_not_image",
            ),
            "my receipt",
        ),
        (
            "private_sticker",
            Attachment("CAACAgIAAxkBAAMVStick", "sticker", "", 23012, "", "err_not_text"),
            "",
        ),
        (
            "private_voice",
            Attachment("AwACAgUAAxkBAAMWVoice", "voice", "audio/ogg", 11873, "", "err_not_text"),
            "",
        ),
    ],
)
def test_other_files_arrive_marked_not_image(name: str, attachment: Attachment, text: str) -> None:
    event = convert(load(name), CTX)
    assert isinstance(event, TextReceived)
    assert event.attachments == (attachment,)
    assert event.text == text


@pytest.mark.parametrize("name", ["private_location", "private_contact", "private_poll"])
def test_a_location_contact_or_poll_is_answered_not_ignored(name: str) -> None:
    """No text and no file: ignored in silence before; now a refusal the user reads."""
    event = convert(load(name), CTX)
    assert isinstance(event, TextReceived) and event.text == ""
    (refused,) = event.attachments
    assert (refused.ref, refused.error) == ("", "err_not_readable")


def test_album_parts_share_a_key_and_merge_into_one_event() -> None:
    first, second = load("private_album_part1"), load("private_album_part2")
    assert album_key(first) == album_key(second) == "5012345678:13905818471192713"
    events = [convert(second, CTX), convert(first, CTX)]
    merged = merge_album([e for e in events if e is not None])
    lin = UserRef("telegram", "5012345678", "小林", "zh-CN")
    photos = (
        Attachment("AgACAgUAAxkBAAMeAlbum1", "photo_AQADa1.jpg", "image/jpeg", 88000),
        Attachment("AgACAgUAAxkBAAMfAlbum2", "photo_AQADa2.jpg", "image/jpeg", 91000),
    )
    assert merged == TextReceived(lin, LIN_CHAT, "851793010", "两张截图", photos)


def test_moderator_text_in_a_topic_is_a_moderation_event() -> None:
    ctx = Context(CTX.bot_id, CTX.bot_username, frozenset({GROUP}), is_moderator=True)
    event = convert(load("group_topic_text"), ctx)
    mei = UserRef("telegram", "7034567890", "Mei Chen", "zh-CN", is_moderator=True)
    assert event == TextReceived(mei, TOPIC, "851793020", "您好，我们已经在核实了。")


def test_non_admin_in_the_group_is_not_a_moderator() -> None:
    event = convert(load("group_topic_text"), CTX)
    assert event is not None
    assert event.user.is_moderator is False


def test_moderator_command_with_bot_suffix_and_reason() -> None:
    ctx = Context(CTX.bot_id, CTX.bot_username, frozenset({GROUP}), is_moderator=True)
    event = convert(load("group_topic_command"), ctx)
    mei = UserRef("telegram", "7034567890", "Mei Chen", "en", is_moderator=True)
    assert event == CommandReceived(mei, TOPIC, "851793021", "close", "duplicate of #11")


def test_anonymous_admin_counts_as_a_moderator() -> None:
    event = convert(load("group_anonymous_admin"), CTX)
    admin = UserRef("telegram", str(GROUP), "Team lead", "", is_moderator=True)
    assert event == CommandReceived(admin, TOPIC, "851793026", "claim", "")


@pytest.mark.parametrize(
    "name",
    [
        "group_topic_other_bot_command",
        "group_general_text",
        "group_topic_created_service",
        "group_bot_own_message",
        "other_group_text",
    ],
)
def test_ignored_updates(name: str) -> None:
    assert convert(load(name), CTX) is None


def test_an_edited_message_is_its_new_text_marked_as_an_edit() -> None:
    event = convert(load("edited_message"), CTX)
    lin = UserRef("telegram", "5012345678", "小林", "zh-CN")
    assert event == TextReceived(lin, LIN_CHAT, "851793040", "edited", (), edited=True)


def test_callback_in_private_chat() -> None:
    event = convert(load("callback_private"), CTX)
    lin = UserRef("telegram", "5012345678", "小林", "zh-CN")
    ref = MessageRef(LIN_CHAT, "16")
    assert event == ButtonPressed(lin, LIN_CHAT, "851793030", "kefu:m:1a2b3c4d:account", ref)


def test_callback_in_a_topic_keeps_the_thread() -> None:
    ctx = Context(CTX.bot_id, CTX.bot_username, frozenset({GROUP}), is_moderator=True)
    event = convert(load("callback_group_topic"), ctx)
    mei = UserRef("telegram", "7034567890", "Mei Chen", "en", is_moderator=True)
    assert event == ButtonPressed(mei, TOPIC, "851793031", "kefu:mc::12", MessageRef(TOPIC, "406"))


def test_callback_on_an_inaccessible_message_still_arrives() -> None:
    event = convert(load("callback_inaccessible"), CTX)
    assert isinstance(event, ButtonPressed)
    assert event.data == "kefu:y:1a2b3c4d:account-banned"
    assert event.message == MessageRef(LIN_CHAT, "3")


@pytest.mark.parametrize(
    ("code", "locale"),
    [("zh-hans", "zh-CN"), ("zh-TW", "zh-CN"), ("zh", "zh-CN"), ("en-US", "en"), ("ru", "en")],
)
def test_locale(code: str, locale: str) -> None:
    assert locale_of(code) == locale


def test_no_language_code_leaves_the_locale_to_the_core() -> None:
    assert locale_of(None) == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/human", ("human", "")),
        ("/Snippet@KEFU_TEST_BOT refund-policy", ("snippet", "refund-policy")),
        ("/note line one\nline two", ("note", "line one\nline two")),
        ("/close@someone_else", None),
        (
            "/snippet-add refund Refunds take 3 days.",
            ("snippet-add", "refund Refunds take 3 days."),
        ),
        ("/ not a command", None),
        ("no command", None),
    ],
)
def test_parse_command(text: str, expected: tuple[str, str] | None) -> None:
    assert parse_command(text, "kefu_test_bot") == expected
