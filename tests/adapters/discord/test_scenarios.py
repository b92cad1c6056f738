"""Whole conversations: the real core, the real discord.py, the fake Discord (issue 5's list)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest

from bot.config import Config
from knowledge.models import KnowledgeBase
from knowledge.search import SearchIndex
from tests.adapters.discord.conftest import eventually
from tests.adapters.discord.scenario import Kefu, Moderators, User, text_of
from tests.helpers.builders import png
from tests.helpers.fake_discord import FakeDiscord, buttons, options


@pytest.fixture
async def kefu(
    config: Config, fake: FakeDiscord, help_center: tuple[KnowledgeBase, SearchIndex]
) -> AsyncIterator[Kefu]:
    english = dataclasses.replace(config, bot=dataclasses.replace(config.bot, default_lang="en"))
    running = Kefu(english, fake, *help_center)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def alice(fake: FakeDiscord) -> User:
    return User(fake, fake.alice)  # type: ignore[attr-defined]


@pytest.fixture
def moderators(fake: FakeDiscord) -> Moderators:
    return Moderators(fake)


ANSWERS = {
    "account_id": "L12345678",
    "happened_on": "2025-03-01",
    "notice": "Your account has been suspended",
    "before": "I posted a note about skincare",
    "reason": "It is a misjudgment: I broke no rule",
}


async def post_panel(fake: FakeDiscord) -> dict:
    """A moderator posts the support panel in #general."""
    await fake.slash(fake.mona, "support-panel", fake.general_id)  # type: ignore[attr-defined]
    (panel,) = await eventually(lambda: fake.sent(fake.general_id))
    return panel


async def open_ticket(alice: User, moderators: Moderators) -> None:
    """The quick way to a person: ask for one, skip the form."""
    await alice.says("I want to talk to a real person")
    await alice.sees("Ticket #")
    await moderators.get_a_thread()
    await moderators.sees("#1")


async def test_the_panel_opens_the_menu_in_dms_also_after_a_restart(
    kefu: Kefu, fake: FakeDiscord, alice: User
) -> None:
    panel = await post_panel(fake)
    pressed = await alice.presses("Get help", panel)
    await alice.sees("How can we help?")
    await eventually(lambda: pressed.original and "DMs" in pressed.original["content"])
    await kefu.restart()
    await alice.presses("Get help", panel)
    menu = await alice.sees("How can we help?")
    assert "Account" in options(menu) and buttons(menu) == ["Talk to a person"]


async def test_the_menu_leads_to_an_article_with_a_person_one_tap_away(
    kefu: Kefu, alice: User
) -> None:
    await alice.says("hello")
    await alice.sees("How can we help?")
    await alice.chooses("Account")
    await alice.sees("Suspended or restricted")
    await alice.chooses("Suspended or restricted")
    await alice.sees("My account is suspended or restricted")
    await alice.presses("My account is suspended or restricted")
    article = await alice.sees("Not solved")
    assert article["embeds"][0]["title"] == "My account is suspended or restricted"
    assert {"Solved", "Not solved", "Talk to a person"} <= set(buttons(article))


async def test_a_modal_form_with_a_screenshot_opens_a_private_thread_with_the_card(
    kefu: Kefu, fake: FakeDiscord, alice: User, moderators: Moderators
) -> None:
    await alice.says("hello")
    await alice.sees("How can we help?")
    await alice.chooses("Account")
    await alice.sees("Suspended or restricted")
    await alice.chooses("Suspended or restricted")
    await alice.sees("My account is suspended or restricted")
    await alice.presses("My account is suspended or restricted")
    article = await alice.sees("Not solved")
    await alice.presses("Talk to a person", article)
    offer = await alice.sees("Fill in the form")
    submitted = await fake.submit_modal(fake.alice, "kefu-form:ban-appeal", ANSWERS, offer)  # type: ignore[attr-defined]
    await alice.sees("screenshots")
    assert submitted.types == [6]
    screenshot = png(color=(1, 2, 3))
    await alice.says("", ("notice.png", screenshot))
    await alice.sees("Done")
    await alice.presses("Done")
    await alice.sees("L12345678")
    await alice.presses("Submit")
    await alice.sees("Ticket #1")
    thread = await moderators.get_a_thread()
    card = await moderators.sees("L12345678")
    (channel,) = fake.threads()
    assert channel["type"] == 12 and channel["name"].startswith("#1")
    assert card["content"] == f"<@&{fake.mod_role_id}>"
    assert "Claim" in buttons(card) and card["embeds"][0]["title"].startswith("#1")
    assert [fake.fetch(a["url"]) for a in card["attachments"]] == [screenshot]
    assert thread.channel_id in fake.thread_members


