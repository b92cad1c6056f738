"""The service level: a ticket nobody has claimed within `[handoff] sla_minutes` pages the
moderators again (once per SLA period), while staffed hours are on."""

from __future__ import annotations

from bot.deliveries import to_ticket_topic
from bot.flows.turn import Services
from bot.storage.records import TicketStatus
from bot.types import Reply


async def repage(svc: Services) -> int:
    """Page again for each ticket waiting past the SLA; how many were paged."""
    sla = svc.config.handoff.sla_minutes * 60
    if sla <= 0:
        return 0
    now = svc.clock()
    if svc.hours is not None and not svc.hours.is_open(now):
        return 0
    paged = 0
    for ticket in await svc.store.queue():
        last = ticket.last_paged_at or ticket.created_at
        if ticket.status != TicketStatus.OPEN or now - last < sla:
            continue
        minutes = int((now - ticket.created_at) // 60)
        text = svc.texts(svc.mod_lang, "mod_sla", id=ticket.id, minutes=minutes)
        async with svc.store.transaction():
            for chat in svc.surfaces_of(ticket):
                key = f"sla:{ticket.id}:{int(now)}:{chat.platform}"
                await svc.store.enqueue(to_ticket_topic(chat, ticket.id, Reply(text), key, now))
            await svc.store.touch_paged(ticket.id, now)
        paged += 1
    return paged
