"""How many moderators are at work: counted over the last hour, at most once a minute.

The count feeds the wait estimate every status message shows; counting it means reading every
ticket message of the last hour, so a busy help desk would count it hundreds of times a
minute for the same answer. A minute-old count is as honest for an estimate.
"""

from __future__ import annotations

from bot.storage.base import TicketStore

ACTIVE_WINDOW = 3600.0  # a moderator who wrote, claimed or closed in the last hour is at work
FRESH_FOR = 60.0  # seconds a count is used before counting again


class Staffing:
    """The number of active moderators, counted again when a minute has passed."""

    def __init__(self) -> None:
        self._count = 0
        self._at: float | None = None

    async def active(self, store: TicketStore, now: float) -> int:
        """Moderators active in the last hour (at least one is assumed: someone will come)."""
        if self._at is None or not 0 <= now - self._at < FRESH_FOR:
            self._count = await store.active_moderators(now - ACTIVE_WINDOW)
            self._at = now
        return max(1, self._count)
