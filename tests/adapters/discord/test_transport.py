"""The adapter's lifecycle and send() against the fake Discord, on the real discord.py."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from types import SimpleNamespace

import discord
import pytest

from adapters.discord import DiscordAdapter, DiscordStartError, create
from adapters.discord.delivery import nonce, translate
from bot.config import Config
from bot.ports import Rejected, RetryLater, ThreadGone, Unreachable
from bot.texts import Texts
from bot.types import Attachment, ChatKind, ChatRef, MessageRef, OutFile, Outgoing, Reply
from tests.adapters.discord.conftest import RecordingSink, running
from tests.helpers.fake_discord import FakeDiscord

MESSAGE_CONTENT = 1 << 15  # Discord: the privileged message-content intent bit


def dm(fake: FakeDiscord, user: dict[str, str]) -> ChatRef:
    """The DM chat of a fake user."""
    return ChatRef("discord", str(fake.dm_channel(int(user["id"]))), ChatKind.PRIVATE)


def test_the_patch_points_still_exist() -> None:
    """The fake relies on these two attributes; a discord.py upgrade must keep them."""
    assert isinstance(discord.http.Route.BASE, str)
    assert discord.http.Route.BASE.startswith("https://discord.com/api/v")
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY).startswith("wss://")
    old = discord.http.Route.BASE
    try:
        discord.http.Route.BASE = "http://127.0.0.1:1/api/v10"
        assert discord.http.Route("GET", "/users/@me").url.startswith("http://127.0.0.1:1/")
    finally:
        discord.http.Route.BASE = old


def test_create_reads_the_discord_section(config: Config) -> None:
    adapter = create(config, Texts())
    assert adapter.platform == "discord"
    chat = adapter.moderation_chat()
    assert chat is not None and chat.kind is ChatKind.MODERATION
    assert chat.id == config.discord.moderator_channel_id


def test_kefu_run_creates_the_enabled_adapter(config: Config) -> None:
    from bot.app import platform_adapters

    (adapter,) = platform_adapters(config)
    assert isinstance(adapter, DiscordAdapter)


async def test_identify_asks_for_message_content(
    adapter: DiscordAdapter, fake: FakeDiscord
) -> None:
    assert fake.identified[0]["intents"] & MESSAGE_CONTENT
    assert "fake-token" not in repr(fake.identified[0].get("properties"))


async def test_slash_commands_are_synced_only_when_changed(
    config: Config, fake: FakeDiscord, sink: RecordingSink
) -> None:
    async with running(DiscordAdapter(config, guild_ready_timeout=0.01), sink):
        pass
    puts = [p for m, p in fake.requests if m == "PUT" and p.endswith("/commands")]
    assert len(puts) == 2  # global (user commands) and the guild (moderator commands)
    assert {c["name"] for c in fake.commands["global"]} >= {"help", "human", "status", "lang"}
    assert {c["name"] for c in fake.commands[str(fake.guild_id)]} >= {"claim", "support-panel"}
    async with running(DiscordAdapter(config, guild_ready_timeout=0.01), sink):
        pass
    assert len([p for m, p in fake.requests if m == "PUT" and p.endswith("/commands")]) == 2


async def test_missing_message_content_intent_fails_clearly(
    config: Config, fake: FakeDiscord, sink: RecordingSink
) -> None:
    fake.identify_close_code = 4014
    adapter = DiscordAdapter(config, guild_ready_timeout=0.01)
    async with adapter:
        with pytest.raises(DiscordStartError, match="Message Content Intent"):
            await adapter.run(sink)


async def test_a_moderator_channel_set_up_wrong_is_said_once_connected(
    config: Config,
    sink: RecordingSink,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A channel id the bot cannot see: every page would fail while users hear a person will
    answer. The log says what to check; the right channel says nothing."""
    caplog.set_level(logging.ERROR, logger="adapters.discord.channels")
    async with running(DiscordAdapter(config, guild_ready_timeout=0.05), sink):
        pass
    assert not caplog.records
    wrong = dataclasses.replace(config.discord, moderator_channel_id="900000000000000999")
    moved = dataclasses.replace(config, discord=wrong)
    async with running(DiscordAdapter(moved, guild_ready_timeout=0.05), sink):
        pass
    (said,) = [r.getMessage() for r in caplog.records]
    assert "900000000000000999" in said and "cannot see it" in said
    caplog.clear()
    only_talk = discord.Permissions(view_channel=True, send_messages=True)
    monkeypatch.setattr(discord.TextChannel, "permissions_for", lambda _c, _m: only_talk)
    async with running(DiscordAdapter(config, guild_ready_timeout=0.05), sink):
        pass
    (said,) = [r.getMessage() for r in caplog.records]
    assert "may not create private threads, send messages in threads, manage threads" in said


