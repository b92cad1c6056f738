"""The desk's live view: new tickets and ticket messages, read from the shared database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.storage.base import TicketStore
from bot.storage.records import Author
from bot.texts import Texts

POLL_SECONDS = 0.5
SUMMARY_SHOWN = 80  # characters of a new ticket's question shown in the feed


class DeskFeed:
    """Prints what happens on tickets, whichever process or platform it came from."""

    def __init__(
        self,
        store: TicketStore,
        show: Callable[[str], None],
        desk_user: str,
        texts: Texts,
        lang: str,
    ) -> None:
        self._store = store
        self._show = show
        self._desk_user = desk_user
        self._texts = texts
        self._lang = lang
        self._last_message = 0
        self._last_ticket = 0

    def _t(self, key: str, **values: object) -> str:
        return self._texts(self._lang, key, **values)

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
            self._show(
                self._t(
                    "desk_new_ticket",
                    id=t.id,
                    priority=t.priority,
                    category=t.category or "-",
                    user=t.user_name or t.user_key,
                    platform=t.platform,
                    summary=t.summary[:SUMMARY_SHOWN],
                )
            )
            self._last_ticket = t.id
        for m in await self._store.messages_after(self._last_message):
            self._last_message = m.id
            if m.author_id == f"desk:{self._desk_user}":
                continue
            files = "".join(self._t("mod_file_ref", sha=sha[:12]) for sha in m.attachments)
            if m.author == Author.SYSTEM:
                line = self._texts.reread(m.text, self._lang)
                self._show(self._t("desk_event", id=m.ticket_id, text=line))
            else:
                author = self._t(f"author_{m.author.value}")
                name = m.author_name or m.author_id
                self._show(f"#{m.ticket_id} {author} {name}: {m.text}{files}")
