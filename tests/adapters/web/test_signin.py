"""Signing in with Telegram and Discord identities, against fakes of their HTTP endpoints on
loopback: forged and stale Login Widget data, a non-administrator, a Discord user without the
moderator role are refused; rights are asked again after at most a minute."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.adapters.web.conftest import MakeWeb, WebHarness
from tests.adapters.web.fake_oauth import (
    BOT_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    GUILD,
    ROLE,
    FakeDiscordOAuth,
)
from tests.helpers.fake_telegram.server import TOKEN, FakeTelegram

NOW = 1_768_478_400  # the harness clock (builders.T0)


def widget(user_id: int, auth_date: int = NOW, token: str = TOKEN, **extra: str) -> dict[str, str]:
    """What the Telegram Login Widget hands the browser, signed as Telegram documents."""
    fields = {"id": str(user_id), "first_name": "Mod", "auth_date": str(auth_date), **extra}
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hashlib.sha256(token.encode()).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return fields


@pytest.fixture
async def telegram(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTelegram]:
    monkeypatch.setenv("KEFU_TELEGRAM_TOKEN", TOKEN)
    async with FakeTelegram() as fake:
        yield fake


async def _tg_web(make_web: MakeWeb, fake: FakeTelegram, admins_only: bool = True) -> WebHarness:
    return await make_web(  # type: ignore[no-any-return]
        telegram={
            "moderator_chat_id": str(fake.moderator_chat_id),
            "base_url": fake.base_url,
            "admins_only": admins_only,
        }
    )


async def test_an_administrator_signs_in_with_telegram(
    make_web: MakeWeb, telegram: FakeTelegram
) -> None:
    web = await _tg_web(make_web, telegram)
    telegram.moderator(2001)
    async with web.client() as browser:
        login = await browser.get("/login")
        assert "telegram-widget.js" in login.text and "kefu_test_bot" in login.text
        assert TOKEN not in login.text and TOKEN.split(":")[1] not in login.text
        answer = await browser.get("/auth/telegram", params=widget(2001))
        assert answer.status_code == 303
        assert (await browser.get("/queue")).status_code == 200


async def test_forged_stale_and_non_admin_telegram_sign_ins_are_refused(
    make_web: MakeWeb, telegram: FakeTelegram
) -> None:
    web = await _tg_web(make_web, telegram)
    telegram.moderator(2001)
    telegram.moderator(2002, admin=False)
    forged = widget(2001, token="123:WRONG")
    tampered = {**widget(2003), "id": "2001"}
    stale = widget(2001, auth_date=NOW - 86_401)
    for params, status in ((forged, 403), (tampered, 403), (stale, 403), (widget(2002), 403)):
        async with web.client() as browser:
            answer = await browser.get("/auth/telegram", params=params)
            assert answer.status_code == status, params
            assert (await browser.get("/queue")).status_code == 303
    assert any(c.method == "getChatMember" for c in telegram.calls)


async def test_members_may_sign_in_when_admins_only_is_off(
    make_web: MakeWeb, telegram: FakeTelegram
) -> None:
    web = await _tg_web(make_web, telegram, admins_only=False)
    telegram.moderator(2002, admin=False)
    async with web.client() as browser:
        assert (await browser.get("/auth/telegram", params=widget(2002))).status_code == 303


async def test_a_demoted_admin_loses_access_within_a_minute(
    make_web: MakeWeb, telegram: FakeTelegram
) -> None:
    web = await _tg_web(make_web, telegram)
    telegram.moderator(2001)
    async with web.client() as browser:
        await browser.get("/auth/telegram", params=widget(2001))
        assert (await browser.get("/queue")).status_code == 200
        group = telegram.chats[telegram.moderator_chat_id]
        group.members[2001] = "member"
        web.clock.now += 30
        assert (await browser.get("/queue")).status_code == 200  # remembered, < 60 s
        web.clock.now += 31
        assert (await browser.get("/queue")).status_code == 303  # asked again: refused


@pytest.fixture
async def discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscordOAuth]:
    monkeypatch.setenv("KEFU_DISCORD_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("KEFU_DISCORD_CLIENT_SECRET", CLIENT_SECRET)
    async with FakeDiscordOAuth() as fake:
        yield fake


async def _dc_web(make_web: MakeWeb, fake: FakeDiscordOAuth) -> WebHarness:
    web: WebHarness = await make_web(
        discord={"guild_id": GUILD, "moderator_role_id": ROLE},
        web={
            "discord_client_id": CLIENT_ID,
            "discord_api_url": fake.api,
            "discord_authorize_url": f"http://127.0.0.1:{fake.port}/oauth2/authorize",
            "public_url": "http://desk.test",
        },
    )
    return web


async def _discord_sign_in(web: WebHarness, fake: FakeDiscordOAuth, user: str) -> int:
    fake.codes[f"code{user}"] = user
    async with web.client() as browser:
        away = await browser.get("/auth/discord")
        assert away.status_code == 303
        target = urlsplit(away.headers["location"])
        query = parse_qs(target.query)
        assert query["scope"] == ["identify"] and query["client_id"] == [CLIENT_ID]
        assert query["redirect_uri"] == ["http://desk.test/auth/discord/callback"]
        state = query["state"][0]
        back = await browser.get(
            "/auth/discord/callback", params={"code": f"code{user}", "state": state}
        )
        if back.status_code == 303:
            assert (await browser.get("/queue")).status_code == 200
        return back.status_code


async def test_a_discord_moderator_signs_in_and_one_without_the_role_does_not(
    make_web: MakeWeb, discord: FakeDiscordOAuth
) -> None:
    web = await _dc_web(make_web, discord)
    discord.roles["501"] = [ROLE, "1"]
    discord.roles["502"] = ["1"]  # a member without the moderator role
    assert await _discord_sign_in(web, discord, "501") == 303
    assert await _discord_sign_in(web, discord, "502") == 403
    assert await _discord_sign_in(web, discord, "503") == 403  # not in the server at all


async def test_a_discord_callback_with_another_browsers_state_is_refused(
    make_web: MakeWeb, discord: FakeDiscordOAuth
) -> None:
    web = await _dc_web(make_web, discord)
    discord.roles["501"] = [ROLE]
    discord.codes["c"] = "501"
    async with web.client() as attacker:
        away = await attacker.get("/auth/discord")
        state = parse_qs(urlsplit(away.headers["location"]).query)["state"][0]
    async with web.client() as victim:
        back = await victim.get("/auth/discord/callback", params={"code": "c", "state": state})
        assert back.status_code == 403
