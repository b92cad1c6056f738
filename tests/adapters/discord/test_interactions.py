"""Buttons, modals, slash commands and messages through the real discord.py and the fake."""

from __future__ import annotations

from pathlib import Path

from adapters.discord import DiscordAdapter
from adapters.discord.pending import POINTER
from bot.actions import Verb, act
from bot.config import Config
from bot.texts import Texts
from bot.types import (
    Button,
    ButtonPressed,
    ChatKind,
    ChatRef,
    CommandReceived,
    FormSubmitted,
    IncomingEvent,
    Look,
    ModalField,
    ModalSpec,
    Outgoing,
    Reply,
    TextReceived,
)
from tests.adapters.discord.conftest import (
    RecordingSink,
    eventually,
    running,
    upload_field,
)
from tests.helpers.fake_discord import FakeDiscord, buttons, options

DEFERRED_MESSAGE, DEFERRED_UPDATE, MESSAGE, MODAL = 5, 6, 4, 9  # interaction callback types
EPHEMERAL = 64
FORM = ModalSpec(
    "ban-appeal", "Appeal", (ModalField("account_id", "Account id"), ModalField("why", "Why"))
)

TEXTS = Texts()
REFUSED = TEXTS.both("mod_only")  # what a stranger is told, privately, at once
NOT_HERE = TEXTS.both("not_in_ticket")
PANEL_POSTED = TEXTS.both("panel_posted")


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


async def only_the_later_event(
    fake: FakeDiscord, user: dict, where: ChatRef, sink: RecordingSink, before: list
) -> None:
    """The positive signal that an earlier, refused interaction of `user` reached nothing: the
    user writes in the thread afterwards, and once that message is in the sink it is the only
    event since `before` (one person's events reach the core in order, one at a time)."""
    await fake.member_says(user, int(where.thread_id), "after the refusal")
    await eventually(
        lambda: any(getattr(e, "text", "") == "after the refusal" for e in sink.events)
    )
    assert [getattr(e, "text", e) for e in sink.events[len(before) :]] == ["after the refusal"]
    assert sink.events[: len(before)] == before


async def test_a_non_moderator_pressing_claim_is_refused_at_once(
    adapter: DiscordAdapter, fake: FakeDiscord, sink: RecordingSink
) -> None:
    to, card = await _ticket_card(adapter, fake)
    before = list(sink.events)
    record = await fake.press(fake.bob, card, "Claim")  # type: ignore[attr-defined]
    await eventually(lambda: record.callbacks)
    assert _ack(record) == (MESSAGE, EPHEMERAL)
    assert record.callbacks[0]["data"]["content"] == REFUSED
    # Refused privately and not passed on: the core would only repeat it in public. Proved by
    # order: bob's next event, handed over after the press, is the only one since.
    await only_the_later_event(fake, fake.bob, to, sink, before)  # type: ignore[attr-defined]
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


# -- select menus -------------------------------------------------------------------------------

OWNER = "1a2b3c4d"


def _long_menu() -> Reply:
    topics = tuple(
        (Button(f"Topic {i}", act(Verb.MENU, f"t{i}", owner=OWNER), look=Look.TOPIC),)
        for i in range(8)
    )
    human = (Button("Talk to a person", act(Verb.HUMAN, owner=OWNER), look=Look.PRIMARY),)
    return Reply("pick a topic", (*topics, human))


def _alice_dm(fake: FakeDiscord) -> ChatRef:
    return ChatRef("discord", str(fake.dm_channel(int(fake.alice["id"]))), ChatKind.PRIVATE)  # type: ignore[attr-defined]


async def test_choosing_an_option_is_pressing_its_button(
    adapter: DiscordAdapter, fake: FakeDiscord, sink: RecordingSink
) -> None:
    chat = _alice_dm(fake)
    (mid,) = (await adapter.send(Outgoing(chat, _long_menu()))).message_ids
    menu = fake.sent(chat.id)[0]
    assert options(menu) == [f"Topic {i}" for i in range(8)]
    assert buttons(menu) == ["Talk to a person"]  # a person stays one tap away
    record = await fake.choose(fake.alice, menu, "Topic 6")  # type: ignore[attr-defined]
    event = await sink.next()
    assert _ack(record) == (DEFERRED_UPDATE, 0)
    assert isinstance(event, ButtonPressed) and event.data == act(Verb.MENU, "t6", owner=OWNER)
    assert event.message is not None and event.message.id == mid and event.chat == chat
    assert event.event_id == f"i:{record.id}"


