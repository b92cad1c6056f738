"""Golden gateway payloads → discord.py's own parsers → convert → Kefu events."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from adapters.discord import convert
from bot.types import ChatKind, CommandReceived, FormSubmitted, TextReceived, UserRef
from tests.adapters.discord.conftest import eventually

PAYLOADS = Path(__file__).parent / "payloads"
GUILD, ROLE, MOD_CHANNEL = 900000000000000001, 900000000000000002, 900000000000000003
DM, THREAD = 920000000000000001, 920000000000000002
MAX = 8 * 1024 * 1024


def payload(name: str) -> dict[str, Any]:
    """A stored gateway payload."""
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


class Recorder(discord.Client):
    """A client that is never connected: payloads go straight to its parsers."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents(guilds=True, messages=True))
        self.seen: list[Any] = []

    async def on_message(self, message: discord.Message) -> None:
        self.seen.append(message)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        self.seen.append(interaction)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        self.seen.append((before, after))

    async def feed(self, event: str, name: str) -> Any:
        """Parse one DISPATCH the way the gateway does; the object discord.py made of it."""
        before = len(self.seen)
        self._connection.parsers[event](payload(name))
        await eventually(lambda: len(self.seen) > before)  # the listener runs in a task
        (made,) = self.seen[before:]
        return made


@pytest.fixture
async def sdk() -> Recorder:
    client = Recorder()
    await client._async_setup_hook()
    bot = payload("guild_create.json")["members"][0]["user"]
    client._connection.user = discord.ClientUser(state=client._connection, data=bot)  # type: ignore[arg-type]
    client._connection.parsers["GUILD_CREATE"](payload("guild_create.json"))
    return client


async def test_dm_message_with_attachments_is_checked_by_type_and_size(sdk: Recorder) -> None:
    message = await sdk.feed("MESSAGE_CREATE", "message_dm.json")
    chat = convert.locate(message.channel.id, None, {MOD_CHANNEL}, None)
    assert chat is not None
    event = convert.message_event(message, chat, ROLE, MAX)
    assert isinstance(event, TextReceived)
    assert event.text == "我的账号被封了 *不知道为什么*"
    assert event.chat.kind is ChatKind.PRIVATE and event.chat.id == str(DM)
    assert event.user.id == "910000000000000001" and not event.user.is_moderator
    assert event.event_id == "m:940000000000000001"
    shot, pdf, huge = event.attachments
    assert (shot.name, shot.mime, shot.size, shot.error) == ("shot.png", "image/png", 34567, "")
    assert shot.ref.startswith("https://cdn.discordapp.com/attachments/")
    assert pdf.error == "err_not_image"
    assert huge.error == "err_too_large"


async def test_dm_command_becomes_command_received(sdk: Recorder) -> None:
    message = await sdk.feed("MESSAGE_CREATE", "message_dm_command.json")
    event = convert.message_event(message, convert.dm_chat(DM), ROLE, MAX)
    assert isinstance(event, CommandReceived)
    assert (event.name, event.args) == ("human", "快点")


async def test_moderator_message_in_ticket_thread(sdk: Recorder) -> None:
    message = await sdk.feed("MESSAGE_CREATE", "message_thread_moderator.json")
    assert isinstance(message.channel, discord.Thread)
    chat = convert.locate(message.channel.id, GUILD, {MOD_CHANNEL}, message.channel.parent_id)
    assert chat == convert.mod_chat(MOD_CHANNEL, THREAD)
    assert chat is not None and chat.kind is ChatKind.MODERATION
    event = convert.message_event(message, chat, ROLE, MAX)
    assert isinstance(event, TextReceived)
    assert event.user.is_moderator
    assert event.text == "您好，已经帮您解封。"
    assert [a.name for a in event.attachments] == ["shot.png"]


async def test_non_moderator_in_ticket_thread_is_passed_without_rights(sdk: Recorder) -> None:
    message = await sdk.feed("MESSAGE_CREATE", "message_thread_other.json")
    chat = convert.locate(message.channel.id, GUILD, {MOD_CHANNEL}, message.channel.parent_id)
    assert chat is not None
    event = convert.message_event(message, chat, ROLE, MAX)
    assert not event.user.is_moderator


async def test_unrelated_guild_channel_is_ignored(sdk: Recorder) -> None:
    message = await sdk.feed("MESSAGE_CREATE", "message_general.json")
    assert convert.locate(message.channel.id, GUILD, {MOD_CHANNEL}, None) is None


async def test_modal_submission_becomes_form_submitted(sdk: Recorder) -> None:
    interaction = await sdk.feed("INTERACTION_CREATE", "interaction_modal_submit.json")
    user = convert.user_ref(interaction.user, ROLE, interaction.locale.value)
    event = convert.form_event(
        user, convert.dm_chat(DM), interaction.id, "ban-appeal", interaction.data
    )
    assert isinstance(event, FormSubmitted)
    assert event.values == (("account_id", "lumen_42"), ("why", "I did nothing wrong"))
    assert event.user.locale == "zh-CN"
    assert event.event_id == "i:950000000000000004"


async def test_modal_with_a_file_upload_lists_its_files_like_message_attachments(
    sdk: Recorder,
) -> None:
    interaction = await sdk.feed("INTERACTION_CREATE", "interaction_modal_submit_upload.json")
    data = interaction.data
    assert convert.modal_values(data["components"]) == (
        ("order_no", "P20250301"),
        ("screenshots", ""),  # the upload was in the modal; its files come separately
    )
    shot, pdf = convert.modal_files(data, interaction._state, MAX)
    assert (shot.name, shot.mime, shot.size, shot.error) == ("order.png", "image/png", 48213, "")
    assert shot.ref.startswith("https://cdn.discordapp.com/ephemeral-attachments/")
    assert pdf.error == "err_not_image"  # the third id had no attachment: dropped


