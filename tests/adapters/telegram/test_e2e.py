"""End to end: Kefu's real runtime and the Telegram adapter against the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.adapters.telegram.dialog import Moderator, Person, kefu
from tests.helpers.fake_telegram import TOKEN, FakeTelegram, png_bytes

SCREENSHOT = png_bytes(24, 16, (10, 120, 200))
REPO = Path(__file__).resolve().parents[3]
HELD = {"getUpdates", "sendMessage"}


async def fill_ban_appeal(user: Person) -> None:
    """From /start through the suspension-appeal form with one screenshot, to a ticket."""
    await user.says("/start")
    await user.sees("How can we help?")
    await user.presses("Account")
    await user.presses("Suspended or restricted")
    await user.presses("Fill in the form")
    await user.sees("Lumen ID")
    await user.says("L12345678")
    await user.sees("On what day")
    await user.says("2026-01-02")
    await user.sees("What exactly does the app say?")
    await user.says("Your account is restricted for violating community rules")
    await user.sees("What did you do just before")
    await user.says("I posted a note about my cat")
    await user.sees("Why do you think this is a mistake?")
    await user.says("The photo is my own, taken at home")
    await user.sees("Please send screenshots")
    await user.sends_photo(SCREENSHOT)
    await user.sees("Received 1 image(s)")
    await user.presses("Done")
    await user.sees("Please check your answers")
    await user.presses("Submit")


async def test_start_through_a_form_with_a_photo_to_a_ticket(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    user = Person(fake, fake.user(1001, "Lin", "en"))
    mod = Moderator(fake, fake.moderator(2001, "Mei"))
    async with kefu(fake, tmp_path):
        await fill_ban_appeal(user)
        await user.sees("Ticket #1 created")
        await mod.opens(1)
        card = await mod.sees("New ticket #1 from Lin")
    assert "L12345678" in card.text
    assert "The photo is my own, taken at home" in card.text
    assert card.photo == SCREENSHOT  # re-uploaded, byte for byte
    assert [label for label, _ in card.buttons] == ["Claim", "Close"]
    assert all(len(data.encode()) <= 64 for _, data in fake.keyboard(user.chat_id))
    assert len(fake.topics()) == 1
    assert user.count("What is your Lumen ID?") == 1  # every prompt exactly once
    assert all(q["answered"] for q in fake.callbacks.values())


async def test_moderator_reply_reaches_the_user_and_back(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    user = Person(fake, fake.user(1001, "Lin", "en"))
    mod = Moderator(fake, fake.moderator(2001, "Mei"))
    async with kefu(fake, tmp_path):
        await user.says("/human")
        await user.sees("Ticket #1 created")
        await mod.opens(1)
        await mod.sees("New ticket #1")
        await mod.says("Hello <Lin>, we are checking & will reply")
        await user.sees("Moderator: Hello <Lin>, we are checking & will reply")
        await user.says("thank you")
        await mod.sees("User: thank you")
        await user.sends_photo(SCREENSHOT)
        await mod.fake.wait_for(lambda: SCREENSHOT in fake.photos(fake.moderator_chat_id))
        reply_photo = png_bytes(5, 5, (0, 200, 0))
        fake.user_sends_photo(mod.user, reply_photo, "this one?", **mod.where())
        await fake.wait_for(lambda: reply_photo in fake.photos(user.chat_id))
        await mod.says("/note internal: looks like a false positive")
        await mod.sees("Note added to #1")
    assert user.count("internal") == 0
    assert user.count("Mei") == 0  # no moderator names unless configured


async def test_an_edit_in_a_ticket_reaches_the_other_side(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """The user fixes the order number they sent, the moderator a wrong step in their answer:
    the other side sees the new text, said to be an edit (edits were lost: edited messages
    were not even asked of Telegram). An edit outside a ticket changes nothing: the bot has
    answered that message."""
    user = Person(fake, fake.user(1001, "Lin", "en"))
    mod = Moderator(fake, fake.moderator(2001, "Mei"))
    async with kefu(fake, tmp_path):
        asked = await user.says("/start")
        await user.sees("How can we help?")
        await user.edits(asked, "/start again")
        await user.says("/human")
        await user.sees("Ticket #1 created")
        sent = await user.says("my order is 12345")
        await mod.opens(1)
        await mod.sees("User: my order is 12345")
        await user.edits(sent, "my order is 12346")
        await mod.sees("User (edited a message): my order is 12346")
        answer = await mod.says("Open Settings > Orders")
        await user.sees("Moderator: Open Settings > Orders")
        await mod.edits(answer, "Open Me > Orders")
        await user.sees("Moderator (corrected a message): Open Me > Orders")
    assert user.count("How can we help?") == 1


async def test_close_and_rating(fake: FakeTelegram, tmp_path: Path) -> None:
    user = Person(fake, fake.user(1001, "Lin", "en"))
    mod = Moderator(fake, fake.moderator(2001, "Mei"))
    async with kefu(fake, tmp_path):
        await user.says("/human")
        await mod.opens(1)
        await mod.presses("Claim")
        await user.sees("A moderator has picked up your ticket #1")
        await mod.sees("#1 claimed by Mei")
        await mod.says("/close fixed on our side")
        await user.sees("Your ticket #1 was closed by a moderator")
        await user.presses("5")
        await user.sees("Thanks for your rating")
        await mod.sees("#1 rated 5/5")
        await user.says("/status")
        await user.sees("You have no open ticket")


async def test_forged_callback_data_changes_nothing(fake: FakeTelegram, tmp_path: Path) -> None:
    victim = Person(fake, fake.user(1001, "Lin", "en"))
    forger = Person(fake, fake.user(1002, "Eve", "en"))
    mod = Moderator(fake, fake.moderator(2001, "Mei"))
    async with kefu(fake, tmp_path):
        await victim.says("/human")
        await victim.sees("Ticket #1 created")
        close_data = dict(fake.keyboard(victim.chat_id))["Close my ticket"]
        await forger.says("/start")
        menu = await forger.sees("How can we help?")
        fake.press_data(forger.user, menu, close_data)  # the victim's own button
        await forger.sees("isn't for you")
        fake.press_data(forger.user, menu, "kefu:cl::1")  # the same without an owner tag
        await forger.sees("isn't for you")
        fake.press_data(forger.user, menu, "kefu:mc::1")  # a moderator's Claim
        await forger.sees("Only moderators can do that")
        fake.press_data(forger.user, menu, "x" * 64)  # garbage
        await forger.sees("no longer active")
        await mod.opens(1)
    assert victim.count("closed") == 0
    assert mod.count("claimed") == 0
    assert mod.count("closed") == 0
    assert all(q["answered"] for q in fake.callbacks.values())


async def test_a_non_admin_in_the_moderator_group_is_refused(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    user = Person(fake, fake.user(1001, "Lin", "en"))
    admin = Moderator(fake, fake.moderator(2001, "Mei"))
    member = Moderator(fake, fake.moderator(2002, "Bob", admin=False))
    async with kefu(fake, tmp_path):
        await user.says("/human")
        await user.sees("Ticket #1 created")
        await member.opens(1)
        await member.presses("Claim")
        await member.sees("Only moderators can do that")
        await member.says("hi, I am not staff")
        await member.sees("Only moderators can do that")
        await admin.opens(1)
        await admin.presses("Claim")
        await admin.sees("#1 claimed by Mei")
        await user.sees("A moderator has picked up your ticket #1")
    assert user.count("not staff") == 0
    assert admin.count("claimed by Bob") == 0


async def test_429_and_502_are_retried_and_every_page_and_relay_lands_once(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    user = Person(fake, fake.user(1001, "Lin", "en"))
    mod = Moderator(fake, fake.moderator(2001, "Mei"))
    async with kefu(fake, tmp_path):
        fake.fail("createForumTopic", "429", retry_after=1)
        fake.fail("createForumTopic", "502")
        fake.fail("sendMessage", "429", retry_after=1)
        fake.fail("sendMessage", "502")
        await user.says("/human")
        await user.sees("Ticket #1 created")
        await mod.opens(1)
        await mod.sees("New ticket #1")
        fake.fail("sendMessage", "502")
        await user.says("first relay")
        await mod.sees("User: first relay")
        fake.fail("sendMessage", "429", retry_after=1)
        await mod.says("moderator answer")
        await user.sees("Moderator: moderator answer")
        fake.fail("sendMessage", "502")
        await user.says("second relay")
        await mod.sees("User: second relay")
    assert len(fake.calls_to("createForumTopic")) == 3
    assert len(fake.topics()) == 1
    for person, text in [
        (user, "Ticket #1 created"),
        (mod, "New ticket #1"),
        (mod, "User: first relay"),
        (user, "Moderator: moderator answer"),
        (mod, "User: second relay"),
    ]:
        assert person.count(text) == 1, text


async def test_a_deleted_topic_is_recreated_with_the_card(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    user = Person(fake, fake.user(1001, "Lin", "en"))
    mod = Moderator(fake, fake.moderator(2001, "Mei"))
    async with kefu(fake, tmp_path):
        await user.says("/human")
        first = await mod.opens(1)
        await mod.sees("New ticket #1")
        fake.delete_topic(first)
        await user.says("are you there?")
        await user.sees("Added to ticket #1")
        second = await mod.opens(1)
        await mod.sees("New ticket #1")
        await mod.sees("User: are you there?")
    assert second != first


async def test_a_user_who_blocked_the_bot_is_shown_on_the_ticket(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    user = Person(fake, fake.user(1001, "Lin", "en"))
    mod = Moderator(fake, fake.moderator(2001, "Mei"))
    async with kefu(fake, tmp_path):
        await user.says("/human")
        await mod.opens(1)
        await mod.sees("New ticket #1")
        fake.block(user.user)
        await mod.says("hello?")
        await mod.sees("can't be reached on telegram")
    assert user.count("hello?") == 0


async def test_an_album_in_a_form_counts_as_one_message(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    user = Person(fake, fake.user(1001, "Lin", "en"))
    async with kefu(fake, tmp_path):
        await user.says("/start")
        await user.presses("Account")
        await user.presses("Suspended or restricted")
        await user.presses("Fill in the form")
        for answer in ["L12345678", "2026-01-02", "notice", "before", "reason"]:
            await user.says(answer)
        await user.sees("Please send screenshots")
        fake.user_sends_album(user.user, [png_bytes(3, 3, (i, 0, 0)) for i in range(3)])
        await user.sees("Received 3 image(s)")
    assert user.count("Received") == 1


async def test_a_failed_card_does_not_leave_an_empty_topic_behind(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    user = Person(fake, fake.user(1001, "Lin", "en"))
    mod = Moderator(fake, fake.moderator(2001, "Mei"))
    fake.fail("sendMessage", "429", retry_after=1, chat_id=fake.moderator_chat_id)
    async with kefu(fake, tmp_path):
        await user.says("/human")
        await mod.opens(1)
        await mod.sees("New ticket #1")
    assert len(fake.topics()) == 1, fake.topics()
    assert any("New ticket #1" in t for t in fake.texts(fake.moderator_chat_id)[-3:])


async def start_kefu(config: Path, log: Path) -> asyncio.subprocess.Process:
    """`kefu run --config FILE` as a separate process, like a deployment."""
    env = {**os.environ, "KEFU_TELEGRAM_TOKEN": TOKEN}
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config),
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
        )


async def stop(process: asyncio.subprocess.Process) -> None:
    """Interrupt (Ctrl-C) and wait; kill if it hangs."""
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_a_recreated_topic_whose_card_fails_once_is_not_duplicated(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    user = Person(fake, fake.user(1001, "Lin", "en"))
    mod = Moderator(fake, fake.moderator(2001, "Mei"))
    async with kefu(fake, tmp_path):
        await user.says("/human")
        first = await mod.opens(1)
        await mod.sees("New ticket #1")
        fake.delete_topic(first)
        # the relay meets the deleted topic; the card in the new topic then hits a 429
        fake.fail("sendMessage", "429", retry_after=1, chat_id=fake.moderator_chat_id, after=1)
        await user.says("are you there?")
        await fake.wait_for(
            lambda: "User: are you there?" in fake.texts(fake.moderator_chat_id)[-1:], 8
        )
    assert len(fake.topics()) == 1, fake.topics()
    assert any("New ticket #1" in t for t in fake.texts(fake.moderator_chat_id)[-3:])


def write_config(fake: FakeTelegram, tmp_path: Path) -> Path:
    """A deployment's TOML config pointing at the fake server."""
    config = tmp_path / "kefu.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{tmp_path / "data"}"\ndefault_lang = "en"\n'
        f"[telegram]\nenabled = true\nmoderator_chat_id = {fake.moderator_chat_id}\n"
        f'base_url = "{fake.base_url}"\nbase_file_url = "{fake.base_file_url}"\n'
        "rate_limit = false\n",
        encoding="utf-8",
    )
    return config


