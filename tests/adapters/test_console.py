"""The terminal surfaces' reading of typed lines: which ticket the desk works on."""

from __future__ import annotations

import io

from adapters.console import DESK, ConsoleAdapter, console_user
from bot.types import ChatKind, ChatRef, CommandReceived, TextReceived


def _desk() -> ConsoleAdapter:
    me = ChatRef("desk", "dora", ChatKind.MODERATION)
    return ConsoleAdapter(
        "desk", console_user("dora", "", "desk"), me, capabilities=DESK, stdout=io.StringIO()
    )


def test_claiming_or_opening_a_ticket_by_number_makes_it_the_one_typing_answers() -> None:
    """`/claim 3` at the desk and then a typed line: the line answers #3, as after `/open 3`
    (before, it was refused as "not a ticket chat" until `/open 3`)."""
    desk = _desk()
    claim = desk.parse("/claim 3")
    assert isinstance(claim, CommandReceived) and (claim.name, claim.args) == ("claim", "3")
    reply = desk.parse("hello, I am looking at it")
    assert isinstance(reply, TextReceived) and reply.chat.thread_id == "3"
    desk.parse("/close 4 duplicate")  # acting on another ticket does not move the desk
    assert desk.chat.thread_id == "3"
    desk.parse("/reopen 5")
    assert desk.chat.thread_id == "5"
    desk.parse("/open 6")
    assert desk.chat.thread_id == "6"
    desk.parse("/claim")  # no number: the current one
    assert desk.chat.thread_id == "6"


async def test_the_language_named_on_the_command_line_is_chosen_once() -> None:
    """`kefu chat --lang en`, then `/lang zh`: the next message is answered in Chinese (the
    command line's choice came with every line and undid it)."""
    chat = ConsoleAdapter(
        "console",
        console_user("lin", "en", chosen=True),
        ChatRef("console", "lin", ChatKind.PRIVATE),
        stdin=io.StringIO("/start\n/lang zh\n3\n"),
        stdout=io.StringIO(),
    )
    seen: list[bool] = []

    async def sink(event: object) -> None:
        seen.append(event.user.locale_chosen)  # type: ignore[attr-defined]

    await chat.run(sink)
    assert seen == [True, False, False]
