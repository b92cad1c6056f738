"""The moderator side: claim/unclaim, replies relayed, notes kept internal, close with a reason,
reopen, block, snippets, the queue by priority then age; rights checked on every action.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.actions import Verb, act
from bot.ports import RetryLater, ThreadGone, Unreachable
from bot.storage.records import Author, TicketStatus
from bot.types import Attachment, TextReceived
from tests.helpers.builders import DAY, MINUTE, png
from tests.helpers.fakes import MOD_CHAT, FakeUser, Harness, MakeHarness, harness
from tests.scenarios.words import WORDS


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """Moderators read English here ([bot] default_lang = "en"), users keep their own."""
    async with harness(tmp_path / "data", default_lang="en") as opened:
        yield opened


async def ticket_for(h: Harness, name: str, lang: str = "en") -> FakeUser:
    """A user with an open ticket."""
    user = h.user(name, lang)
    await user.command("human")
    return user


async def test_the_card_opens_a_thread_with_claim_and_close(h: Harness) -> None:
    await ticket_for(h, "alice")
    assert h.mods_adapter.threads == {"t1": (await h.moderators.in_ticket(1)).items[0].title}
    card = (await h.moderators.in_ticket(1)).items[0]
    assert "#1" in card.title and "alice" in card.title
    assert [b.label for b in card.flat_buttons] == ["Claim", "Close"]


async def test_claim_and_unclaim_tell_the_user(h: Harness, lang: str) -> None:
    w = WORDS[lang]
    user = await ticket_for(h, "alice", lang)
    mod = h.moderator("bob")
    await mod.presses("Claim", 1)
    assert user.received(w.claimed)
    ticket = await h.ticket(1)
    assert ticket.status == TicketStatus.CLAIMED and ticket.claimed_by == "fakemod:bob"
    assert (await h.moderators.in_ticket(1)).has("#1 claimed by bob")
    await mod.presses("Unclaim", 1)
    assert user.received(user.t("ticket_unclaimed", id=1))
    assert (await h.ticket(1)).status == TicketStatus.OPEN
    said = await user.command("status")
    assert said.has(w.queue)


async def test_a_claim_of_another_moderators_ticket_says_whose_it_was(h: Harness) -> None:
    """It was "#1 claimed by amy.", as if nobody had it."""
    user = await ticket_for(h, "alice")
    await h.moderator("bob").presses("Claim", 1)
    told = len(user.inbox)
    await h.moderator("amy").command(1, "claim")
    assert (await h.moderators.in_ticket(1)).has("#1 taken over by amy (it was bob's).")
    assert (await h.ticket(1)).claimed_by == "fakemod:amy"
    assert len(user.inbox) == told  # the user knows a moderator has it already
    history = [m.text for m in await h.store.messages(1) if m.author is Author.SYSTEM]
    assert history[-1] == "took over from bob"
    await h.moderator("bob").command(1, "unclaim")
    assert (await h.moderators.in_ticket(1)).has("#1 unclaimed by bob (it was amy's)")
    assert user.received(user.t("ticket_unclaimed", id=1))


async def test_close_with_a_number_names_the_ticket_not_a_reason(h: Harness) -> None:
    """ "/close 99" in #1's thread closed #1 with the reason "99"; "/close #1 duplicate" is
    #1 with a reason; "/close 3 days given" asks which is meant (#3, or #1 with a reason)."""
    await ticket_for(h, "alice")
    mod = h.moderator("bob")
    await mod.command(1, "close", "99")
    assert (await h.ticket(1)).status == TicketStatus.OPEN
    assert h.moderators.received("There is no ticket #99.")
    await mod.command(1, "close", "3 days given")  # #3, or #1 with that reason? asked
    assert h.moderators.received("Which ticket? Write /close #3 REASON to close #3")
    assert (await h.ticket(1)).status == TicketStatus.OPEN
    await mod.command(1, "close", "#1 3 days given")
    assert (await h.ticket(1)).close_reason == "3 days given"
    await mod.command(1, "reopen")
    await mod.command(None, "close", "#1 duplicate")
    assert (await h.ticket(1)).status == TicketStatus.CLOSED
    assert (await h.ticket(1)).close_reason == "duplicate"