async def test_modal_files_go_with_the_form_answers(sdk: Recorder) -> None:
    interaction = await sdk.feed("INTERACTION_CREATE", "interaction_modal_submit_upload.json")
    files = convert.modal_files(interaction.data, interaction._state, MAX)
    user = convert.user_ref(interaction.user, ROLE, interaction.locale.value)
    event = convert.form_event(
        user, convert.dm_chat(DM), interaction.id, "order-problem", interaction.data, files
    )
    assert event.attachments == files  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "resolved",
    [
        None,
        {},
        {"attachments": []},
        {"attachments": {"1": None}},
        {"attachments": {"1": {"id": "x"}}},
    ],
)
def test_malformed_modal_files_are_dropped(resolved: Any) -> None:
    upload = {"type": 18, "component": {"type": 19, "custom_id": "s", "values": ["1"]}}
    data: dict[str, Any] = {"components": [upload]}
    if resolved is not None:
        data["resolved"] = resolved
    assert convert.modal_files(data, None, MAX) == ()


async def test_button_in_thread_by_non_moderator_has_no_rights(sdk: Recorder) -> None:
    interaction = await sdk.feed("INTERACTION_CREATE", "interaction_claim_by_bob.json")
    assert interaction.data["custom_id"] == "kefu:mc::12"
    assert not convert.is_moderator(interaction.user, ROLE)


async def test_slash_command_by_moderator(sdk: Recorder) -> None:
    interaction = await sdk.feed("INTERACTION_CREATE", "interaction_slash_close.json")
    user = convert.user_ref(interaction.user, ROLE)
    assert user.is_moderator
    event = convert.command_event(user, convert.mod_chat(MOD_CHANNEL, THREAD), 7, "close", "x")
    assert (event.name, event.args, event.chat.thread_id) == ("close", "x", str(THREAD))


async def test_dm_user_is_never_a_moderator(sdk: Recorder) -> None:
    interaction = await sdk.feed("INTERACTION_CREATE", "interaction_dm_press.json")
    assert isinstance(interaction.user, discord.User)
    assert not convert.is_moderator(interaction.user, ROLE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/help", ("menu", "")),
        ("/Human  now please", ("human", "now please")),
        ("/note@kefu internal", ("note", "internal")),
        ("/ not a command", None),
        ("/", None),
        ("hello /human", None),
        ("/路径", None),
    ],
)
def test_parse_command(text: str, expected: tuple[str, str] | None) -> None:
    assert convert.parse_command(text) == expected


def test_help_slash_command_is_the_menu() -> None:
    user = UserRef("discord", "1")
    assert convert.command_event(user, convert.dm_chat(DM), 1, "help").name == "menu"


def test_a_voice_message_or_clip_is_asked_to_be_typed() -> None:
    """Discord's voice messages are audio/ogg attachments: not "isn't an image", but "type it,
    please" (screenshots still welcome)."""
    voice = discord.Attachment(
        data={"id": 1, "filename": "voice-message.ogg", "size": 9000, "content_type": "audio/ogg",
              "url": "https://cdn.discordapp.com/v.ogg", "proxy_url": "https://media/v.ogg"},
        state=SimpleNamespace(http=None),  # type: ignore[arg-type]  # nothing is fetched
    )  # fmt: skip
    assert convert.attachment(voice, MAX).error == "err_not_text"


@pytest.mark.parametrize(
    ("name", "error"),
    [("message_dm_sticker.json", "err_not_text"), ("message_dm_poll.json", "err_not_readable")],
)
async def test_a_sticker_or_a_poll_is_answered_not_dropped(
    sdk: Recorder, name: str, error: str
) -> None:
    """They arrive with no text and no file: an empty message, answered with nothing in a
    ticket. Now marked like a voice message, so the user is told what can be read."""
    message = await sdk.feed("MESSAGE_CREATE", name)
    event = convert.message_event(message, convert.dm_chat(DM), ROLE, MAX)
    assert isinstance(event, TextReceived) and event.text == ""
    assert [a.error for a in event.attachments] == [error]


async def test_an_edited_dm_is_its_new_text_marked_as_an_edit(sdk: Recorder) -> None:
    """discord.py passes the edit of a message it saw; the event has the new text, no files
    (they came with the message) and an id of its own per edit."""
    await sdk.feed("MESSAGE_CREATE", "message_dm.json")
    update = {**payload("message_dm.json"), "content": "我的账号被封了，订单 12346",
              "edited_timestamp": "2025-01-01T00:05:00.000000+00:00"}  # fmt: skip
    before = len(sdk.seen)
    sdk._connection.parsers["MESSAGE_UPDATE"](update)
    await eventually(lambda: len(sdk.seen) > before)
    old, new = sdk.seen[-1]
    assert old.content != new.content
    event = convert.edit_event(new, convert.dm_chat(DM))
    assert event is not None and event.edited and event.attachments == ()
    assert event.text == "我的账号被封了，订单 12346"
    assert event.event_id.startswith("e:940000000000000001:")
    assert (
        convert.edit_event(
            await sdk.feed("MESSAGE_CREATE", "message_dm_command.json"), convert.dm_chat(DM)
        )
        is None
    )  # a command edited in: not an edit
