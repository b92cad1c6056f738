"""The adapter through the real python-telegram-bot Application, against the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import pytest

from bot.ports import Rejected, RetryLater, ThreadGone, Unreachable
from bot.types import (
    Attachment,
    Button,
    ButtonPressed,
    ChatKind,
    ChatRef,
    CommandReceived,
    IncomingEvent,
    MessageRef,
    OutFile,
    Outgoing,
    Reply,
    TextReceived,
)
from tests.adapters.telegram.conftest import RecordingSink, adapter_for, running
from tests.helpers.fake_telegram import TOKEN, FakeTelegram, png_bytes

HUMAN = Button("Talk to a person", "kefu:h:1a2b3c4d")


def private(user_id: int) -> ChatRef:
    """A user's private chat."""
    return ChatRef("telegram", str(user_id), ChatKind.PRIVATE)


def topic(fake: FakeTelegram, thread_id: int | str) -> ChatRef:
    """A topic of the moderator group."""
    return ChatRef("telegram", str(fake.moderator_chat_id), ChatKind.MODERATION, str(thread_id))


def offsets(fake: FakeTelegram) -> list[int]:
    """The offset of every getUpdates call so far (0 = none given)."""
    return [int(c.params.get("offset") or 0) for c in fake.calls_to("getUpdates")]


def short_polls(fake: FakeTelegram, since: int = 0) -> int:
    """getUpdates calls (from the `since`-th on) with timeout 0: polls while an album is open."""
    calls = fake.calls_to("getUpdates")[since:]
    return sum(int(c.params.get("timeout") or 0) == 0 for c in calls)


# ----------------------------------------------------------------------------- intake


async def test_events_arrive_with_the_right_kinds(fake: FakeTelegram, sink: RecordingSink) -> None:
    user = fake.user(1001, "Lin", "zh-hans")
    admin = fake.moderator(2001, "Mei")
    thread = fake.create_topic("#1 account Lin")
    async with running(adapter_for(fake), sink) as adapter:
        await adapter.send(Outgoing(private(user.id), Reply("pick", buttons=((HUMAN,),))))
        fake.user_says(user, "/start")
        fake.user_says(user, "封号了")
        fake.presses(user, "Talk to a person")
        fake.mod_says(admin, thread, "hello from the desk")
        events = await sink.wait(4)
    start, text, press, mod = events
    assert isinstance(start, CommandReceived)
    assert (start.name, start.user.locale, start.chat.kind) == ("start", "zh-CN", ChatKind.PRIVATE)
    assert isinstance(text, TextReceived)
    assert text.text == "封号了"
    assert isinstance(press, ButtonPressed)
    assert press.data == "kefu:h:1a2b3c4d"
    assert press.message is not None
    assert isinstance(mod, TextReceived)
    assert mod.chat == topic(fake, thread)
    assert mod.user.is_moderator is True


async def test_offset_advances_only_after_the_sink_returns(
    fake: FakeTelegram, sink: RecordingSink
) -> None:
    """Proved by order: every getUpdates made before the sink returned keeps the offset at
    the update, and the one that passes it comes after."""
    user = fake.user()
    sink.gate = asyncio.Event()
    polls_when_returned: list[int] = []

    async def noting_sink(event: IncomingEvent) -> None:
        await sink(event)
        polls_when_returned.append(len(offsets(fake)))

    async with running(adapter_for(fake), noting_sink):  # type: ignore[arg-type]
        uid = fake.user_says(user, "hi")
        await fake.wait_for(lambda: sink.calls == 1)
        assert fake.pending_updates() == [uid]
        fake.user_says(user, "next")  # wakes any poll; the next poll confirms the first
        sink.gate.set()
        await fake.wait_for(lambda: uid not in fake.pending_updates())
    returned = polls_when_returned[0]
    assert all(offset <= uid for offset in offsets(fake)[:returned]), offsets(fake)
    assert any(offset > uid for offset in offsets(fake)[returned:]), offsets(fake)
    assert [e.event_id for e in sink.events][:1] == [str(uid)]


async def test_a_failing_sink_gets_the_update_again(
    fake: FakeTelegram, sink: RecordingSink
) -> None:
    user = fake.user()
    sink.fail = 1
    async with running(adapter_for(fake), sink):
        uid = fake.user_says(user, "hi")
        (event,) = await sink.wait(1)
    assert event.event_id == str(uid)
    assert sink.calls == 2