async def test_an_empty_note_is_not_kept(h: Harness) -> None:
    await ticket_for(h, "alice")
    before = len(await h.store.messages(1))
    await h.moderator("bob").command(1, "note", "  ")
    assert h.moderators.received(h.t("en", "mod_note_usage"))
    assert len(await h.store.messages(1)) == before


async def test_a_reply_is_relayed_to_the_user_in_their_language(h: Harness, lang: str) -> None:
    user = await ticket_for(h, "alice", lang)
    await h.moderator("bob").says_in(1, "Please send your order number")
    assert user.last_text() == WORDS[lang].mod_prefix + "Please send your order number"
    ticket = await h.ticket(1)
    assert ticket.status == TicketStatus.CLAIMED  # answering takes the ticket
    assert ticket.first_response_at is not None
    history = await h.store.messages(1)
    assert (history[-1].author, history[-1].text) == (Author.MODERATOR,
                                                      "Please send your order number")  # fmt: skip


async def test_moderator_names_on_replies_are_a_setting(make_harness: MakeHarness) -> None:
    async with make_harness(handoff={"moderator_names": True}, default_lang="en") as h:
        user = await ticket_for(h, "alice")
        await h.moderator("bob").says_in(1, "hi")
        assert user.last_text() == "bob: hi"


async def test_a_moderator_image_reaches_the_user(h: Harness) -> None:
    user = await ticket_for(h, "alice")
    mod = h.moderator("bob")
    h.mods_adapter.files["pic"] = png(color=(3, 3, 3))
    chat = await h.thread_of(1)
    await h.deliver(TextReceived(mod.ref, chat, h.next_id(), "like this",
                                 (Attachment("pic", "x.png", "image/png", 70),)))  # fmt: skip
    assert user.last.files and user.last_text().endswith("like this")


async def test_a_note_is_kept_and_never_relayed(h: Harness, lang: str) -> None:
    user = await ticket_for(h, "alice", lang)
    before = len(user.inbox)
    await h.moderator("bob").command(1, "note", "probably a false positive")
    assert len(user.inbox) == before
    assert not user.received("false positive")
    history = await h.store.messages(1)
    assert (history[-1].author, history[-1].text) == (Author.NOTE, "probably a false positive")
    assert (await h.moderators.in_ticket(1)).has("Note added to #1")


async def test_close_with_a_reason_tells_the_user(h: Harness, lang: str) -> None:
    w = WORDS[lang]
    user = await ticket_for(h, "alice", lang)
    await h.moderator("bob").command(1, "close", "The ban was lifted")
    assert w.closed_by_mod in user.last_text() and "The ban was lifted" in user.last_text()
    ticket = await h.ticket(1)
    assert ticket.status == TicketStatus.CLOSED and ticket.close_reason == "The ban was lifted"
    assert (await h.moderators.in_ticket(1)).has("#1 closed by bob")
    assert w.reopen in user.labels()


async def test_the_close_button(h: Harness) -> None:
    user = await ticket_for(h, "alice")
    await h.moderator("bob").presses("Close", 1)
    assert (await h.ticket(1)).status == TicketStatus.CLOSED
    assert WORDS["en"].rate in user.last_text()
    await h.moderator("bob").says_in(1, "one more thing")
    assert not user.received("one more thing")  # closed: nothing relayed
    assert (await h.moderators.in_ticket(1)).has("#1 is closed: your message was not sent.")


async def test_the_user_reopens_within_the_window_and_not_after(h: Harness) -> None:
    user = await ticket_for(h, "alice")
    await h.moderator("bob").command(1, "close", "done")
    reopen = user.button("Reopen").data
    await h.advance(3 * DAY)
    assert (await user.presses_data(reopen)).has("is open again")
    assert (await h.moderators.in_ticket(1)).has("#1 reopened by the user")
    await h.moderator("bob").command(1, "close", "done again")
    await h.advance(7 * DAY + MINUTE)
    assert (await user.presses("Reopen")).has("closed too long ago")


async def test_a_moderator_reopens(h: Harness, lang: str) -> None:
    user = await ticket_for(h, "alice", lang)
    mod = h.moderator("bob")
    await mod.command(1, "close")
    await h.advance(30 * DAY)
    await mod.presses("Reopen", 1)
    ticket = await h.ticket(1)
    assert ticket.status == TicketStatus.CLAIMED and ticket.claimed_by == "fakemod:bob"
    assert user.received(WORDS[lang].reopened)
    await mod.says_in(1, "back on it")
    assert user.last_text().endswith("back on it")


