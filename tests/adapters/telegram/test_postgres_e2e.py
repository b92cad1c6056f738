"""The whole runtime on PostgreSQL, in-process over the fake Bot API: the same conversation as
on SQLite (test_e2e.py), its turns in the database's conversation locks, its deliveries claimed
from the shared outbox, its screenshot read back from the file store."""

from __future__ import annotations

from pathlib import Path

from tests.adapters.telegram.dialog import Moderator, Person, kefu
from tests.adapters.telegram.test_e2e import SCREENSHOT, fill_ban_appeal
from tests.helpers.fake_telegram import FakeTelegram


async def test_a_form_a_ticket_and_a_relay_both_ways_on_postgresql(
    fake: FakeTelegram, tmp_path: Path, pg_url: str
) -> None:
    user = Person(fake, fake.user(1001, "Lin", "en"))
    mod = Moderator(fake, fake.moderator(2001, "Mei"))
    async with kefu(fake, tmp_path, store=pg_url) as runtime:
        await fill_ban_appeal(user)
        created = await user.sees("created")
        ticket = int(created.text.split("#")[1].split()[0])
        await mod.opens(ticket)
        card = await mod.sees(f"New ticket #{ticket} from Lin")
        await mod.says("We are checking")
        await user.sees("Moderator: We are checking")
        await user.says("thank you")
        await mod.sees("User: thank you")
        [saved] = await runtime.store.list_tickets()
    assert card.photo == SCREENSHOT
    assert "L12345678" in card.text
    assert (saved.id, saved.user_key) == (ticket, "telegram:1001")
    assert user.count("What is your Lumen ID?") == 1