async def test_album_is_debounced_into_one_event_and_not_confirmed_early(
    fake: FakeTelegram, sink: RecordingSink
) -> None:
    user = fake.user()
    images = [png_bytes(2, 2, (i * 40, 0, 0)) for i in range(3)]
    async with running(adapter_for(fake), sink) as adapter:
        ids = fake.user_sends_album(user, images, caption="three screenshots")
        fake.user_says(user, "and some text")
        album, text = await sink.wait(2)
        fetched = [await adapter.fetch_attachment(a, 1000) for a in album.attachments]
    assert isinstance(album, TextReceived)
    assert album.event_id == str(ids[0])
    assert album.text == "three screenshots"
    assert len(album.attachments) == 3
    assert fetched == images
    assert isinstance(text, TextReceived)
    assert text.text == "and some text"
    assert sink.calls == 2


async def test_offset_never_passes_an_album_still_collecting(
    fake: FakeTelegram, sink: RecordingSink
) -> None:
    """The album's quiet period never ends by itself here: the parts are collected until the
    user's next message hands them over, so "still collecting" is a state, not a moment."""
    user = fake.user()
    adapter = adapter_for(fake)
    adapter._album_delay = 3600
    async with running(adapter, sink):
        ids = fake.user_sends_album(user, [png_bytes(), png_bytes()])
        first = len(offsets(fake))
        # The positive signal that the parts were received: while an album is open the poller
        # short-polls (timeout 0), and the second short poll gets the same parts back unconfirmed.
        await fake.wait_for(lambda: short_polls(fake, first) >= 2)
        assert sink.calls == 0
        assert all(offset <= ids[0] for offset in offsets(fake))
        assert fake.pending_updates() == ids
        uid = fake.user_says(user, "that is all")  # a later message flushes the album first
        album, text = await sink.wait(2)
        await fake.wait_for(lambda: fake.pending_updates() == [])
    assert album.event_id == str(ids[0]) and len(getattr(album, "attachments", ())) == 2
    assert text.event_id == str(uid)


async def test_album_whose_sink_fails_comes_back_whole(
    fake: FakeTelegram, sink: RecordingSink
) -> None:
    user = fake.user()
    sink.fail = 1
    async with running(adapter_for(fake), sink):
        ids = fake.user_sends_album(user, [png_bytes(), png_bytes(), png_bytes()])
        (album,) = await sink.wait(1)
    assert album.event_id == str(ids[0])
    assert len(getattr(album, "attachments", ())) == 3


async def test_callback_query_is_answered_before_the_sink_runs(
    fake: FakeTelegram, sink: RecordingSink
) -> None:
    user = fake.user()
    sink.gate = asyncio.Event()
    async with running(adapter_for(fake), sink) as adapter:
        await adapter.send(Outgoing(private(user.id), Reply("pick", buttons=((HUMAN,),))))
        query_id = fake.presses(user, "Talk to a person")
        await fake.wait_for(lambda: sink.calls == 1)
        assert fake.callbacks[query_id]["answered"] is True
        sink.gate.set()
        await sink.wait(1)


async def test_non_admin_in_the_group_is_no_moderator(
    fake: FakeTelegram, sink: RecordingSink
) -> None:
    admin = fake.moderator(2001, "Mei")
    member = fake.moderator(2002, "Bob", admin=False)
    thread = fake.create_topic("#1")
    async with running(adapter_for(fake), sink):
        fake.mod_says(member, thread, "/claim")
        fake.mod_says(admin, thread, "/claim")
        fake.mod_says(member, thread, "/note hi")
        bob, mei, bob2 = await sink.wait(3)
    assert (bob.user.is_moderator, mei.user.is_moderator, bob2.user.is_moderator) == (
        False,
        True,
        False,
    )
    assert len(fake.calls_to("getChatAdministrators")) == 1  # cached


async def test_admins_only_false_admits_every_member(
    fake: FakeTelegram, sink: RecordingSink
) -> None:
    member = fake.moderator(2002, "Bob", admin=False)
    thread = fake.create_topic("#1")
    async with running(adapter_for(fake, admins_only=False), sink):
        fake.mod_says(member, thread, "/claim")
        (event,) = await sink.wait(1)
    assert event.user.is_moderator is True


async def test_service_and_general_topic_chatter_are_ignored(
    fake: FakeTelegram, sink: RecordingSink
) -> None:
    admin = fake.moderator()
    user = fake.user()
    thread = fake.create_topic("#1")
    async with running(adapter_for(fake), sink):
        fake.service_message(admin, thread)
        fake.mod_says(admin, None, "coffee?")
        fake.user_sends_sticker(user)
        (event,) = await sink.wait(1)
        await fake.wait_for(lambda: not fake.pending_updates())
    assert isinstance(event, TextReceived)
    assert event.attachments[0].error == "err_not_text"


