"""Buttons, modals, slash commands and messages through the real discord.py and the fake."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.discord import DiscordAdapter
from adapters.discord.pending import POINTER
from adapters.discord.router import NOT_HERE, PANEL_POSTED, REFUSED
from bot.actions import Verb, act
from bot.config import Config
from bot.types import (
    Button,
    ButtonPressed,
    ChatKind,
    ChatRef,
    CommandReceived,
    FormSubmitted,
    IncomingEvent,
    ModalField,
    ModalSpec,
    Outgoing,
    Reply,
    TextReceived,
)
from tests.adapters.discord.conftest import RecordingSink, eventually, running
from tests.helpers.fake_discord import FakeDiscord, buttons

DEFERRED_MESSAGE, DEFERRED_UPDATE, MESSAGE, MODAL = 5, 6, 4, 9  # interaction callback types
EPHEMERAL = 64
FORM = ModalSpec(
    "ban-appeal", "Appeal", (ModalField("account_id", "Account id"), ModalField("why", "Why"))
)


def _ack(record: object) -> tuple[int, int]:
    callback = record.callbacks[0]  # type: ignore[attr-defined]
    return callback["type"], (callback.get("data") or {}).get("flags", 0)


async def _panel(adapter: DiscordAdapter, fake: FakeDiscord) -> dict:
    record = await fake.slash(fake.mona, "support-panel", fake.general_id)  # type: ignore[attr-defined]
    await eventually(lambda: record.original and PANEL_POSTED in record.original["content"])
    (panel,) = fake.sent(fake.general_id)
    return panel


async def test_support_panel_is_posted_by_a_moderator_only(
    adapter: DiscordAdapter, fake: FakeDiscord
) -> None:
    refused = await fake.slash(fake.bob, "support-panel", fake.general_id)  # type: ignore[attr-defined]
    await eventually(lambda: refused.callbacks)
    assert _ack(refused) == (MESSAGE, EPHEMERAL)
    assert refused.callbacks[0]["data"]["content"] == REFUSED
    panel = await _panel(adapter, fake)
    assert buttons(panel) == ["Get help / 获取帮助", "Talk to a person / 人工客服"]


async def test_get_help_on_the_panel_is_the_menu_in_the_users_dms(
    adapter: DiscordAdapter, fake: FakeDiscord, sink: RecordingSink
) -> None:
    panel = await _panel(adapter, fake)
    record = await fake.press(fake.alice, panel, "Get help")  # type: ignore[attr-defined]
    event = await sink.next()
    assert _ack(record) == (DEFERRED_MESSAGE, EPHEMERAL)
    assert isinstance(event, ButtonPressed) and event.data == act(Verb.MENU)
    dm_id = str(fake.dm_of[int(fake.alice["id"])])  # type: ignore[attr-defined]
    assert event.chat == ChatRef("discord", dm_id, ChatKind.PRIVATE)
    assert event.message is None  # the panel is not in the user's chat
    await adapter.send(Outgoing(event.chat, Reply("菜单")))
    await eventually(lambda: record.original and record.original["content"].startswith("📬"))
    assert record.original["content"] == POINTER.format(dm=dm_id)
    human = await fake.press(fake.alice, panel, "Talk to a person")  # type: ignore[attr-defined]
    assert isinstance(await sink.next(2), ButtonPressed)
    assert sink.events[1].data == act(Verb.HUMAN)  # type: ignore[union-attr]
    assert human.callbacks


async def test_a_dm_button_is_a_deferred_update(
    adapter: DiscordAdapter, fake: FakeDiscord, sink: RecordingSink
) -> None:
    chat = ChatRef("discord", str(fake.dm_channel(int(fake.alice["id"]))), ChatKind.PRIVATE)  # type: ignore[attr-defined]
    data = act(Verb.ARTICLE, "account-banned", owner="1a2b3c4d")
    (mid,) = (
        await adapter.send(Outgoing(chat, Reply("pick", ((Button("A", data),),))))
    ).message_ids
    record = await fake.press(fake.alice, fake.sent(chat.id)[0], "A")  # type: ignore[attr-defined]
    event = await sink.next()
    assert _ack(record) == (DEFERRED_UPDATE, 0)
    assert isinstance(event, ButtonPressed) and event.data == data
    assert event.message is not None and event.message.id == mid and event.chat == chat


async def test_a_form_button_opens_its_modal_first(
    config: Config, fake: FakeDiscord, sink: RecordingSink
) -> None:
    chat = ChatRef("discord", str(fake.dm_channel(int(fake.alice["id"]))), ChatKind.PRIVATE)  # type: ignore[attr-defined]
    data = act(Verb.FORM, "account/banned", owner="1a2b3c4d")
    reply = Reply("form?", ((Button("Fill in", data, FORM),),))
    fake.locale = "zh-CN"
    async with running(DiscordAdapter(config, guild_ready_timeout=0.01), sink) as adapter:
        await adapter.send(Outgoing(chat, reply))
    # a restart between showing the button and pressing it: the form is remembered
    async with running(DiscordAdapter(config, guild_ready_timeout=0.01), sink):
        message = fake.sent(chat.id)[0]
        opened = await fake.press(fake.alice, message, "Fill in")  # type: ignore[attr-defined]
        await eventually(lambda: opened.callbacks)
        assert _ack(opened) == (MODAL, 0)
        assert opened.callbacks[0]["data"]["custom_id"] == "kefu-form:ban-appeal"
        values = {"account_id": "lumen_42", "why": "误判"}
        custom_id = opened.callbacks[0]["data"]["custom_id"]
        submitted = await fake.submit_modal(fake.alice, custom_id, values, message)  # type: ignore[attr-defined]
        event = await sink.next()
    assert sink.events == [event]  # the press itself is not an event
    assert _ack(submitted) == (DEFERRED_UPDATE, 0)
    assert isinstance(event, FormSubmitted) and event.form_id == "ban-appeal"
    assert event.values == (("account_id", "lumen_42"), ("why", "误判"))
    assert event.chat == chat and event.user.locale == "zh-CN"


async def _ticket_card(adapter: DiscordAdapter, fake: FakeDiscord) -> tuple[ChatRef, dict]:
    mod = adapter.moderation_chat()
    assert mod is not None
    thread_id = await adapter.open_thread(mod, "#12 Account")
    to = ChatRef("discord", mod.id, ChatKind.MODERATION, thread_id)
    claim = (Button("Claim", act(Verb.CLAIM, 12)), Button("Close", act(Verb.MOD_CLOSE, 12)))
    await adapter.send(Outgoing(to, Reply("card", (claim,), title="#12")))
    return to, fake.sent(thread_id)[0]


async def test_a_non_moderator_pressing_claim_is_refused_at_once(
    adapter: DiscordAdapter, fake: FakeDiscord, sink: RecordingSink
) -> None:
    to, card = await _ticket_card(adapter, fake)
    before = len(sink.events)
    record = await fake.press(fake.bob, card, "Claim")  # type: ignore[attr-defined]
    for _ in range(100):  # the interaction callback arrives shortly after the press
        if record.callbacks:
            break
        await asyncio.sleep(0.02)
    assert _ack(record) == (MESSAGE, EPHEMERAL)
    assert record.callbacks[0]["data"]["content"] == REFUSED
    # Refused privately and not passed on: the core would only repeat it in public.
    await asyncio.sleep(0.2)
    assert len(sink.events) == before
    assert int(fake.bob["id"]) not in fake.thread_members[int(to.thread_id)]  # type: ignore[attr-defined]


async def test_a_moderator_pressing_claim_joins_the_thread(
    adapter: DiscordAdapter, fake: FakeDiscord, sink: RecordingSink
) -> None:
    to, card = await _ticket_card(adapter, fake)
    record = await fake.press(fake.mona, card, "Claim")  # type: ignore[attr-defined]
    event = await sink.next()
    assert _ack(record) == (DEFERRED_UPDATE, 0)
    assert isinstance(event, ButtonPressed) and event.user.is_moderator
    assert event.chat == to and event.message is not None
    assert int(fake.mona["id"]) in fake.thread_members[int(to.thread_id)]  # type: ignore[attr-defined]


async def test_moderator_slash_commands_in_a_thread(
    adapter: DiscordAdapter, fake: FakeDiscord, sink: RecordingSink
) -> None:
    to, _ = await _ticket_card(adapter, fake)
    record = await fake.slash(fake.mona, "close", int(to.thread_id), reason="已解决")  # type: ignore[attr-defined]
    event = await sink.next()
    assert isinstance(event, CommandReceived)
    assert (event.name, event.args, event.chat) == ("close", "已解决", to)
    assert _ack(record) == (DEFERRED_MESSAGE, EPHEMERAL)
    await eventually(lambda: record.original_deleted)
    outside = await fake.slash(fake.mona, "note", fake.general_id, text="x")  # type: ignore[attr-defined]
    await eventually(lambda: outside.callbacks)
    assert outside.callbacks[0]["data"]["content"] == NOT_HERE
    assert len(sink.events) == 1


async def test_user_slash_commands_go_to_the_dm_context(
    adapter: DiscordAdapter, fake: FakeDiscord, sink: RecordingSink
) -> None:
    dm_id = fake.dm_channel(int(fake.alice["id"]))  # type: ignore[attr-defined]
    record = await fake.slash(fake.alice, "help", dm_id)  # type: ignore[attr-defined]
    event = await sink.next()
    assert isinstance(event, CommandReceived) and event.name == "menu"
    assert event.chat == ChatRef("discord", str(dm_id), ChatKind.PRIVATE)
    assert _ack(record) == (DEFERRED_MESSAGE, 0)
    await eventually(lambda: record.original_deleted)  # "thinking…" is cleared
    lang = await fake.slash(fake.alice, "lang", fake.general_id, language="en")  # type: ignore[attr-defined]
    event = await sink.next(2)
    assert isinstance(event, CommandReceived) and (event.name, event.args) == ("lang", "en")
    assert event.chat.id == str(dm_id) and _ack(lang) == (DEFERRED_MESSAGE, EPHEMERAL)


async def test_closed_dms_answer_the_pending_interaction_ephemerally(
    adapter: DiscordAdapter, fake: FakeDiscord, sink: RecordingSink
) -> None:
    panel = await _panel(adapter, fake)
    fake.dms_closed.add(int(fake.alice["id"]))  # type: ignore[attr-defined]
    record = await fake.press(fake.alice, panel, "Talk to a person")  # type: ignore[attr-defined]
    event = await sink.next()
    long_text = "排队中。" * 700
    delivered = await adapter.send(Outgoing(event.chat, Reply(long_text), key="k"))
    assert len(delivered.message_ids) == 2
    assert record.original is not None and record.original["content"].startswith("排队中")
    (followup,) = record.followups
    assert followup["flags"] & EPHEMERAL
    assert fake.sent(event.chat.id) == []


async def test_messages_in_dms_and_threads_reach_the_sink(
    adapter: DiscordAdapter, fake: FakeDiscord, sink: RecordingSink
) -> None:
    shot = fake.add_file("shot.png", b"png", "image/png")
    await fake.user_says(fake.alice, "我的账号被封了", [shot])  # type: ignore[attr-defined]
    to, _ = await _ticket_card(adapter, fake)
    await fake.member_says(fake.mona, int(to.thread_id), "/note internal")  # type: ignore[attr-defined]
    await fake.member_says(fake.bob, int(to.thread_id), "me too")  # type: ignore[attr-defined]
    await fake.member_says(fake.bob, fake.general_id, "not for the bot")  # type: ignore[attr-defined]
    await sink.next(3)
    dm_event, note, other = sink.events[:3]
    assert isinstance(dm_event, TextReceived) and dm_event.attachments[0].name == "shot.png"
    assert isinstance(note, CommandReceived) and note.chat == to and note.user.is_moderator
    assert isinstance(other, TextReceived) and not other.user.is_moderator
    await fake.user_says(fake.alice, "again")  # type: ignore[attr-defined]
    last: IncomingEvent = await sink.next(4)
    assert isinstance(last, TextReceived) and last.text == "again"


async def test_the_panel_still_works_after_a_restart(
    config: Config, fake: FakeDiscord, sink: RecordingSink, tmp_path: Path
) -> None:
    async with running(DiscordAdapter(config, guild_ready_timeout=0.01), sink) as adapter:
        panel = await _panel(adapter, fake)
    await fake.disconnect()
    async with running(DiscordAdapter(config, guild_ready_timeout=0.01), sink):
        await fake.press(fake.alice, panel, "Get help")  # type: ignore[attr-defined]
        event = await sink.next()
    assert isinstance(event, ButtonPressed) and event.data == act(Verb.MENU)
