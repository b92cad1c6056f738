"""Issue 14: routes. A ticket goes to the moderators of its category's route, to the least
busy of the route's groups, keeps them for its life, and `/move CATEGORY` sends it to another
team: a new topic there with its card and history, a closing note in the old one, one note to
the user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.ports import RetryLater
from bot.routes import Route, Routes
from bot.storage.records import TicketStatus
from bot.types import ChatKind, ChatRef, CommandReceived
from tests.helpers.fakes import MODS, Harness, harness
from tests.scenarios.steps import fill_form, reach_person

ORDERS = (("commerce/", ((MODS, ("orders-1", "orders-2")),), 2),)
ACCOUNT = Route("account/", ((MODS, ("safety",)),))
DEFAULT = Route("*", ((MODS, ("general",)),))


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """A harness whose moderators are split: orders (two groups), account, everything else."""
    async with harness(tmp_path / "data", default_lang="en") as opened:
        routes = (Route(*ORDERS[0]), ACCOUNT)
        opened.services.routes = Routes(routes, DEFAULT)
        yield opened


def _chat_of_card(h: Harness, ticket_id: int) -> str:
    [card] = [o for o in h.mods_adapter.sent if o.ticket_id == ticket_id and o.reply.title]
    return card.to.id


async def test_a_ticket_goes_to_its_routes_least_busy_group(h: Harness) -> None:
    first, second = h.user("alice", "en"), h.user("bob", "en")
    await fill_form(h, first, "commerce/orders")
    await fill_form(h, second, "commerce/orders")
    one, two = await h.ticket(1), await h.ticket(2)
    assert one.surfaces == [(MODS, "orders-1")]
    assert two.surfaces == [(MODS, "orders-2")]  # orders-1 already sent #1's card
    assert (_chat_of_card(h, 1), _chat_of_card(h, 2)) == ("orders-1", "orders-2")
    assert two.priority == h.kb.priority_of("commerce/orders") + 2  # the route's priority


async def test_a_ticket_keeps_its_group_for_life(h: Harness) -> None:
    user = h.user("alice", "en")
    await fill_form(h, user, "commerce/orders")
    h.services.routes = Routes((), DEFAULT)  # the config changed: new tickets go elsewhere
    await user.says("one more thing")
    relays = [o for o in h.mods_adapter.sent if "one more thing" in o.reply.text]
    assert [o.to.id for o in relays] == ["orders-1"]


async def test_a_ticket_no_route_matches_goes_to_the_default(h: Harness) -> None:
    user = h.user("alice", "en")
    await reach_person(user)
    assert (await h.ticket(1)).surfaces == [(MODS, "general")]


async def test_move_gives_the_ticket_a_new_topic_with_its_card_and_history(h: Harness) -> None:
    user = h.user("alice", "en")
    await fill_form(h, user, "commerce/orders")
    await user.says("the parcel never came")
    mod = h.moderator("mei")
    old = await h.thread_of(1)
    sent_before = len(user.inbox)
    await mod.command(1, "move", "account/security")
    ticket = await h.ticket(1)
    assert ticket.category == "account/security" and ticket.surfaces == [(MODS, "safety")]
    [farewell] = [o for o in h.mods_adapter.sent if o.to.thread_id == old.thread_id][-1:]
    assert farewell.reply.close_thread and "moved" in farewell.reply.text
    new = await h.thread_of(1)
    assert (new.id, new.thread_id != old.thread_id) == ("safety", True)
    there = (await h.moderators.in_ticket(1)).text
    assert "#1" in there and "the parcel never came" in there  # card and history
    assert [o.reply.text for o in user.inbox[sent_before:]] == [
        user.t("ticket_moved", id=1)
    ]  # the user sees nothing of the move but a note
    await user.says("any news?")
    assert (await h.moderators.in_ticket(1)).has("any news?")  # relays go to the new topic
    in_old = [o.reply.text for o in h.mods_adapter.sent if o.to.thread_id == old.thread_id]
    assert not any("any news?" in text for text in in_old)


async def test_move_to_an_unknown_category_says_how(h: Harness) -> None:
    user = h.user("alice", "en")
    await fill_form(h, user, "commerce/orders")
    await h.moderator("mei").command(1, "move", "no/such/category")
    assert "/move" in h.moderators.last_text()
    assert (await h.ticket(1)).category == "commerce/orders"


async def test_rights_follow_the_group_a_ticket_belongs_to(h: Harness) -> None:
    user = h.user("alice", "en")
    await fill_form(h, user, "commerce/orders")
    mod = h.moderator("mei")
    safety = ChatRef(MODS, "safety", ChatKind.MODERATION)
    await h.deliver(CommandReceived(mod.ref, safety, h.next_id(), "claim", "1"))
    assert h.moderators.last_text() == h.t("en", "mod_other_team", id=1)
    assert (await h.ticket(1)).status is TicketStatus.OPEN
    await mod.command(1, "claim")  # in the ticket's own topic, in its own group
    assert (await h.ticket(1)).status is TicketStatus.CLAIMED


async def test_the_card_says_how_much_waits_for_its_group(h: Harness) -> None:
    h.mods_adapter.failures.extend(RetryLater("429") for _ in range(3))  # the group's budget
    first, second = h.user("alice", "en"), h.user("bob", "en")
    await fill_form(h, first, "account/security")  # its card is held back by the 429s
    await fill_form(h, second, "account/security")
    for _ in range(3):  # the retries come due (each failure backs off further)
        await h.advance(600)
    cards = [o for o in h.mods_adapter.sent if o.reply.title and o.ticket_id == 2]
    assert h.t("en", "mod_card_held", n=1) in cards[0].reply.text
    [first_card] = [o for o in h.mods_adapter.sent if o.reply.title and o.ticket_id == 1]
    assert "⏳" not in first_card.reply.text  # nothing waited when #1 came in


async def test_the_backlog_names_every_teams_group_and_how_long_its_oldest_waited(
    h: Harness,
) -> None:
    h.mods_adapter.failures.append(RetryLater("429"))  # the safety group's budget is spent
    await fill_form(h, h.user("alice", "en"), "account/security")
    h.clock.now += 42
    await h.moderator("mei").command(None, "backlog")
    lines = h.moderators.last_text().splitlines()
    assert lines[0] == h.t("en", "mod_backlog_title", n=1)
    assert f"{MODS} safety: 1 waiting, the oldest for 42 s" in lines
    for group in ("orders-1", "orders-2", "general"):  # every team's group, waiting or not
        assert h.t("en", "mod_backlog_clear", platform=MODS, chat=group) in lines