async def test_kefu_run_killed_mid_form_resumes_with_nothing_lost_or_doubled(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    config, log = write_config(fake, tmp_path), tmp_path / "kefu.log"
    user = Person(fake, fake.user(1001, "Lin", "en"))
    mod = Moderator(fake, fake.moderator(2001, "Mei"))
    first = await start_kefu(config, log)
    try:
        await user.says("/start")
        await user.presses("Account")
        await user.presses("Suspended or restricted")
        await user.presses("Fill in the form")
        await user.says("L12345678")
        await user.sees("On what day")
        # From here Telegram confirms nothing and delivers no message: the process dies
        # after handling the answer, before its offset or the next prompt went through.
        await fake.wait_for(lambda: fake.polls_waiting, 10)
        fake.hold("getUpdates")
        fake.hold("sendMessage")
        answer = await user.says("2026-01-02")
        await fake.wait_for(lambda: {c.method for c in fake.held} >= HELD, 10)
        first.kill()  # SIGKILL: no shutdown, no final offset confirmation
        await first.wait()
    finally:
        await stop(first)
        fake.release("getUpdates", act=False)
        fake.release("sendMessage", act=False)
    assert answer in fake.pending_updates()  # unconfirmed: Telegram delivers it again
    second = await start_kefu(config, log)
    try:
        await user.sees("What exactly does the app say?")
        await user.says("Your account is restricted")
        await user.sees("What did you do just before")
        await user.says("Nothing special")
        await user.sees("Why do you think this is a mistake?")
        await user.says("It is my own photo")
        await user.presses("Skip")
        await user.sees("Please check your answers")
        await user.presses("Submit")
        await user.sees("Ticket #1 created")
        await mod.opens(1)
        card = await mod.sees("New ticket #1")
    finally:
        await stop(second)
    prompts = ["What is your Lumen ID?", "On what day", "What exactly does the app say?"]
    assert [user.count(p) for p in prompts] == [1, 1, 1], log.read_text()
    assert card.text.count("2026-01-02") == 1
    assert fake.pending_updates() == []
    assert TOKEN not in log.read_text()
