"""Issue 2, points 7 and 8: closed by a moderator → told, rated, reopened within the window;
/forget with confirmation, /cancel, /menu, /lang and the language from the platform.
"""

from __future__ import annotations

import pytest

from bot.state import Step
from bot.types import ChatRef, CommandReceived, TextReceived, UserRef
from tests.helpers.builders import DAY, png
from tests.helpers.fakes import USERS, FakeUser, Harness, MakeHarness
from tests.scenarios.steps import answer, fill_form, open_form
from tests.scenarios.words import WORDS

BANNED = "account/banned"


async def closed_ticket(h: Harness, user: FakeUser, reason: str = "fixed it") -> None:
    """The user asks for a person, a moderator answers and closes with a reason."""
    await user.command("human")
    mod = h.moderator("bob")
    await mod.says_in(1, "Done, please check")
    await mod.command(1, "close", reason)


async def test_a_moderator_closes_the_user_is_told_and_asked_to_rate(
    h: Harness, lang: str
) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await closed_ticket(h, user, "your account is restored")
    assert user.received(w.mod_prefix + "Done, please check")
    closing = user.last
    assert "#1" in closing.text and w.closed_by_mod in closing.text
    assert "your account is restored" in closing.text
    assert w.rate in closing.text
    assert [b.label for b in closing.flat_buttons] == ["1", "2", "3", "4", "5", w.reopen,
                                                       w.human]  # fmt: skip
    said = await user.presses("4")
    assert said.has(user.t("rated"))
    assert (await h.ticket(1)).rating == 4
    assert h.moderators.received(h.t(h.services.mod_lang, "mod_rated", id=1, rating=4))


async def test_a_rating_typed_instead_of_pressed_counts(h: Harness, lang: str) -> None:
    """ "4" typed under "How did we do?" rates the closed ticket; once rated, a number typed is
    nothing to search ("7" and a second "5" are told nothing matched)."""
    user = h.user("alice", lang)
    await closed_ticket(h, user)
    said = await user.says("7")
    assert said.has(user.t("no_match")) and (await h.ticket(1)).rating is None
    said = await user.says("４")
    assert said.has(user.t("rated")) and (await h.ticket(1)).rating == 4
    said = await user.says("5")
    assert said.has(user.t("no_match")) and (await h.ticket(1)).rating == 4


@pytest.mark.parametrize(
    ("typed", "stars"), [("⭐⭐⭐⭐⭐", 5), ("4/5", 4), ("3 stars", 3), ("五星", 5)]
)
async def test_a_rating_written_the_usual_ways_counts(h: Harness, typed: str, stars: int) -> None:
    """Stars, "4/5", "3 stars", "五星": they showed the menu or searched articles."""
    user = h.user("alice", "en")
    await closed_ticket(h, user)
    said = await user.says(typed)
    assert said.has(user.t("rated")) and (await h.ticket(1)).rating == stars


async def test_a_rating_outside_one_to_five_changes_nothing(h: Harness) -> None:
    user = h.user("alice", "en")
    await closed_ticket(h, user)
    tag = user.button("5").data.split(":")[2]
    said = await user.presses_data(f"kefu:r:{tag}:1:9")
    assert said.has(WORDS["en"].stale)
    assert (await h.ticket(1)).rating is None


