"""What the outbox's reports lead to: a card for a new topic, the ticket marked when its user
cannot be reached, the moderators told of a failed page, the user told that moderators are
slow to get their messages, a user's lines packed into one message. Implements
bot.outbox.DeliveryReports."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.deliveries import payload_to_reply, to_chat, to_ticket_topic
from bot.flows import handoff
from bot.flows.turn import Services
from bot.storage.records import Author, OutboxItem, TicketMessage, TicketStatus
from bot.types import ChatKind, ChatRef, Reply

REASON_SHOWN = 200  # characters of a delivery error shown to the moderators


def _zone(name: str) -> tzinfo:
    """[handoff] timezone, UTC when it names no zone (the config check reports it)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


class DeliveryNotices:
    """Turns delivery outcomes into notices, through the store and the outbox."""

    def __init__(self, svc: Services) -> None:
        self._svc = svc
        self._zone = _zone(svc.config.handoff.timezone)

    def packed(self, items: Sequence[OutboxItem]) -> Reply:
        """A user's lines that waited for the same send slot, as one message: each line with
        the time it came in ([handoff] timezone), in order."""
        lines = []
        for item in items:
            at = datetime.fromtimestamp(item.created_at, UTC).astimezone(self._zone)
            lines.append(f"[{at:%H:%M:%S}] {item.payload.get('text', '')}")
        first = payload_to_reply(items[0].payload)
        return dataclasses.replace(first, text="\n".join(lines))

    async def card(self, ticket_id: int) -> Reply | None:
        """The current card of a ticket (for a new or recreated topic)."""
        ticket = await self._svc.store.get_ticket(ticket_id)
        return await handoff.card(self._svc, ticket) if ticket else None

    async def late(self, item: OutboxItem) -> None:
        """A page or relay to the moderators keeps failing: tell the ticket's user, once."""
        if not item.to_ticket or not item.ticket_id:
            return
        svc = self._svc
        ticket = await svc.store.get_ticket(item.ticket_id)
        if ticket is None or ticket.status == TicketStatus.CLOSED:
            return
        text = svc.texts(ticket.lang, "delivery_late")
        chat = ChatRef(ticket.platform, ticket.chat_id, ChatKind.PRIVATE)
        key = f"late:{ticket.id}:{item.platform}"
        await svc.store.enqueue(to_chat(chat, Reply(text), key, svc.clock(), ticket.id))

    async def failed(self, item: OutboxItem, reason: str, unreachable: bool) -> None:
        """A delivery failed for good or arrived degraded: mark it, tell the moderators."""
        svc = self._svc
        to_user = not item.to_ticket and item.chat_kind is ChatKind.PRIVATE
        ticket = await svc.store.get_ticket(item.ticket_id) if item.ticket_id else None
        if unreachable and to_user:
            user_key = ticket.user_key if ticket else f"{item.platform}:{item.chat_id}"
            await svc.store.set_blocked_bot(user_key, True)
            if ticket is not None and not await svc.store.set_user_unreachable(ticket.id, True):
                return  # the moderators were told already; no notice per failed reply
        if ticket is None:
            return
        now, lang = svc.clock(), svc.mod_lang
        line = svc.texts(lang, "log_delivery_problem", reason=reason[:REASON_SHOWN])
        async with svc.store.transaction():
            await svc.store.add_message(
                TicketMessage(ticket.id, Author.SYSTEM, "", "", line, created_at=now)
            )
            text = (
                svc.texts(lang, "mod_card_unreachable", platform=ticket.platform)
                if unreachable and to_user
                else svc.texts(lang, "mod_delivery_failed", reason=reason[:REASON_SHOWN])
            )
            for chat in svc.surfaces_of(ticket):
                if chat.platform == item.platform and not to_user:
                    continue  # that surface is the one failing: tell the others
                key = f"problem:{item.id}:{chat.platform}"
                await svc.store.enqueue(to_ticket_topic(chat, ticket.id, Reply(text), key, now))
