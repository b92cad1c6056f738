"""Kefu's real runtime against the fake platforms, and what the reliability tests read from it.

`telegram_kefu(tg, data_dir, bot={...})` is `kefu run` in-process (like tests/adapters/telegram
/dialog.kefu, plus [bot] overrides such as max_image_bytes); `settled()` waits until every
update is confirmed and every delivery is out; `Snapshot` is the state a forged event must not
change: tickets, their histories, other people's conversations and bans, the snippets, the
dead letters and every delivery to somebody other than the person who acted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.telegram.adapter import TelegramAdapter
from bot.app import Runtime, open_runtime, serve
from bot.flows.turn import OFFERED
from bot.storage.base import Store
from bot.storage.records import OutboxStatus
from tests.adapters.telegram.dialog import help_center, kefu_config
from tests.helpers.fake_telegram import FakeTelegram

SETTLE = 8.0  # seconds the runtime may take to confirm every update and deliver everything


@asynccontextmanager
async def telegram_kefu(
    tg: FakeTelegram,
    data_dir: Path,
    *,
    bot: dict[str, Any] | None = None,
    clock: Callable[[], float] = time.time,
    **telegram: Any,
) -> AsyncIterator[Runtime]:
    """`kefu run` in-process over the fake Bot API: the real store, engine, outbox, adapter
    (`clock`: the runtime's, e.g. one the test holds still so no retry comes due)."""
    config = kefu_config(tg, data_dir, **telegram)
    if bot:
        config = dataclasses.replace(config, bot=dataclasses.replace(config.bot, **bot))
    adapter = TelegramAdapter(config, album_delay=0.3, poll_timeout=2)
    kb, index = await asyncio.to_thread(help_center)
    opened = open_runtime(config, [adapter], clock=clock, kb=kb, index=index)
    async with adapter, opened as runtime:
        task = asyncio.create_task(serve(runtime))
        try:
            yield runtime
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def pending_deliveries(store: Store) -> int:
    """Deliveries not yet made (due now or waiting for a retry)."""
    return len(await store.outbox_items([OutboxStatus.PENDING], limit=10_000))


async def settled(rt: Runtime, tg: FakeTelegram, within: float = SETTLE) -> None:
    """Wait until Telegram holds no unconfirmed update and the outbox has nothing pending."""
    deadline = time.monotonic() + within
    while True:
        if not tg.pending_updates() and not await pending_deliveries(rt.store):
            await asyncio.sleep(0.05)  # a last look: the poller may be mid-batch
            if not tg.pending_updates() and not await pending_deliveries(rt.store):
                return
        if time.monotonic() > deadline:
            left = await rt.store.outbox_items([OutboxStatus.PENDING], limit=20)
            raise AssertionError(
                f"not settled in {within} s: updates {tg.pending_updates()}, "
                f"deliveries {[(i.key, i.attempts, i.last_error) for i in left]}"
            )
        await asyncio.sleep(0.05)


@dataclass(frozen=True)
class Snapshot:
    """What a forged or refused event must leave exactly as it was."""

    tickets: tuple[tuple[Any, ...], ...]
    history: tuple[tuple[int, int], ...]
    people: tuple[tuple[Any, ...], ...]
    snippets: tuple[tuple[str, str], ...]
    dead: tuple[int, ...]
    deliveries: tuple[tuple[tuple[int, int | None], int], ...]

    @classmethod
    async def take(
        cls,
        store: Store,
        tg: FakeTelegram,
        people: Iterable[str] = (),
        actor: tuple[int, int | None] | None = None,
    ) -> Snapshot:
        """The state now; `people` are user keys; deliveries to `actor` (chat id, topic) are
        left out: that is where the answer to the event goes (tests check it on its own)."""
        tickets = await store.list_tickets(limit=1000)
        rows = tuple(
            sorted(
                (t.id, t.user_key, t.chat_id, t.status.value, t.rating, t.claimed_by, t.closed_by)
                for t in tickets
            )
        )
        history = tuple(sorted([(t.id, len(await store.messages(t.id))) for t in tickets]))
        found = []
        for key in sorted(people):
            user = await store.get_user(key)
            conv = await store.load_conversation(key)
            found.append(
                (
                    key,
                    (user.banned, user.lang) if user else None,
                    (conv.step.value, repr(sorted(_state(conv.data))), conv.lang)
                    if conv
                    else None,
                )
            )
        dead = await store.outbox_items([OutboxStatus.DEAD], limit=10_000)
        sent = Counter((s.chat_id, s.thread_id) for s in tg.sent)
        if actor is not None:
            sent.pop(actor, None)
        return cls(
            rows,
            history,
            tuple(found),
            tuple(await store.list_snippets()),
            tuple(sorted(i.id for i in dead)),
            tuple(sorted(sent.items(), key=repr)),
        )


def files_under(root: Path) -> list[Path]:
    """Every regular file below `root`, relative to it."""
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def _state(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """A conversation's step data, less the buttons it was shown last (what a label typed
    presses: a refusal's own buttons are the last ones shown, and that is no change of state)."""
    return [(k, v) for k, v in data.items() if k != OFFERED]