async def test_relay_both_ways_with_identical_attachment_bytes(
    kefu: Kefu, fake: FakeDiscord, alice: User, moderators: Moderators
) -> None:
    await open_ticket(alice, moderators)
    await moderators.presses(fake.mona, "Claim")  # type: ignore[attr-defined]
    await alice.sees("picked up your ticket #1")
    assert int(fake.mona["id"]) in fake.thread_members[moderators.chat.channel_id]  # type: ignore[attr-defined]
    from_mod = png(color=(9, 9, 9))
    await moderators.says(fake.mona, "Please check this screenshot", ("mod.png", from_mod))  # type: ignore[attr-defined]
    relayed = await alice.sees("Please check this screenshot")
    assert [fake.fetch(a["url"]) for a in relayed["attachments"]] == [from_mod]
    from_user = png(color=(7, 7, 7))
    await alice.says("Here is mine", ("mine.png", from_user))
    mirrored = await moderators.sees("Here is mine")
    assert [fake.fetch(a["url"]) for a in mirrored["attachments"]] == [from_user]


async def test_close_and_rating(
    kefu: Kefu, fake: FakeDiscord, alice: User, moderators: Moderators
) -> None:
    await open_ticket(alice, moderators)
    await moderators.presses(fake.mona, "Close")  # type: ignore[attr-defined]
    prompt = await alice.sees("How did we do?")
    assert "5" in buttons(prompt)
    await alice.presses("5", prompt)
    await alice.sees("Thanks for your rating")
    await moderators.sees("5/5")


async def test_a_non_moderator_is_refused(
    kefu: Kefu, fake: FakeDiscord, alice: User, moderators: Moderators
) -> None:
    await open_ticket(alice, moderators)
    refused = await moderators.presses(fake.bob, "Claim")  # type: ignore[attr-defined]
    await eventually(lambda: refused.callbacks)
    assert refused.callbacks[0]["type"] == 4 and refused.callbacks[0]["data"]["flags"] == 64
    await moderators.presses(fake.mona, "Claim")  # type: ignore[attr-defined]
    await alice.sees("picked up")
    claims = [m for m in alice.bot_messages() if "picked up" in text_of(m)]
    assert len(claims) == 1  # only the moderator's claim counted


async def test_dms_closed_answers_ephemerally_and_the_ticket_notes_it(
    kefu: Kefu, fake: FakeDiscord, alice: User, moderators: Moderators
) -> None:
    bob = User(fake, fake.bob)  # type: ignore[attr-defined]
    await open_ticket(bob, moderators)
    fake.dms_closed.add(int(fake.bob["id"]))  # type: ignore[attr-defined]
    await moderators.says(fake.mona, "Are you still there?")  # type: ignore[attr-defined]

    async def noted() -> bool:
        ticket = await kefu.runtime.store.get_ticket(1)  # type: ignore[union-attr]
        return bool(ticket and ticket.user_unreachable)

    for _ in range(200):
        if await noted():
            break
        await asyncio.sleep(0.02)
    assert await noted()
    panel = await post_panel(fake)
    fake.dms_closed.add(int(fake.alice["id"]))  # type: ignore[attr-defined]
    pressed = await alice.presses("Talk to a person", panel)

    def answers() -> list[str]:
        messages = [pressed.original or {}, *pressed.followups]
        return [text_of(m) for m in messages]

    await eventually(lambda: any("Ticket #2" in t for t in answers()))
    assert pressed.callbacks[0]["data"]["flags"] == 64  # ephemeral
    assert all(m["flags"] & 64 for m in pressed.followups)
    assert alice.bot_messages() == []


async def test_content_over_2000_characters_is_split(
    kefu: Kefu, fake: FakeDiscord, alice: User, moderators: Moderators
) -> None:
    await open_ticket(alice, moderators)
    long_reply = " ".join(f"step{i}" for i in range(600))
    await moderators.says(fake.mona, long_reply)  # type: ignore[attr-defined]
    first = await alice.sees("step0 ")
    await alice.sees("step599")
    parts = alice.bot_messages()[alice.bot_messages().index(first) :]
    assert len(parts) >= 2 and all(len(m["content"]) <= 2000 for m in parts)
    assert long_reply in " ".join(m["content"] for m in parts).replace("\n", " ")