async def test_a_moderator_cannot_reopen_when_the_user_has_another_open_ticket(
    h: Harness,
) -> None:
    user = await ticket_for(h, "alice")
    mod = h.moderator("bob")
    await mod.command(1, "close")
    await user.command("human")
    await mod.command(1, "reopen")
    assert (await h.ticket(1)).status == TicketStatus.CLOSED
    assert [t.id for t in await h.store.queue()] == [2]


async def test_block_stops_new_tickets_and_unblock_allows_them(h: Harness, lang: str) -> None:
    w = WORDS[lang]
    user = await ticket_for(h, "alice", lang)
    mod = h.moderator("bob")
    await mod.command(1, "block")
    assert h.moderators.received("alice is blocked")
    await mod.command(1, "close", "spam")
    assert (await user.command("human")).has(w.banned_notice)
    for text in ("转人工", "talk to a human"):
        said = await user.says(text)
        assert said.has(w.banned_notice)
    await user.command("menu")
    said = await user.presses(w.human)
    assert said.has(w.banned_notice)
    for reopen in ("command", "typed"):  # reopening the closed one opened it again
        said = await (user.command("reopen") if reopen == "command" else user.says(w.reopen))
        assert said.has(w.banned_notice), reopen
    assert await user.open_ticket() is None
    said = await user.says(w.question)  # the help center is still open to them
    assert said.has(w.did_it_help)
    await mod.command(1, "unblock")
    await user.command("human")  # after an article with a form: the form is offered first
    said = await user.presses(w.human_now)
    assert said.has("#2")


async def test_snippets(h: Harness, lang: str) -> None:
    user = await ticket_for(h, "alice", lang)
    mod = h.moderator("bob")
    await mod.command(None, "snippet-add", "wait Thanks, we are checking with the team.")
    await mod.command(None, "snippets")
    assert h.moderators.received("wait: Thanks, we are checking with the team.")
    await mod.command(1, "snippet", "wait")
    assert user.last_text().endswith("Thanks, we are checking with the team.")
    await mod.command(1, "snippet", "nope")
    assert h.moderators.received("No snippet named 'nope'. Known: wait")
    assert not user.received("nope")


async def test_the_queue_is_by_priority_then_age(h: Harness) -> None:
    w = WORDS["en"]
    order = [("p0", None), ("p2", "content/moderation"), ("p3", "account/banned"),
             ("p2late", "content/moderation"), ("p1", "account/password")]  # fmt: skip
    for name, category in order:
        user = h.user(name, "en")
        await user.command("start")
        if category is not None:
            cat = h.kb.categories[category]
            await user.presses(h.kb.categories[cat.parent].label("en"))
            await user.presses(cat.label("en"))
            await user.presses(w.human)
            await user.presses(w.human_now)
        else:
            await user.command("human")
        await h.advance(MINUTE)
    queue = await h.store.queue()
    assert [t.user_name for t in queue] == ["p3", "p2", "p2late", "p1", "p0"]
    assert [t.priority for t in queue] == [3, 2, 2, 1, 0]
    await h.moderator("bob").command(None, "queue")
    listing = h.moderators.last_text()
    lines = listing.splitlines()[1:]
    assert [line.split(" · ")[2] for line in lines] == ["p3", "p2", "p2late", "p1", "p0"]
    assert not any(line.endswith("·") or line.endswith(" ") for line in lines)
    said = await h.user("p0", "en").command("status")
    assert said.has("number 5")
    said = await h.user("p3", "en").command("status")
    assert said.has("number 1")


async def test_a_non_moderator_in_the_moderator_chat_changes_nothing(h: Harness) -> None:
    user = await ticket_for(h, "alice")
    intruder = h.moderator("eve", is_moderator=False)
    claim = act(Verb.CLAIM, 1)
    await intruder.presses_data(claim, await h.thread_of(1))
    await intruder.presses_data(act(Verb.MOD_CLOSE, 1), await h.thread_of(1))
    await intruder.command(1, "close", "bye")
    await intruder.command(1, "block")
    await intruder.says_in(1, "hello from eve")
    ticket = await h.ticket(1)
    assert ticket.status == TicketStatus.OPEN and not ticket.claimed_by
    record = await h.store.get_user(user.key)
    assert record is not None and not record.banned
    assert not user.received("eve")
    assert h.moderators.received("Only moderators can do that.")
    assert await h.store.moderator_names(["fakemod:eve"]) == {}  # no moderator: no name kept