async def test_a_group_that_is_not_the_moderator_group_is_ignored_and_its_id_logged_once(
    fake: FakeTelegram, sink: RecordingSink, caplog: pytest.LogCaptureFixture
) -> None:
    """Setting up, the bot is added to the moderators' new group before the config names it:
    the log says which id to put in `moderator_chat_id` (once), and nothing else happens."""
    other = fake.group(-1009876543210, "Our support team")
    user = fake.user()
    caplog.set_level(logging.WARNING, logger="adapters.telegram.adapter")
    async with running(adapter_for(fake), sink):
        fake.user_says(user, "hello bot", chat_id=other)
        fake.user_says(user, "/start", chat_id=other)
        fake.user_says(user, "hi")  # a private message: handled
        (event,) = await sink.wait(1)
        await fake.wait_for(lambda: not fake.pending_updates())
    assert isinstance(event, TextReceived) and event.chat.kind is ChatKind.PRIVATE
    named = [r.getMessage() for r in caplog.records if "-1009876543210" in r.getMessage()]
    assert len(named) == 1
    assert "'Our support team'" in named[0]
    assert "moderator_chat_id = -1009876543210" in named[0]


async def test_a_moderator_group_set_up_wrong_is_said_at_start(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    """Topics off and the bot a plain member: every page would fail ("the chat is not a
    forum") while users hear a person will answer. The log says what to change, once at
    start; a group set up right says nothing."""
    caplog.set_level(logging.ERROR, logger="adapters.telegram.groups")
    async with adapter_for(fake):
        pass
    assert not caplog.records
    group = fake.chats[fake.moderator_chat_id]
    group.forum = False
    group.members[fake.bot_id] = "member"
    async with adapter_for(fake):
        pass
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "turn on Topics" in said and "'Manage topics'" in said
    assert str(fake.moderator_chat_id) in said


async def test_commands_are_registered_in_zh_and_en(fake: FakeTelegram) -> None:
    async with adapter_for(fake):
        pass
    languages = sorted(lang for _, lang in fake.commands)
    assert languages == ["", "", "zh", "zh"]
    private_en = next(v for (scope, lang), v in fake.commands.items() if "private" in scope)
    assert "human" in {c["command"] for c in private_en}
    assert fake.calls_to("deleteWebhook")


# ----------------------------------------------------------------------------- delivery


async def test_send_splits_long_text_with_buttons_on_the_last(fake: FakeTelegram) -> None:
    user = fake.user()
    text = "\n\n".join(["段落" * 900] * 5)
    async with adapter_for(fake) as adapter:
        out = Outgoing(private(user.id), Reply(text, buttons=((HUMAN,),)), key="k1")
        delivered = await adapter.send(out)
    sent = fake.inbox(user.id)
    assert len(sent) == len(delivered.message_ids) == 3
    assert [bool(s.buttons) for s in sent] == [False, False, True]
    assert "".join(fake.texts(user.id)).replace("\n", "") == text.replace("\n", "")


async def test_send_uploads_photos_with_identical_bytes(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    user = fake.user()
    images = [png_bytes(3, 3, (i, i, i)) for i in range(3)]
    files = []
    for i, data in enumerate(images):
        path = tmp_path / f"s{i}.png"
        path.write_bytes(data)
        files.append(OutFile(str(path), path.name, "image/png"))
    async with adapter_for(fake) as adapter:
        card = Reply("Ticket #1", files=tuple(files), buttons=((HUMAN,),))
        delivered = await adapter.send(Outgoing(private(user.id), card))
        one = Reply("just one", files=(files[0],))
        await adapter.send(Outgoing(private(user.id), one))
    assert fake.photos(user.id) == [*images, images[0]]
    methods = [s.method for s in fake.inbox(user.id)]
    assert methods == ["sendMediaGroup"] * 3 + ["sendMessage", "sendPhoto"]
    assert len(delivered.message_ids) == 4
    assert fake.inbox(user.id)[-1].text == "just one"


@pytest.mark.parametrize(
    ("kind", "retry_after", "maybe"),
    [("429", 3.0, False), ("502", None, False), ("500", None, False), ("drop", None, True)],
)
async def test_passing_failures_raise_retry_later(
    fake: FakeTelegram, kind: str, retry_after: float | None, maybe: bool
) -> None:
    user = fake.user()
    fake.fail("sendMessage", kind, retry_after=3)
    async with adapter_for(fake) as adapter:
        out = Outgoing(private(user.id), Reply("hello"), key="k")
        with pytest.raises(RetryLater) as caught:
            await adapter.send(out)
        await adapter.send(out)
    assert caught.value.retry_after == retry_after
    assert caught.value.maybe_delivered is maybe
    assert fake.texts(user.id) == ["hello"]


async def test_429_passes_through_the_rate_limiter(fake: FakeTelegram) -> None:
    user = fake.user()
    fake.fail("sendMessage", "429", retry_after=7)
    async with adapter_for(fake, rate_limit=True) as adapter:
        with pytest.raises(RetryLater) as caught:
            await adapter.send(Outgoing(private(user.id), Reply("hello")))
    assert caught.value.retry_after == 7.0


async def test_a_reply_acted_on_before_the_connection_dropped_is_maybe_delivered(
    fake: FakeTelegram,
) -> None:
    user = fake.user()
    fake.fail("sendMessage", "drop_after")
    async with adapter_for(fake) as adapter:
        with pytest.raises(RetryLater) as caught:
            await adapter.send(Outgoing(private(user.id), Reply("hello")))
    assert caught.value.maybe_delivered is True
    assert fake.texts(user.id) == ["hello"]


async def test_a_retried_multi_part_reply_does_not_repeat_parts(fake: FakeTelegram) -> None:
    user = fake.user()
    text = "\n\n".join(["x" * 3000] * 3)
    out = Outgoing(private(user.id), Reply(text), key="page-7")
    fake.fail("sendMessage", "429", after=1)  # part 1 goes out, part 2 hits flood control
    async with adapter_for(fake) as adapter:
        with pytest.raises(RetryLater):
            await adapter.send(out)
        delivered = await adapter.send(out)
    assert len(delivered.message_ids) == 3
    assert [len(t) for t in fake.texts(user.id)] == [3000, 3000, 3000]


async def test_blocked_user_and_unknown_chat_are_unreachable(fake: FakeTelegram) -> None:
    user = fake.user()
    fake.block(user)
    async with adapter_for(fake) as adapter:
        with pytest.raises(Unreachable):
            await adapter.send(Outgoing(private(user.id), Reply("hello")))
        with pytest.raises(Unreachable):
            await adapter.send(Outgoing(private(424242), Reply("hello")))


async def test_deleted_topic_raises_thread_gone(fake: FakeTelegram) -> None:
    async with adapter_for(fake) as adapter:
        chat = adapter.moderation_chat()
        assert chat is not None
        thread = await adapter.open_thread(chat, "#12 account/banned 小林\n" + "x" * 200)
        name = fake.topics()[int(thread)]
        await adapter.send(Outgoing(topic(fake, thread), Reply("card")))
        fake.delete_topic(thread)
        with pytest.raises(ThreadGone):
            await adapter.send(Outgoing(topic(fake, thread), Reply("relay")))
    assert len(name) == 128
    assert name.startswith("#12 account/banned 小林 x")
    assert fake.texts(fake.moderator_chat_id, thread) == ["card"]


async def test_other_bad_requests_are_rejected(fake: FakeTelegram) -> None:
    user = fake.user()
    fake.fail("sendMessage", "400", description="Bad Request: can't parse entities")
    async with adapter_for(fake) as adapter:
        with pytest.raises(Rejected):
            await adapter.send(Outgoing(private(user.id), Reply("x")))
        too_long = Reply("x", buttons=((Button("b", "k" * 65),),))
        with pytest.raises(Rejected):
            await adapter.send(Outgoing(private(user.id), too_long))


async def test_edit_changes_text_and_buttons_and_tolerates_no_change(fake: FakeTelegram) -> None:
    user = fake.user()
    async with adapter_for(fake) as adapter:
        chat = private(user.id)
        (mid,) = (
            await adapter.send(Outgoing(chat, Reply("Ticket #1", buttons=((HUMAN,),))))
        ).message_ids
        ref = MessageRef(chat, mid)
        await adapter.send(Outgoing(chat, Reply("Ticket #1 · claimed", edit=ref)))
        again = await adapter.send(Outgoing(chat, Reply("Ticket #1 · claimed", edit=ref)))
    (sent,) = fake.inbox(user.id)
    assert (sent.text, sent.buttons, sent.edits) == ("Ticket #1 · claimed", [], 1)
    assert again.message_ids == (mid,)


async def test_edit_of_a_captioned_photo_edits_the_caption(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    user = fake.user()
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes())
    async with adapter_for(fake) as adapter:
        chat = private(user.id)
        photo = Reply("Ticket #2", files=(OutFile(str(path), "a.png", "image/png"),))
        (mid,) = (await adapter.send(Outgoing(chat, photo))).message_ids
        await adapter.send(Outgoing(chat, Reply("Ticket #2 · closed", edit=MessageRef(chat, mid))))
    assert fake.inbox(user.id)[0].text == "Ticket #2 · closed"


async def test_fetch_attachment_refuses_files_over_the_limit(
    fake: FakeTelegram, sink: RecordingSink
) -> None:
    user = fake.user()
    data = png_bytes(40, 40)
    async with running(adapter_for(fake), sink) as adapter:
        fake.user_sends_photo(user, data)
        (event,) = await sink.wait(1)
        (attachment,) = event.attachments  # type: ignore[union-attr]
        assert await adapter.fetch_attachment(attachment, 1_000_000) == data
        with pytest.raises(ValueError, match="limit"):
            await adapter.fetch_attachment(attachment, 10)
        with pytest.raises(ValueError, match="limit"):
            await adapter.fetch_attachment(Attachment("x", size=10**9), 1000)
        # A file Telegram will not serve is not "too large": the user is asked to send it again.
        with pytest.raises(Rejected, match="not available"):
            await adapter.fetch_attachment(Attachment("no-such-file"), 1000)


async def test_the_token_never_reaches_the_logs(
    fake: FakeTelegram, sink: RecordingSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = fake.user()
    async with running(adapter_for(fake), sink) as adapter:
        fake.user_says(user, "hi")
        await sink.wait(1)
        await adapter.send(Outgoing(private(user.id), Reply("hello")))
    assert caplog.records
    assert TOKEN not in caplog.text
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


async def test_one_persons_burst_does_not_hold_up_anyone_else(
    fake: FakeTelegram, sink: RecordingSink
) -> None:
    """Proved by order, not timing: the other person's message is handled before the burst's end.

    Both arrive in one getUpdates batch, the burst first; each of the burst's messages takes a
    moment in the core. Lanes per chat and person let the second person through at once.
    """
    noisy, other = fake.user(1001, "Noisy"), fake.user(1002, "Other")

    async def slow_sink(event: IncomingEvent) -> None:
        if event.user.id == str(noisy.id):
            await asyncio.sleep(0.01)
        await sink(event)

    for n in range(30):
        fake.user_says(noisy, f"spam {n}")
    fake.user_says(other, "my parcel is late")
    adapter = adapter_for(fake)
    async with adapter:
        task = asyncio.create_task(adapter.run(slow_sink))
        try:
            await sink.wait(31, within=10)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    order = [e.user.id for e in sink.events]
    assert order.index(str(other.id)) < 5, order
    noisy_texts = [getattr(e, "text", "") for e in sink.events if e.user.id == str(noisy.id)]
    assert noisy_texts == [f"spam {n}" for n in range(30)]  # a person's own order holds


async def test_a_note_that_closes_its_topic_closes_it_once(fake: FakeTelegram) -> None:
    """A moved ticket's old topic: the note arrives, then the topic is closed."""
    async with adapter_for(fake) as adapter:
        chat = adapter.moderation_chat()
        assert chat is not None
        thread = await adapter.open_thread(chat, "#12 moved")
        note = Reply("#12 moved to account: it goes on there.", close_thread=True)
        await adapter.send(Outgoing(topic(fake, thread), note))
        await adapter.send(Outgoing(topic(fake, thread), note))  # again: already closed, fine
    group = fake.chats[fake.moderator_chat_id]
    assert int(thread) in group.closed_topics
    assert fake.texts(fake.moderator_chat_id, thread) == [note.text, note.text]


async def test_a_check_that_cannot_be_read_does_not_stop_the_adapter(
    fake: FakeTelegram, sink: RecordingSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API (or a proxy) whose getChat answer PTB cannot parse: the start-up check is
    advice, so the adapter still starts and serves."""

    async def unreadable(p: dict[str, object], f: dict[str, bytes]) -> object:
        return {"id": fake.moderator_chat_id}  # no type, no accent_color_id: PTB raises

    monkeypatch.setitem(fake._handlers, "getchat", unreadable)
    user = fake.user()
    async with running(adapter_for(fake), sink):
        fake.user_says(user, "hi")
        (event,) = await sink.wait(1)
    assert isinstance(event, TextReceived)
