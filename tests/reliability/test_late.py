"""A user whose messages keep failing to reach the moderators is told, once, that they are late."""

from __future__ import annotations

from pathlib import Path

from tests.adapters.telegram.dialog import Person
from tests.helpers.fake_telegram import FakeTelegram
from tests.reliability.runtime import settled, telegram_kefu

LATE = "taking longer than usual"


async def test_the_user_is_told_once_when_a_relay_is_late(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    user = Person(tg, tg.user(1001, "Lin", "en"))
    async with telegram_kefu(tg, tmp_path / "data") as rt:
        await user.says("/human")
        await user.sees("Ticket #1")
        await settled(rt, tg)
        # Telegram refuses (429 with retry_after 1) the next four sends to the moderator group.
        tg.fail("sendMessage", "429", times=4, retry_after=1, chat_id=tg.moderator_chat_id)
        await user.says("my order never came")
        await tg.wait_for(lambda: user.count(LATE) >= 1, 12)
        await settled(rt, tg, 15)
    relayed = [t for t in tg.texts(tg.moderator_chat_id) if "my order never came" in t]
    assert user.count(LATE) == 1  # once, however many retries follow
    assert len(relayed) == 1  # and the message itself arrives, exactly once
