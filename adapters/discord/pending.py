"""Interactions acknowledged with a deferral and not yet answered, per user.

The core answers an interaction through send() to the user's DM channel. A deferred "thinking"
response must be resolved or Discord shows it spinning, so the first delivery (or a timer)
settles it; and when the user's DMs are closed (error 50007), the reply goes to the pending
interaction as an ephemeral follow-up instead (its token is valid for 15 minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import discord

log = logging.getLogger(__name__)

TOKEN_LIFETIME = 14 * 60.0  # Discord: an interaction token is valid for 15 minutes
SETTLE_AFTER = 3.0  # seconds to wait for the core's first reply before clearing "thinking…"
POINTER = "📬 已在私信中回复你 · I replied in your DMs: https://discord.com/channels/@me/{dm}"


@dataclass(slots=True)
class Pending:
    """One deferred interaction of a user, and how it was acknowledged."""

    interaction: discord.Interaction
    user_id: int
    dm_id: int
    thinking: bool  # a "thinking…" message is showing and must be resolved
    in_guild: bool
    created: float
    settled: bool = False

    @property
    def expired(self) -> bool:
        """True once the interaction token can no longer be used."""
        return time.monotonic() - self.created > TOKEN_LIFETIME


class PendingInteractions:
    """The latest deferred interaction of each user, keyed by their DM channel."""

    def __init__(self, settle_after: float = SETTLE_AFTER) -> None:
        self._by_dm: dict[int, Pending] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._settle_after = settle_after

    def add(self, interaction: discord.Interaction, dm_id: int, *, thinking: bool) -> Pending:
        """Remember an interaction that was just deferred."""
        pending = Pending(
            interaction=interaction,
            user_id=interaction.user.id,
            dm_id=dm_id,
            thinking=thinking,
            in_guild=interaction.guild_id is not None,
            created=time.monotonic(),
        )
        self._by_dm[dm_id] = pending
        return pending

    def find(self, chat_id: int) -> Pending | None:
        """The live pending interaction for a DM channel id or a user id, if any."""
        pending = self._by_dm.get(chat_id)
        if pending is None:
            pending = next((p for p in self._by_dm.values() if p.user_id == chat_id), None)
        if pending is None or pending.expired:
            return None
        return pending

    async def settle(self, pending: Pending) -> None:
        """Resolve a "thinking…" response: a pointer to the DMs in a guild, else remove it."""
        if pending.settled or not pending.thinking:
            pending.settled = True
            return
        pending.settled = True
        try:
            if pending.in_guild:
                await pending.interaction.edit_original_response(
                    content=POINTER.format(dm=pending.dm_id)
                )
            else:
                await pending.interaction.delete_original_response()
        except discord.HTTPException as exc:
            log.debug("could not settle interaction %s: %s", pending.interaction.id, exc)

    def settle_later(self, pending: Pending) -> None:
        """Settle after a grace period unless a delivery settles it first."""
        if pending.settled or not pending.thinking:
            return
        task = asyncio.create_task(self._settle_after_delay(pending))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle_after_delay(self, pending: Pending) -> None:
        await asyncio.sleep(self._settle_after)
        await self.settle(pending)

    def prune(self) -> None:
        """Forget expired interactions."""
        for dm_id in [k for k, p in self._by_dm.items() if p.expired]:
            del self._by_dm[dm_id]

    async def aclose(self) -> None:
        """Cancel the settle timers."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