async def test_missing_token_fails_clearly(
    config: Config, sink: RecordingSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(config.discord.token_env)
    async with DiscordAdapter(config) as adapter:
        with pytest.raises(DiscordStartError, match=config.discord.token_env):
            await adapter.run(sink)


async def test_dm_is_split_and_a_retry_is_not_shown_twice(
    adapter: DiscordAdapter, fake: FakeDiscord
) -> None:
    out = Outgoing(dm(fake, fake.alice), Reply("段落。" * 1500), key="outbox:41")  # type: ignore[attr-defined]
    first = await adapter.send(out)
    again = await adapter.send(out)
    assert first == again and len(first.message_ids) == 3
    sent = fake.sent(out.to.id)
    assert len(sent) == 3 and all(len(m["content"]) <= 2000 for m in sent)
    assert [m["nonce"] for m in sent] == [nonce("outbox:41", i) for i in range(3)]


async def test_a_user_id_gets_a_dm_channel(adapter: DiscordAdapter, fake: FakeDiscord) -> None:
    user_chat = ChatRef("discord", fake.alice["id"], ChatKind.PRIVATE)  # type: ignore[attr-defined]
    await adapter.send(Outgoing(user_chat, Reply("hi")))
    assert [m["content"] for m in fake.sent(fake.dm_channel(int(user_chat.id)))] == ["hi"]


async def test_files_are_uploaded_with_the_same_bytes(
    adapter: DiscordAdapter, fake: FakeDiscord, tmp_path: Path
) -> None:
    path = tmp_path / "shot.png"
    path.write_bytes(b"\x89PNG fake screenshot bytes")
    reply = Reply("see", files=(OutFile(str(path), "shot.png", "image/png"),))
    await adapter.send(Outgoing(dm(fake, fake.alice), reply, key="k"))  # type: ignore[attr-defined]
    (message,) = fake.sent(fake.dm_channel(int(fake.alice["id"])))  # type: ignore[attr-defined]
    assert message["content"] == "see"
    assert fake.fetch(message["attachments"][0]["url"]) == path.read_bytes()


async def test_a_file_above_the_upload_limit_is_rejected(
    adapter: DiscordAdapter, fake: FakeDiscord, tmp_path: Path
) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(b"0" * (10 * 1024 * 1024 + 1))
    reply = Reply("big", files=(OutFile(str(path), "big.png", "image/png"),))
    thread = fake.new_thread(fake.mod_channel_id, "t", 12)
    to = ChatRef("discord", str(fake.mod_channel_id), ChatKind.MODERATION, thread["id"])
    with pytest.raises(Rejected, match="upload limit"):
        await adapter.send(Outgoing(to, reply))
    assert fake.sent(thread["id"]) == []


async def test_a_429_is_retried_by_discord_py(adapter: DiscordAdapter, fake: FakeDiscord) -> None:
    chat = dm(fake, fake.alice)  # type: ignore[attr-defined]
    fake.fail("POST", rf"/channels/{chat.id}/messages", "429", times=2, retry_after=0.05)
    await adapter.send(Outgoing(chat, Reply("after the rate limit"), key="k429"))
    assert [m["content"] for m in fake.sent(chat.id)] == ["after the rate limit"]
    assert fake.requests.count(("POST", f"/channels/{chat.id}/messages")) == 3


async def test_closed_dms_without_an_interaction_are_unreachable(
    adapter: DiscordAdapter, fake: FakeDiscord
) -> None:
    fake.dms_closed.add(int(fake.alice["id"]))  # type: ignore[attr-defined]
    with pytest.raises(Unreachable, match="50007"):
        await adapter.send(Outgoing(dm(fake, fake.alice), Reply("hello")))  # type: ignore[attr-defined]


async def test_a_deleted_thread_is_reported_gone(
    adapter: DiscordAdapter, fake: FakeDiscord
) -> None:
    thread_id = await adapter.open_thread(adapter.moderation_chat(), "#9 gone")  # type: ignore[arg-type]
    fake.delete_thread(int(thread_id))
    to = ChatRef("discord", str(fake.mod_channel_id), ChatKind.MODERATION, thread_id)
    with pytest.raises(ThreadGone):
        await adapter.send(Outgoing(to, Reply("card")))


async def test_ticket_thread_is_private_and_its_card_pings_the_role(
    adapter: DiscordAdapter, fake: FakeDiscord
) -> None:
    title = "#12 账号被封禁/限制 · " + "很长的标题" * 30
    thread_id = await adapter.open_thread(adapter.moderation_chat(), title)  # type: ignore[arg-type]
    (thread,) = fake.threads()
    assert thread["id"] == thread_id and thread["type"] == 12
    assert len(thread["name"]) == 100 and thread["parent_id"] == str(fake.mod_channel_id)
    to = ChatRef("discord", str(fake.mod_channel_id), ChatKind.MODERATION, thread_id)
    await adapter.send(Outgoing(to, Reply("answers", title="#12")))
    await adapter.send(Outgoing(to, Reply("a later message")))
    card, later = fake.sent(thread_id)
    assert card["content"] == f"<@&{fake.mod_role_id}>" and card["embeds"][0]["title"] == "#12"
    assert later["content"] == "a later message"
    assert fake.mentions_allowed[card["id"]]["roles"] == [fake.mod_role_id]
    assert fake.mentions_allowed[later["id"]] == {"parse": []}


async def test_an_edit_changes_the_message(adapter: DiscordAdapter, fake: FakeDiscord) -> None:
    chat = dm(fake, fake.alice)  # type: ignore[attr-defined]
    (mid,) = (await adapter.send(Outgoing(chat, Reply("before")))).message_ids
    await adapter.send(Outgoing(chat, Reply("after", edit=MessageRef(chat, mid))))
    assert [m["content"] for m in fake.sent(chat.id)] == ["after"]


async def test_fetch_attachment_reads_the_cdn(adapter: DiscordAdapter, fake: FakeDiscord) -> None:
    payload = fake.add_file("a.png", b"image-bytes", "image/png")
    attachment = Attachment(payload["url"], "a.png", "image/png", payload["size"])
    assert await adapter.fetch_attachment(attachment, 100) == b"image-bytes"
    with pytest.raises(ValueError, match="above"):
        await adapter.fetch_attachment(attachment, 5)
    elsewhere = Attachment("https://api.telegram.org/file/bot123:secret/x.png", "x.png")
    with pytest.raises(ValueError, match="CDN"):
        await adapter.fetch_attachment(elsewhere, 100)


def _http_error(cls: type[discord.HTTPException], status: int, code: int) -> Exception:
    response = SimpleNamespace(status=status, reason="x")
    return cls(response, {"code": code, "message": "m"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "thread", "expected"),
    [
        (_http_error(discord.DiscordServerError, 502, 0), False, RetryLater),
        (_http_error(discord.Forbidden, 403, 50001), False, Unreachable),
        (_http_error(discord.NotFound, 404, 10003), True, ThreadGone),
        (_http_error(discord.HTTPException, 400, 50035), False, Rejected),
        (discord.RateLimited(99.0), False, RetryLater),
        (TimeoutError(), False, RetryLater),
    ],
)
def test_errors_map_to_what_the_outbox_does(
    error: Exception, thread: bool, expected: type[Exception]
) -> None:
    mapped = translate(error, thread=thread)
    assert type(mapped) is expected
    if isinstance(mapped, RetryLater) and not isinstance(error, discord.RateLimited):
        assert mapped.maybe_delivered


async def test_a_note_that_closes_its_thread_archives_and_locks_it(
    adapter: DiscordAdapter, fake: FakeDiscord
) -> None:
    thread_id = await adapter.open_thread(adapter.moderation_chat(), "#9 moved")  # type: ignore[arg-type]
    to = ChatRef("discord", str(fake.mod_channel_id), ChatKind.MODERATION, thread_id)
    await adapter.send(Outgoing(to, Reply("#9 moved to account.", close_thread=True)))
    meta = fake.channels[int(thread_id)]["thread_metadata"]
    assert (meta["archived"], meta["locked"]) == (True, True)