async def test_a_429_is_retried_and_shown_once(kefu: Kefu, fake: FakeDiscord, alice: User) -> None:
    fake.fail("POST", rf"/channels/{alice.channel_id}/messages", "429", times=1, retry_after=0.1)
    await alice.says("hello")
    await alice.sees("How can we help?")
    menus = [m for m in alice.bot_messages() if "How can we help?" in text_of(m)]
    assert len(menus) == 1


async def test_a_deleted_thread_is_recreated_with_its_card(
    kefu: Kefu, fake: FakeDiscord, alice: User, moderators: Moderators
) -> None:
    await open_ticket(alice, moderators)
    fake.delete_thread(moderators.chat.channel_id)
    await alice.says("Is anyone there?")
    await moderators.get_a_thread()
    await moderators.sees("#1")
    await moderators.sees("Is anyone there?")


async def test_long_menus_are_select_menus_that_still_work_after_a_restart(
    kefu: Kefu, fake: FakeDiscord, alice: User
) -> None:
    await alice.says("hello")
    top = await alice.sees("How can we help?")
    assert {"Account", "Orders and refunds"} <= set(options(top))
    assert buttons(top) == ["Talk to a person"]  # a person is one tap away, never in a list
    chose = await alice.chooses("Account")
    account = await alice.sees("Suspended or restricted")
    assert chose.types == [6]  # acknowledged at once, as a button press is
    assert "Talk to a person" in buttons(account) and "Back" in buttons(account)
    await kefu.restart()
    await alice.chooses("Suspended or restricted", account)
    leaf = await alice.sees("My account is suspended or restricted")
    await alice.presses("My account is suspended or restricted", leaf)
    await alice.sees("Not solved")


async def test_a_menu_choice_made_for_someone_else_is_not_for_you(
    kefu: Kefu, fake: FakeDiscord, alice: User
) -> None:
    bob = User(fake, fake.bob)  # type: ignore[attr-defined]
    await alice.says("hello")
    alices = await alice.sees("How can we help?")
    await bob.says("hello")
    bobs = await bob.sees("How can we help?")
    forged = {**bobs, "components": alices["components"]}  # a client showing alice's menu
    bob.mark()
    await fake.choose(fake.bob, forged, "Account")  # type: ignore[attr-defined]
    await bob.sees("That button isn't for you.")
    assert not any("Suspended or restricted" in text_of(m) for m in bob.bot_messages())


@pytest.fixture
def short_form_center(
    help_center: tuple[KnowledgeBase, SearchIndex],
) -> tuple[KnowledgeBase, SearchIndex]:
    """The bundled help center with a ban appeal short enough for its screenshots to fit the
    modal: four questions and the screenshots (Discord: 5 components)."""
    kb, index = help_center
    form = kb.forms["ban-appeal"]
    short = dataclasses.replace(form, fields=tuple(f for f in form.fields if f.id != "before"))
    return dataclasses.replace(kb, forms={**kb.forms, form.id: short}), index


async def test_screenshots_inside_the_modal_reach_the_ticket_card(
    config: Config,
    fake: FakeDiscord,
    alice: User,
    moderators: Moderators,
    short_form_center: tuple[KnowledgeBase, SearchIndex],
) -> None:
    english = dataclasses.replace(config, bot=dataclasses.replace(config.bot, default_lang="en"))
    kefu = Kefu(english, fake, *short_form_center)
    await kefu.start()
    try:
        await alice.says("hello")
        await alice.sees("How can we help?")
        await alice.chooses("Account")
        await alice.sees("Suspended or restricted")
        await alice.chooses("Suspended or restricted")
        offer = await alice.sees("Fill in the form")
        opened = await alice.presses("Fill in the form", offer)
        await eventually(lambda: opened.callbacks)
        modal = opened.callbacks[0]["data"]
        assert [c["component"]["type"] for c in modal["components"]] == [4, 4, 4, 4, 19]
        screenshot = png(color=(4, 5, 6))
        files = {"screenshots": [fake.add_file("notice.png", screenshot, "image/png")]}
        answers = {k: v for k, v in ANSWERS.items() if k != "before"}
        await fake.submit_modal(fake.alice, modal["custom_id"], answers, offer, files)  # type: ignore[attr-defined]
        review = await alice.sees("Please check your answers")
        assert "Screenshots: 1 image(s)" in text_of(review)  # not asked for again
        await alice.presses("Submit", review)
        await alice.sees("Ticket #1")
        await moderators.get_a_thread()
        card = await moderators.sees("L12345678")
        assert [fake.fetch(a["url"]) for a in card["attachments"]] == [screenshot]
    finally:
        await kefu.stop()
