"""The fake Bot API validates what Telegram validates and speaks its wire format."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.helpers.fake_telegram import TOKEN, FakeTelegram, FloodControl, Limit, parse_html


async def call(fake: FakeTelegram, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """POST a method as JSON; returns (HTTP status, body)."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{fake.base_url}{TOKEN}/{method}", json=params) as resp,
    ):
        return resp.status, await resp.json()


async def test_ok_and_error_shapes(fake: FakeTelegram) -> None:
    user = fake.user()
    status, body = await call(fake, "sendMessage", chat_id=user.id, text="hi")
    assert (status, body["ok"], body["result"]["text"]) == (200, True, "hi")
    assert body["result"]["chat"] == {
        "id": user.id,
        "first_name": "Lin",
        "username": "user1001",
        "type": "private",
    }
    status, body = await call(fake, "sendMessage", chat_id=999, text="hi")
    assert (status, body) == (
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
    )


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": ""}, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        ({"text": "😀" * 2049}, "Bad Request: message is too long"),
        ({"text": "<b>x", "parse_mode": "HTML"}, "Bad Request: can't parse entities"),
        ({"text": "a < b", "parse_mode": "HTML"}, "Bad Request: can't parse entities"),
        ({"text": "x", "message_thread_id": 77}, "Bad Request: message thread not found"),
        (
            {
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "b", "callback_data": "k" * 65}]]},
            },
            "Bad Request: BUTTON_DATA_INVALID",
        ),
    ],
)
async def test_send_message_validation(
    fake: FakeTelegram, params: dict[str, Any], description: str
) -> None:
    user = fake.user()
    status, body = await call(fake, "sendMessage", chat_id=user.id, **params)
    assert status == 400
    assert body["description"].startswith(description)


async def test_blocked_user_is_403(fake: FakeTelegram) -> None:
    user = fake.user()
    fake.block(user)
    status, body = await call(fake, "sendMessage", chat_id=user.id, text="x")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")


async def test_get_updates_drops_confirmed_updates(fake: FakeTelegram) -> None:
    user = fake.user()
    first = fake.user_says(user, "one")
    second = fake.user_says(user, "two")
    _, body = await call(fake, "getUpdates")
    assert [u["update_id"] for u in body["result"]] == [first, second]
    _, body = await call(fake, "getUpdates", offset=second)
    assert [u["update_id"] for u in body["result"]] == [second]
    _, body = await call(fake, "getUpdates", offset=second + 1, timeout=0)
    assert body["result"] == []
    assert fake.pending_updates() == []


async def test_unknown_methods_are_recorded_and_429_carries_retry_after() -> None:
    async with FakeTelegram() as fake:
        status, _ = await call(fake, "sendPoll", chat_id=1)
        fake.fail("getMe", "429", retry_after=5)
        status429, body = await call(fake, "getMe")
    assert (status, fake.unknown) == (404, ["sendPoll"])
    assert (status429, body["parameters"]) == (429, {"retry_after": 5})


async def test_topics_and_admins(fake: FakeTelegram) -> None:
    fake.moderator(2001, "Mei")
    fake.moderator(2002, "Bob", admin=False)
    _, body = await call(fake, "createForumTopic", chat_id=fake.moderator_chat_id, name="#1")
    thread = body["result"]["message_thread_id"]
    _, admins = await call(fake, "getChatAdministrators", chat_id=fake.moderator_chat_id)
    assert sorted(m["user"]["id"] for m in admins["result"]) == [123, 2001]
    fake.delete_topic(thread)
    status, body = await call(
        fake, "sendMessage", chat_id=fake.moderator_chat_id, message_thread_id=thread, text="x"
    )
    assert (status, body["description"]) == (400, "Bad Request: message thread not found")
    status, _ = await call(fake, "createForumTopic", chat_id=fake.moderator_chat_id, name="")
    assert status == 400


async def test_a_group_past_its_budget_is_answered_429_until_its_window_moves(
    fake: FakeTelegram,
) -> None:
    fake.flood = FloodControl(group=Limit(3, 60.0), overall=Limit(30, 1.0))
    other, user = fake.group(-100777), fake.user()
    group = fake.moderator_chat_id
    for _ in range(3):
        assert (await call(fake, "sendMessage", chat_id=group, text="x"))[0] == 200
    await call(fake, "createForumTopic", chat_id=group, name="#1")  # not a message: not counted
    status, body = await call(fake, "sendMessage", chat_id=group, text="one too many")
    assert (status, body["description"].startswith("Too Many Requests: retry after")) == (
        429,
        True,
    )
    assert 59 <= body["parameters"]["retry_after"] <= 60  # Telegram's whole seconds
    assert [r.chat_id for r in fake.flood.refused] == [group]
    assert "one too many" not in fake.texts(group)  # refused before it acted
    assert (await call(fake, "sendMessage", chat_id=other, text="x"))[0] == 200  # its own budget
    assert (await call(fake, "sendMessage", chat_id=user.id, text="x"))[0] == 200  # no chat limit


async def test_the_overall_limit_counts_every_chat(fake: FakeTelegram) -> None:
    fake.flood = FloodControl(overall=Limit(2, 60.0), whole_seconds=False)
    first, second = fake.user(1001), fake.user(1002)
    assert (await call(fake, "sendMessage", chat_id=first.id, text="a"))[0] == 200
    assert (await call(fake, "sendMessage", chat_id=second.id, text="b"))[0] == 200
    status, body = await call(fake, "sendMessage", chat_id=first.id, text="c")
    assert status == 429 and isinstance(body["parameters"]["retry_after"], float)


def test_parse_html_unescapes_like_telegram() -> None:
    assert parse_html("<b>a &lt;&amp;&gt; &#x27;b&quot;</b>") == "a <&> 'b\""
    assert json.dumps(parse_html("&#128512;")) == json.dumps("😀")
