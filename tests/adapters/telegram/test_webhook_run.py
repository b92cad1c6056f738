"""`kefu run` in webhook mode, as a separate process: Telegram (the fake) posts the updates to
Kefu's own web server with the secret token, and a user reaches a moderator and back."""

from __future__ import annotations

import os
from pathlib import Path

from tests.adapters.telegram.dialog import Moderator, Person
from tests.adapters.telegram.test_e2e import start_kefu, stop, write_config
from tests.adapters.telegram.test_webhook import SECRET, free_port
from tests.helpers.fake_telegram import FakeTelegram


def webhook_config(fake: FakeTelegram, tmp_path: Path, port: int) -> Path:
    """The polling deployment's config, switched to a webhook on a loopback port."""
    config = write_config(fake, tmp_path)
    text = config.read_text(encoding="utf-8").replace(
        "[telegram]\n",
        "[telegram]\n"
        'mode = "webhook"\n'
        f'webhook_url = "http://127.0.0.1:{port}/kefu/telegram"\n'
        f'listen = "127.0.0.1"\nport = {port}\n',
    )
    config.write_text(text, encoding="utf-8")
    return config


async def test_kefu_run_in_webhook_mode_relays_both_ways(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    assert os.environ["KEFU_TELEGRAM_SECRET"] == SECRET  # the conftest sets it; kefu inherits
    port = free_port()
    log = tmp_path / "kefu.log"
    process = await start_kefu(webhook_config(fake, tmp_path, port), log)
    user = Person(fake, fake.user(1001, "Lin", "en"))
    mod = Moderator(fake, fake.moderator(2001, "Mei"))
    try:
        await fake.wait_for(lambda: fake.webhook, 20)
        assert fake.webhook is not None
        assert fake.webhook["url"] == f"http://127.0.0.1:{port}/kefu/telegram"
        assert fake.webhook["secret_token"] == SECRET
        await user.says("/start")
        await user.sees("How can we help?")
        await user.says("/human")
        created = await user.sees("#1")
        assert "#1" in created.text
        await mod.opens(1)
        await mod.sees("New ticket #1")
        await user.says("the app logs me out every hour")
        await mod.sees("User: the app logs me out every hour")
        await mod.says("Please update to the latest version")
        await user.sees("Moderator: Please update to the latest version")
    finally:
        await stop(process)
    assert process.returncode == 0, log.read_text(encoding="utf-8")
    # Every update was posted and acknowledged once handed over; none is left behind.
    assert fake.pending_updates() == []
    assert {status for _, status in fake.webhook_deliveries} == {200}
    assert fake.errors == [], fake.errors
