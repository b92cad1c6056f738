"""The user's buttons: one handler per verb (the dispatch table)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.actions import Verb
from bot.flows import appeal, handoff, lifecycle, menu, search
from bot.flows.turn import Turn

Handler = Callable[[Turn, str, str], Awaitable[None]]


async def _menu(turn: Turn, a0: str, _a1: str) -> None:
    menu.show_menu(turn, a0)


async def _back(turn: Turn, a0: str, _a1: str) -> None:
    menu.go_back(turn, a0)


async def _article(turn: Turn, a0: str, _a1: str) -> None:
    others = [str(c) for c in turn.data.get("candidates", [])]
    search.show_article(turn, a0, others)


async def _solved(turn: Turn, a0: str, _a1: str) -> None:
    await search.feedback(turn, a0, solved=True)


async def _unsolved(turn: Turn, a0: str, _a1: str) -> None:
    await search.feedback(turn, a0, solved=False)


async def _human(turn: Turn, _a0: str, _a1: str) -> None:
    await handoff.request_human(turn)


async def _handoff_now(turn: Turn, _a0: str, _a1: str) -> None:
    if turn.ticket is not None:
        await handoff.show_status(turn)
    else:
        await handoff.create_ticket(turn)


async def _form(turn: Turn, a0: str, _a1: str) -> None:
    if turn.ticket is not None:
        await handoff.show_status(turn)
    else:
        appeal.start_form(turn, a0)


async def _field(turn: Turn, verb: Verb, a0: str, a1: str) -> None:
    appeal.on_button(turn, verb, a0, a1)


async def _edit(turn: Turn, a0: str, _a1: str) -> None:
    appeal.on_edit(turn, a0)


async def _submit(turn: Turn, _a0: str, _a1: str) -> None:
    await appeal.on_submit(turn)


async def _cancel(turn: Turn, _a0: str, _a1: str) -> None:
    menu.show_menu(turn, str(turn.data.get("category", "")), turn.t("form_cancelled"))


async def _status(turn: Turn, _a0: str, _a1: str) -> None:
    await handoff.show_status(turn)


async def _close(turn: Turn, a0: str, _a1: str) -> None:
    await lifecycle.close_by_user(turn, a0)


async def _reopen(turn: Turn, a0: str, _a1: str) -> None:
    await lifecycle.reopen_by_user(turn, a0)


async def _rate(turn: Turn, a0: str, a1: str) -> None:
    await lifecycle.rate(turn, a0, a1)


async def _lang(turn: Turn, a0: str, _a1: str) -> None:
    await menu.set_lang(turn, a0)


async def _forget_yes(turn: Turn, _a0: str, _a1: str) -> None:
    await lifecycle.forget(turn, confirmed=True)


async def _forget_no(turn: Turn, _a0: str, _a1: str) -> None:
    await lifecycle.forget(turn, confirmed=False)


def _field_handler(verb: Verb) -> Handler:
    async def handler(turn: Turn, a0: str, a1: str) -> None:
        await _field(turn, verb, a0, a1)

    return handler


HANDLERS: dict[Verb, Handler] = {
    Verb.MENU: _menu,
    Verb.BACK: _back,
    Verb.ARTICLE: _article,
    Verb.SOLVED: _solved,
    Verb.UNSOLVED: _unsolved,
    Verb.HUMAN: _human,
    Verb.HANDOFF_NOW: _handoff_now,
    Verb.FORM: _form,
    Verb.CHOICE: _field_handler(Verb.CHOICE),
    Verb.SKIP: _field_handler(Verb.SKIP),
    Verb.DONE_IMAGES: _field_handler(Verb.DONE_IMAGES),
    Verb.EDIT: _edit,
    Verb.SUBMIT: _submit,
    Verb.CANCEL: _cancel,
    Verb.STATUS: _status,
    Verb.CLOSE: _close,
    Verb.REOPEN: _reopen,
    Verb.RATE: _rate,
    Verb.LANG: _lang,
    Verb.FORGET_YES: _forget_yes,
    Verb.FORGET_NO: _forget_no,
}


async def press(turn: Turn, verb: Verb, a0: str, a1: str) -> None:
    """Run the handler of a user's button."""
    handler = HANDLERS.get(verb)
    if handler is None:
        turn.text("stale_button", turn.human_row())
        return
    await handler(turn, a0, a1)