async def test_reopen_within_the_window(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await closed_ticket(h, user)
    await h.advance(6 * DAY)
    said = await user.presses(w.reopen)
    assert said.has(w.reopened) and said.has("#1")
    ticket = await h.ticket(1)
    assert ticket.status == "open" and ticket.closed_at is None
    assert h.moderators.received(h.t(h.services.mod_lang, "mod_reopened_by_user", id=1))
    said = await user.says("it happened again")
    assert (await h.moderators.in_ticket(1)).has("it happened again")


async def test_reopen_typed_under_the_moderators_closing_message(h: Harness, lang: str) -> None:
    """The closing message came from the moderator's turn; typing its "Reopen" reopens the
    ticket all the same (it was searched as a question). After the window it says so."""
    w, user = WORDS[lang], h.user("alice", lang)
    await closed_ticket(h, user)
    said = await user.says(f"{w.reopen}!")
    assert said.has(w.reopened) and said.has("#1")
    assert (await h.ticket(1)).status == "open"
    await user.presses(w.close_ticket)
    await h.advance(8 * DAY)
    said = await user.says(w.reopen.lower())
    assert said.has(w.reopen_expired) and (await h.ticket(1)).status == "closed"


async def test_the_reopen_command(h: Harness, lang: str) -> None:
    """/reopen reopens their latest ticket when it is closed; with nothing closed it says so."""
    w, user = WORDS[lang], h.user("alice", lang)
    said = await user.command("reopen")
    assert said.has(user.t("nothing_to_reopen")) and w.human in said.labels
    await closed_ticket(h, user)
    said = await user.command("reopen")
    assert said.has(w.reopened) and (await h.ticket(1)).status == "open"
    said = await user.command("reopen")  # open already: its status
    assert said.has("#1") and (await h.ticket(1)).status == "open"


async def test_no_reopen_after_the_window(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await closed_ticket(h, user)
    await h.advance(8 * DAY)
    said = await user.presses(w.reopen)
    assert said.has(w.reopen_expired)
    assert w.human in said.labels  # a new ticket is one tap away
    assert (await h.ticket(1)).status == "closed"
    said = await user.presses(w.human)
    assert said.has("#2")


async def test_the_reopen_window_is_configurable(make_harness: MakeHarness) -> None:
    async with make_harness(reopen_days=1) as h:
        user = h.user("alice", "en")
        await closed_ticket(h, user)
        await h.advance(1.5 * DAY)
        said = await user.presses("Reopen")
        assert said.has("closed too long ago")


async def test_reopen_after_the_user_closed_it(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("human")
    await user.presses(w.close_ticket)
    said = await user.presses(w.reopen)
    assert said.has(w.reopened)


async def test_a_closed_ticket_stays_closed_without_anyone_acting(h: Harness) -> None:
    user = h.user("alice", "en")
    await closed_ticket(h, user)
    await h.advance(60 * DAY)
    await h.tick()
    ticket = await h.ticket(1)
    assert ticket.status == "closed" and ticket.rating is None


async def test_forget_asks_first_then_deletes_the_data(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await fill_form(h, user, BANNED, images=1)
    await user.says("my phone is 13800138000")
    files = [p for p in (h.data_dir / "files").rglob("*") if p.is_file()]
    assert len(files) == 1
    said = await user.command("forget")
    assert w.forget_yes in said.labels and w.forget_no in said.labels
    said = await user.presses(w.forget_yes)
    assert said.has(w.forget_done)
    assert await h.store.get_user(user.key) is None
    assert await h.store.load_conversation(user.key) is None
    ticket = await h.ticket(1)
    assert ticket.status == "closed"
    assert ticket.answers == [] and ticket.images == [] and ticket.user_name == ""
    assert all("13800138000" not in m.text for m in await h.store.messages(1))
    assert not files[0].exists()
    assert h.moderators.received(h.t(h.services.mod_lang, "mod_forgot", id=1))


async def test_forget_can_be_declined(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("human")
    await user.command("forget")
    said = await user.presses(w.forget_no)
    assert said.has(user.t("forget_kept"))
    assert await h.store.get_user(user.key) is not None
    assert (await h.ticket(1)).status == "open"


async def test_forget_answered_in_words(h: Harness, lang: str) -> None:
    """ "no" / "不用了" and "yes" / "是的" typed under "delete your data?" answer it (before: a
    search for the words, and the question forgotten)."""
    user = h.user("alice", lang)
    await user.command("start")
    await user.command("forget")
    said = await user.says({"zh-CN": "否", "en": "no"}[lang])
    assert said.has(user.t("forget_kept"))
    assert await h.store.get_user(user.key) is not None
    await user.command("forget")
    said = await user.says({"zh-CN": "是的", "en": "Yes."}[lang])
    assert said.has(user.t("forget_done"))
    assert await h.store.get_user(user.key) is None


async def test_forget_answered_in_words_with_a_ticket_open(h: Harness, lang: str) -> None:
    """With a ticket open, "yes" under "delete your data?" was relayed to the moderators as a
    message and nothing was deleted; "no" keeps it, and neither is relayed."""
    user = h.user("alice", lang)
    await user.command("human")
    await user.command("forget")
    said = await user.says({"zh-CN": "否", "en": "no"}[lang])
    assert said.has(user.t("forget_kept"))
    await user.command("forget")
    said = await user.says({"zh-CN": "是的", "en": "yes"}[lang])
    assert said.has(user.t("forget_done"))
    assert await h.store.get_user(user.key) is None
    assert (await h.ticket(1)).status == "closed"
    assert not [m for m in await h.store.messages(1) if m.author.value == "user"]


async def test_an_old_forget_button_deletes_nothing(h: Harness) -> None:
    w, user = WORDS["en"], h.user("alice", "en")
    await user.command("forget")
    yes = user.button(w.forget_yes).data
    await user.command("menu")
    said = await user.presses_data(yes)
    assert said.has(w.stale)
    assert await h.store.get_user(user.key) is not None


async def test_after_forget_the_user_starts_afresh(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("human")
    await user.command("forget")
    await user.presses(w.forget_yes)
    said = await user.command("human")
    assert said.has("#2")


async def test_menu_returns_to_the_menu_from_anywhere(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await fill_form(h, user, BANNED, submit=False)
    said = await user.command("menu")
    assert said.has(w.menu_title)
    conv = await h.store.load_conversation(user.key)
    assert conv is not None and conv.step == Step.MENU


async def test_cancel_with_nothing_to_cancel(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    said = await user.command("cancel")
    assert said.has(user.t("nothing_to_cancel")) and w.human in said.labels


async def test_lang_switches_the_language(h: Harness) -> None:
    user = h.user("alice", "en")
    await user.command("start")
    said = await user.command("lang")
    assert said.labels[:2] == ["中文", "English"]
    assert WORDS["en"].human in said.labels
    said = await user.presses("中文")
    assert said.has("已切换为中文") and said.has(WORDS["zh-CN"].menu_title)
    said = await user.says("忘记密码")
    assert said.has(WORDS["zh-CN"].did_it_help)
    said = await user.command("lang", "en")
    assert said.has("Language set to English")
    record = await h.store.get_user(user.key)
    assert record is not None and record.lang == "en"


async def test_the_language_comes_from_the_platform_locale(h: Harness) -> None:
    for name, locale, expect in (("a", "zh-hans", "zh-CN"), ("b", "en-US", "en"),
                                 ("c", "zh_CN.UTF-8", "zh-CN")):  # fmt: skip
        ref = UserRef(USERS, name, name, locale)
        await h.deliver(CommandReceived(ref, ChatRef(USERS, name), h.next_id(), "start"))
        greeting = h.users_adapter.sent[-1].reply.text
        assert WORDS[expect].menu_title in greeting, (locale, greeting)


async def test_without_a_locale_the_language_is_guessed_from_the_first_words(h: Harness) -> None:
    """A screenshot or "123" says no language: the default answers it, and the first words
    decide (before, the default stuck, and English was answered in Chinese)."""
    ref, chat = UserRef(USERS, "d", "d", ""), ChatRef(USERS, "d")
    await h.deliver(TextReceived(ref, chat, h.next_id(), "123"))
    assert WORDS["zh-CN"].menu_title in h.users_adapter.sent[0].reply.text
    await h.deliver(TextReceived(ref, chat, h.next_id(), "forgot my password"))
    assert WORDS["en"].did_it_help in h.users_adapter.sent[-1].reply.text
    record = await h.store.get_user(ref.key)
    assert record is not None and record.lang == "en"
    await h.deliver(TextReceived(ref, chat, h.next_id(), "忘记密码"))  # settled: no flip-flop
    assert WORDS["en"].did_it_help in h.users_adapter.sent[-1].reply.text


async def test_a_language_chosen_for_the_session_replaces_the_stored_one(h: Harness) -> None:
    """`kefu chat --lang en` after a Chinese conversation answers in English; the platform's
    own locale (the app's language) does not override a language the user had."""
    user = h.user("alice", "zh-CN")
    await user.says("忘记密码")
    await user.command("human")
    await user.presses("直接转人工")
    follows = UserRef(USERS, "alice", "alice", "en")
    await h.deliver(CommandReceived(follows, ChatRef(USERS, "alice"), h.next_id(), "menu"))
    assert WORDS["zh-CN"].menu_title in h.users_adapter.sent[-1].reply.text
    chosen = UserRef(USERS, "alice", "alice", "en", locale_chosen=True)
    await h.deliver(TextReceived(chosen, ChatRef(USERS, "alice"), h.next_id(), "forgot password"))
    assert "Added to ticket #1" in h.users_adapter.sent[-1].reply.text
    record = await h.store.get_user(user.key)
    ticket = await h.store.get_ticket(1)
    assert record is not None and record.lang == "en"
    assert ticket is not None and ticket.lang == "en"


async def test_without_a_locale_the_text_decides_then_the_default(h: Harness) -> None:
    for name, text, expect in (("a", "忘记密码", "zh-CN"), ("b", "forgot password", "en"),
                               ("c", "123", "zh-CN")):  # fmt: skip
        ref = UserRef(USERS, name, name, "")
        await h.deliver(TextReceived(ref, ChatRef(USERS, name), h.next_id(), text))
        replies = [o.reply.text for o in h.users_adapter.sent if o.to.id == name]
        assert WORDS[expect].menu_title in replies[0], (text, replies)


async def test_forget_deletes_uploads_that_never_reached_a_ticket(h: Harness) -> None:
    """Screenshots of a cancelled form, or sent where none was asked, are the user's data too."""
    w, user = WORDS["en"], h.user("alice", "en")
    form = await open_form(h, user, BANNED)
    await user.sends_image(png(color=(1, 1, 1)))  # at a text question: refused, but stored
    for field in form.fields[:-1]:
        await answer(h, user, form, field.id, 0)
    await user.sends_images([png(color=(2, 2, 2)), png(color=(3, 3, 3))])
    await user.command("cancel")
    await user.sends_image(png(color=(4, 4, 4)))  # outside any form or ticket
    await user.command("forget")
    await user.presses(w.forget_yes)
    left = [p.name for p in (h.data_dir / "files").rglob("*") if p.is_file()]
    assert left == []


async def test_ticket_messages_follow_a_language_switch(h: Harness) -> None:
    user = h.user("alice", "zh-CN")
    await user.command("human")
    await user.command("lang", "en")
    mod = h.moderator("bob")
    await mod.says_in(1, "hello")
    assert user.last_text() == "Moderator: hello"
    await mod.command(1, "close", "done")
    assert "was closed by a moderator" in user.last_text()


async def test_the_first_message_after_a_moderator_closed_offers_to_reopen_with_it(
    h: Harness, lang: str
) -> None:
    """The moderator asked for the order number and closed the ticket; the user's answer was
    searched ("no article found") and never reached anyone. Now one tap reopens the ticket
    with it; offered once, and the message is still searched."""
    user = h.user("alice", lang)
    await closed_ticket(h, user, "waiting for the order number")
    said = await user.says("240601123456")
    offer = user.t("btn_reopen_with", id=1)
    assert said.has(user.t("follow_up_closed", id=1)) and offer in said.labels
    assert said.has(user.t("no_match"))  # searched all the same
    (reopen,) = [b.data for b in said.items[-1].flat_buttons if b.label == offer]
    said = await user.says("anything else about it")
    assert offer not in said.labels  # once
    said = await user.presses_data(reopen)
    assert (await h.ticket(1)).status.value == "open"
    assert h.moderators.received(h.t(h.services.mod_lang, "mod_user_says", text="240601123456"))
    assert [m.text for m in await h.store.messages(1)][-1] == "240601123456"


async def test_no_reopen_is_offered_after_the_user_closed_it_themselves(h: Harness) -> None:
    user = h.user("alice", "en")
    await user.command("human")
    await user.command("close")
    said = await user.says("240601123456")
    assert not said.has(user.t("follow_up_closed", id=1))
