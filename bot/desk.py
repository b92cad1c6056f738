"""The desk's live view: new tickets and ticket messages, read from the shared database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.storage.base import Author, Store

POLL_SECONDS = 0.5


class DeskFeed:
    """Prints what happens on tickets, whichever process or platform it came from."""

    def __init__(self, store: Store, show: Callable[[str], None], desk_user: str) -> None:
        self._store = store
        self._show = show
        self._desk_user = desk_user
        self._last_message = 0
        self._last_ticket = 0

    async def start(self) -> None:
        """Skip history: the feed shows what happens from now on (/queue shows the rest)."""
        recent = await self._store.list_tickets((), limit=1)
        self._last_ticket = recent[0].id if recent else 0
        while batch := await self._store.messages_after(self._last_message, limit=500):
            self._last_message = batch[-1].id

    async def run(self) -> None:
        """Poll forever (until cancelled)."""
        await self.start()
        while True:
            await self.poll()
            await asyncio.sleep(POLL_SECONDS)

    async def poll(self) -> None:
        """Show new tickets, then new messages."""
        tickets = await self._store.list_tickets((), limit=50)
        for t in sorted((x for x in tickets if x.id > self._last_ticket), key=lambda x: x.id):
            who = t.user_name or t.user_key
            self._show(
                f"** new ticket #{t.id} [P{t.priority}] {t.category or '-'} from {who}"
                f" ({t.platform}): {t.summary[:80]}  (/open {t.id})"
            )
            self._last_ticket = t.id
        for m in await self._store.messages_after(self._last_message):
            self._last_message = m.id
            if m.author_id == f"desk:{self._desk_user}":
                continue
            files = "".join(f" [file {sha[:12]}]" for sha in m.attachments)
            if m.author == Author.SYSTEM:
                self._show(f"** #{m.ticket_id} {m.text}")
            else:
                name = m.author_name or m.author_id
                self._show(f"#{m.ticket_id} {m.author.value} {name}: {m.text}{files}")
