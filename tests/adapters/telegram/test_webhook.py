"""Webhook mode: the secret token is checked, updates are acknowledged once handed over."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from bot.types import TextReceived
from tests.adapters.telegram.conftest import RecordingSink, adapter_for, running
from tests.helpers.fake_telegram import FakeTelegram, png_bytes

SECRET = "s3cret-Token_1"  # KEFU_TELEGRAM_SECRET, set by conftest


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def update(update_id: int, text: str) -> dict[str, object]:
    """A private text message update, as Telegram posts it."""
    user = {"id": 1001, "is_bot": False, "first_name": "Lin", "language_code": "en"}
    chat = {"id": 1001, "first_name": "Lin", "type": "private"}
    message = {"message_id": update_id, "from": user, "chat": chat, "date": 1767225600}
    return {"update_id": update_id, "message": {**message, "text": text}}


async def test_wrong_secret_is_refused_and_the_right_one_accepted(
    fake: FakeTelegram, sink: RecordingSink
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/kefu/telegram"
    adapter = adapter_for(fake, mode="webhook", webhook_url=url, port=port)
    async with running(adapter, sink), aiohttp.ClientSession() as http:
        await fake.wait_for(lambda: fake.webhook)
        statuses = []
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with http.post(url, json=update(1, "forged"), headers=headers) as resp:
                statuses.append(resp.status)
        right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with http.post(url, json=update(2, "genuine"), headers=right) as resp:
            statuses.append(resp.status)
        async with http.get(url, headers=right) as resp:
            statuses.append(resp.status)
        async with http.post(url + "x", json=update(3, "elsewhere"), headers=right) as resp:
            statuses.append(resp.status)
        async with http.post(url, data=b"{not json", headers=right) as resp:
            statuses.append(resp.status)
    assert statuses == [403, 403, 200, 405, 404, 400]
    assert [e.text for e in sink.events if isinstance(e, TextReceived)] == ["genuine"]
    assert fake.webhook == {"url": url, "secret_token": SECRET, "max_connections": 40}
    assert not fake.calls_to("getUpdates")


async def test_updates_pushed_by_telegram_arrive_and_albums_merge(
    fake: FakeTelegram, sink: RecordingSink
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    user = fake.user()
    async with running(adapter_for(fake, mode="webhook", webhook_url=url, port=port), sink):
        fake.user_says(user, "hello")
        await sink.wait(1)
        ids = fake.user_sends_album(user, [png_bytes(), png_bytes()], caption="two")
        album = (await sink.wait(2))[1]
        await fake.wait_for(lambda: not fake.pending_updates())
    assert isinstance(album, TextReceived)
    assert (album.event_id, album.text, len(album.attachments)) == (str(ids[0]), "two", 2)
    assert {status for _, status in fake.webhook_deliveries} == {200}


async def test_a_failing_sink_answers_500_so_telegram_delivers_again(
    fake: FakeTelegram, sink: RecordingSink
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    user = fake.user()
    sink.fail = 1
    async with running(adapter_for(fake, mode="webhook", webhook_url=url, port=port), sink):
        uid = fake.user_says(user, "hello")
        (event,) = await sink.wait(1)
    assert event.event_id == str(uid)
    assert [s for u, s in fake.webhook_deliveries if u == uid] == [500, 200]


async def test_webhook_mode_needs_a_secret(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEFU_TELEGRAM_SECRET")
    adapter = adapter_for(fake, mode="webhook", webhook_url="https://example.org/hook")
    with pytest.raises(RuntimeError, match="secret token"):
        async with adapter:
            pass
    # Refused before talking to Telegram: a request made after the refusal is the first the
    # fake saw (nothing the refused adapter started came before it).
    async with aiohttp.ClientSession() as session:
        await session.post(f"{fake.base_url}{fake.token}/getMe")
    assert [c.method for c in fake.calls] == ["getMe"]
