"""The user's slash commands: /start /help /menu /human /status /cancel /lang /forget /close
/reopen."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.flows import handoff, lifecycle, menu
from bot.flows.turn import Turn
from bot.texts import normalize_lang

Command = Callable[[Turn, str], Awaitable[None]]


async def _start(turn: Turn, _args: str) -> None:
    menu.greet(turn)
    if turn.ticket is not None:
        await handoff.show_status(turn)


async def _menu(turn: Turn, _args: str) -> None:
    menu.show_menu(turn)


async def _human(turn: Turn, _args: str) -> None:
    await handoff.request_human(turn)


async def _status(turn: Turn, _args: str) -> None:
    await handoff.show_status(turn)


async def _cancel(turn: Turn, _args: str) -> None:
    menu.cancel(turn)


async def _lang(turn: Turn, args: str) -> None:
    lang = normalize_lang(args)
    if lang:
        await menu.set_lang(turn, lang)
    else:
        menu.ask_lang(turn)


async def _forget(turn: Turn, _args: str) -> None:
    lifecycle.ask_forget(turn)


async def _close(turn: Turn, _args: str) -> None:
    if turn.ticket is not None:
        await lifecycle.close_by_user(turn, str(turn.ticket.id))
    else:
        await handoff.show_status(turn)


async def _reopen(turn: Turn, _args: str) -> None:
    """Their latest ticket, if it is closed (within the window, as its Reopen button)."""
    if turn.ticket is not None:
        await handoff.show_status(turn)
        return
    ticket = await lifecycle.latest_closed(turn)
    if ticket is None:
        turn.text("nothing_to_reopen", turn.human_row())
        return
    await lifecycle.reopen_by_user(turn, str(ticket.id))


HANDLERS: dict[str, Command] = {
    "start": _start,
    "help": _menu,
    "menu": _menu,
    "human": _human,
    "status": _status,
    "cancel": _cancel,
    "lang": _lang,
    "forget": _forget,
    "close": _close,
    "reopen": _reopen,
}