async def test_a_select_still_works_after_a_restart(
    config: Config, fake: FakeDiscord, sink: RecordingSink
) -> None:
    chat = _alice_dm(fake)
    async with running(DiscordAdapter(config, guild_ready_timeout=0.01), sink) as adapter:
        await adapter.send(Outgoing(chat, _long_menu()))
    await fake.disconnect()
    async with running(DiscordAdapter(config, guild_ready_timeout=0.01), sink):
        await fake.choose(fake.alice, fake.sent(chat.id)[0], "Topic 2")  # type: ignore[attr-defined]
        event = await sink.next()
    assert isinstance(event, ButtonPressed) and event.data == act(Verb.MENU, "t2", owner=OWNER)


async def test_a_value_the_menu_did_not_offer_is_a_stale_press(
    adapter: DiscordAdapter, fake: FakeDiscord, sink: RecordingSink
) -> None:
    chat = _alice_dm(fake)
    await adapter.send(Outgoing(chat, _long_menu()))
    menu = fake.sent(chat.id)[0]
    offered = act(Verb.MENU, "t1", owner=OWNER)
    for values in ([act(Verb.MENU, "secret", owner=OWNER)], [offered, offered], []):
        record = await fake.select(fake.alice, menu, "kfs:0", values)  # type: ignore[attr-defined]
        event = await sink.next(len(sink.events) + 1)
        assert (
            isinstance(event, ButtonPressed) and event.data == ""
        )  # the core: "no longer active"
        assert _ack(record) == (DEFERRED_UPDATE, 0)


async def test_a_moderator_action_forged_into_a_menu_is_refused_at_once(
    adapter: DiscordAdapter, fake: FakeDiscord, sink: RecordingSink
) -> None:
    to, card = await _ticket_card(adapter, fake)
    forged = dict(card)
    option = {"label": "close", "value": act(Verb.MOD_CLOSE, 12)}
    select = {"type": 3, "custom_id": "kfs:0", "options": [option]}
    forged["components"] = [{"type": 1, "components": [select]}]
    before = list(sink.events)
    record = await fake.choose(fake.bob, forged, "close")  # type: ignore[attr-defined]
    await eventually(lambda: record.callbacks)
    assert _ack(record) == (MESSAGE, EPHEMERAL)
    assert record.callbacks[0]["data"]["content"] == REFUSED
    await only_the_later_event(fake, fake.bob, to, sink, before)  # type: ignore[attr-defined]


# -- screenshots inside the modal -------------------------------------------------------------

UPLOAD_FORM = ModalSpec(
    "order-problem",
    "Order problem",
    (ModalField("order_no", "Order number"), upload_field("screenshots", "Screenshots")),
)


async def _submit_with_a_screenshot(
    adapter: DiscordAdapter, fake: FakeDiscord, shot: bytes
) -> tuple[object, object]:
    chat = _alice_dm(fake)
    data = act(Verb.FORM, "commerce/orders", owner=OWNER)
    await adapter.send(Outgoing(chat, Reply("form?", ((Button("Fill in", data, UPLOAD_FORM),),))))
    message = fake.sent(chat.id)[0]
    opened = await fake.press(fake.alice, message, "Fill in")  # type: ignore[attr-defined]
    await eventually(lambda: opened.callbacks)
    attached = fake.add_file("order.png", shot, "image/png")
    files = {"screenshots": [attached]}
    values = {"order_no": "P2025"}
    custom_id = opened.callbacks[0]["data"]["custom_id"]
    submitted = await fake.submit_modal(fake.alice, custom_id, values, message, files)  # type: ignore[attr-defined]
    return opened, submitted


async def test_the_modal_carries_a_file_upload_and_its_answers_come_back(
    adapter: DiscordAdapter, fake: FakeDiscord, sink: RecordingSink
) -> None:
    opened, submitted = await _submit_with_a_screenshot(adapter, fake, b"png")
    event = await sink.next()
    assert _ack(opened) == (MODAL, 0)  # the fake checked it: Discord would show this modal
    upload = opened.callbacks[0]["data"]["components"][1]  # type: ignore[attr-defined]
    assert upload["type"] == 18 and upload["label"] == "Screenshots"
    assert upload["component"] == {
        "type": 19,
        "custom_id": "screenshots",
        "min_values": 0,
        "max_values": 5,
        "required": False,
    }
    assert _ack(submitted) == (DEFERRED_UPDATE, 0)
    assert isinstance(event, FormSubmitted) and event.form_id == "order-problem"
    assert event.values == (("order_no", "P2025"), ("screenshots", ""))


async def test_files_uploaded_in_the_modal_reach_the_core_as_attachments(
    adapter: DiscordAdapter, fake: FakeDiscord, sink: RecordingSink
) -> None:
    await _submit_with_a_screenshot(adapter, fake, b"\x89PNG-bytes")
    event = await sink.next()
    (shot,) = event.attachments  # type: ignore[union-attr]
    assert (shot.name, shot.mime, shot.size, shot.error) == ("order.png", "image/png", 10, "")
    assert await adapter.fetch_attachment(shot, 1024) == b"\x89PNG-bytes"
