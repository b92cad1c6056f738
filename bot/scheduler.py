"""Timed work that must survive restarts: paging again when a ticket waits too long, retention.

Its state is the tickets' `last_paged_at` column, so a restart resumes where it stood.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.flows import sla
from bot.flows.turn import Services

log = logging.getLogger(__name__)

DAY = 86400.0


class Scheduler:
    """Re-pages the moderators for tickets nobody claimed within the SLA."""

    def __init__(
        self,
        svc: Services,
        wake: Callable[[], None],
        every: float = 30.0,
        delete_file: Callable[[str], None] = lambda _path: None,
    ) -> None:
        self._svc = svc
        self._wake = wake
        self._every = every
        self._delete_file = delete_file
        self._last_expiry = 0.0

    async def run(self) -> None:
        """Check forever (until cancelled)."""
        while True:
            try:
                if await self.check():
                    self._wake()
                await self.expire()
            except Exception:
                log.exception("scheduled work failed")
            await asyncio.sleep(self._every)

    async def expire(self, every: float = 3600.0) -> int:
        """Hourly: delete attachments of tickets closed longer than `[bot] retention_days`,
        and forget delivered messages and seen event ids older than `[bot] log_days`."""
        bot, now = self._svc.config.bot, self._svc.clock()
        if now - self._last_expiry < every:
            return 0
        self._last_expiry = now
        if bot.log_days > 0:
            pruned = await self._svc.store.prune_log(now - bot.log_days * DAY)
            if pruned:
                log.info("retention: forgot %d delivered messages and seen events", pruned)
        if bot.retention_days <= 0:
            return 0
        paths = await self._svc.store.expire_files(now - bot.retention_days * DAY)
        for path in paths:
            self._delete_file(path)
        if paths:
            log.info("retention: deleted %d attachments of closed tickets", len(paths))
        return len(paths)

    async def check(self) -> int:
        """Page again for each ticket over the SLA; returns how many were paged."""
        return await sla.repage(self._svc)