async def test_a_moderator_is_known_by_their_latest_name(h: Harness) -> None:
    await ticket_for(h, "alice")
    mod = h.moderator("5012345", display_name="王芳")
    await mod.presses("Claim", 1)
    assert (await h.ticket(1)).claimed_by == "fakemod:5012345"  # the key stays the identity
    assert await h.store.moderator_names(["fakemod:5012345"]) == {"fakemod:5012345": "王芳"}
    renamed = h.moderator("5012345", display_name="Wang Fang")
    await renamed.says_in(1, "on it")
    assert await h.store.moderator_names(["fakemod:5012345"]) == {"fakemod:5012345": "Wang Fang"}


async def test_moderator_buttons_pressed_in_a_private_chat_change_nothing(h: Harness) -> None:
    user = await ticket_for(h, "alice")
    other = h.user("mallory", "en")
    for verb in (Verb.CLAIM, Verb.MOD_CLOSE, Verb.UNCLAIM, Verb.MOD_REOPEN):
        said = await other.presses_data(act(verb, 1))
        assert said.has("Only moderators")
        said = await user.presses_data(act(verb, 1))
        assert said.has("Only moderators")
    assert (await h.ticket(1)).status == TicketStatus.OPEN


async def test_chatter_outside_ticket_threads_is_ignored(h: Harness) -> None:
    user = await ticket_for(h, "alice")
    before = (len(user.inbox), len(h.moderators.inbox))
    await h.deliver(TextReceived(h.moderator("bob").ref, MOD_CHAT, h.next_id(), "lunch?"))
    assert (len(user.inbox), len(h.moderators.inbox)) == before


async def test_a_deleted_thread_is_opened_again_with_the_card_first(h: Harness) -> None:
    user = await ticket_for(h, "alice")
    h.mods_adapter.failures.append(ThreadGone("topic deleted"))
    await user.says("are you there?")
    await h.advance(MINUTE)
    assert (await h.thread_of(1)).thread_id == "t2"
    replies = (await h.moderators.in_ticket(1)).items
    assert "#1" in replies[0].title and replies[0].flat_buttons
    assert replies[-1].text.endswith("are you there?")


async def test_a_failed_delivery_is_retried_until_it_arrives(h: Harness) -> None:
    user = await ticket_for(h, "alice")
    h.users_adapter.failures += [RetryLater("429", retry_after=3), RetryLater("timeout")]
    await h.moderator("bob").says_in(1, "hello?")
    assert not user.received("hello?")
    await h.advance(5)
    assert not user.received("hello?")
    await h.advance(10 * MINUTE)
    assert user.received("hello?")


async def test_an_unreachable_user_is_flagged_to_the_moderators(h: Harness) -> None:
    await ticket_for(h, "alice")
    h.users_adapter.failures.append(Unreachable("bot blocked by the user"))
    await h.moderator("bob").says_in(1, "hello?")
    assert (await h.ticket(1)).user_unreachable
    assert (await h.moderators.in_ticket(1)).has("can't be reached")


async def test_chinese_moderators_read_chinese(make_harness: MakeHarness) -> None:
    async with make_harness() as h:
        user = await ticket_for(h, "alice", "en")
        card = (await h.moderators.in_ticket(1)).items[0]
        assert [b.label for b in card.flat_buttons] == ["认领", "关闭"]
        await h.moderator("bob").presses("认领", 1)
        assert user.received("A moderator has picked up your ticket #1")
        assert (await h.moderators.in_ticket(1)).has("已由 bob 认领")


async def test_the_backlog_says_what_waits_per_chat(h: Harness) -> None:
    mod = h.moderator("bob")
    await mod.command(None, "backlog")
    assert h.moderators.last_text() == h.t("en", "mod_backlog_none")


async def test_a_ticket_number_that_names_none_is_said_so(h: Harness) -> None:
    """ "/claim 99" in the moderator chat: there is no #99 (before: "this chat isn't a ticket");
    a command that names no ticket, outside any topic, is told to use /queue."""
    mod = h.moderator("bob")
    await mod.command(None, "claim", "99")
    assert h.moderators.received("There is no ticket #99")
    await mod.command(None, "claim")
    assert h.moderators.received("This chat isn't a ticket")
