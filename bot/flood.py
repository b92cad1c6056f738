"""Platform flood limits, as rules a gate enforces before each send of the outbox.

Telegram (Bot API FAQ): about 30 messages a second overall, one a second in a private chat
(short bursts allowed), 20 a minute in a group. Discord: 50 requests a second per bot, 5
messages per 5 seconds in a channel. A group's 20 a minute are spread evenly, one every 3 s: a
burst would spend the whole minute at once (one chatty ticket holding every other ticket of
the group back for a minute), while even slots leave each topic's next slot a little in the
future, so that what its user types meanwhile is packed into one message there (bot.outbox).

Where several processes send (PostgreSQL), the gate is in the database and counts every
process's sends (bot.storage.postgres.coordination), Discord's included. Where one process
sends (SQLite), it is MemoryFloodGate; discord.py paces its own requests there.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.storage.records import OutboxItem
from bot.types import ChatKind


@dataclass(frozen=True, slots=True)
class FloodRule:
    """At most `limit` sends under `key` in any `window` seconds."""

    key: str
    limit: int
    window: float


class FloodGate(Protocol):
    """Reserves sends against flood rules for every process that shares it."""

    async def reserve(self, rules: Sequence[FloodRule]) -> float:
        """Reserve one send under all the rules; seconds to wait before sending it."""
        ...


PRIVATE_BURST = 3  # Telegram: a private chat takes one message a second, in bursts of this many
GROUP_LIMIT = 20  # Telegram: messages a bot may send into one group …
GROUP_PERIOD = 60.0  # … per this many seconds
# A group's slots are kept 2% wider than its budget: a send reaches Telegram some milliseconds
# after its slot, never exactly, and 20 back-to-back slots must not fit in Telegram's minute.
SLOT_MARGIN = 1.02


def platform_limits(
    item: OutboxItem,
    paced: Collection[str],
    group_limit: int = GROUP_LIMIT,
    group_period: float = GROUP_PERIOD,
) -> list[FloodRule]:
    """The rules a delivery falls under (none for a platform not in `paced`).

    `group_limit` and `group_period`: a Telegram group's budget ([telegram] group_limit and
    group_period; tests scale them down), spent one slot every group_period / group_limit
    seconds.
    """
    if item.platform not in paced:
        return []
    chat = f"{item.platform}:chat:{item.chat_id}"
    if item.platform == "telegram":
        if item.chat_kind == ChatKind.PRIVATE:
            # "Avoid sending more than one message per second. We may allow short bursts that
            # go over this limit" (Bot API FAQ): an answer of two or three messages at once.
            per_chat = FloodRule(chat, PRIVATE_BURST, float(PRIVATE_BURST))
        else:  # a group, every topic together: evenly, one slot at a time
            slot = group_period / max(1, group_limit) * SLOT_MARGIN
            per_chat = FloodRule(chat, 1, slot)
        return [FloodRule("telegram:bot", 30, 1.0), per_chat]
    if item.platform == "discord":
        channel = f"{chat}:{item.lane}"  # a ticket's thread is a channel of its own
        return [FloodRule("discord:bot", 50, 1.0), FloodRule(channel, 5, 5.0)]
    return []


SWEEP_EVERY = 1000  # reservations between two sweeps of keys nothing was sent under lately


class MemoryFloodGate:
    """The flood gate of a process that sends alone (SQLite): kefu_flood_reserve's sliding
    windows, kept in memory. Each key's reserved send times are kept in order; a send may leave
    once the `limit`-th latest of each of its keys is a `window` old."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sends: dict[str, list[float]] = {}
        self._longest = 0.0  # the longest window seen: older send times count for nothing
        self._count = 0

    async def reserve(self, rules: Sequence[FloodRule]) -> float:
        """Reserve one send under all the rules; seconds to wait before sending it."""
        if not rules:
            return 0.0
        now = self._clock()
        send_at = now
        for rule in rules:
            times = self._sends.get(rule.key, ())
            if len(times) >= rule.limit:
                send_at = max(send_at, times[-rule.limit] + rule.window)
        self._longest = max(self._longest, *(r.window for r in rules))
        for rule in rules:
            times = self._sends.setdefault(rule.key, [])
            bisect.insort(times, send_at)
            del times[: bisect.bisect_left(times, now - self._longest)]
        self._count += 1
        if self._count % SWEEP_EVERY == 0:
            self._sweep(now)
        return send_at - now

    def _sweep(self, now: float) -> None:
        """Forget the keys (private chats, mostly) nothing was sent under for a window."""
        stale = [k for k, times in self._sends.items() if times[-1] < now - self._longest]
        for key in stale:
            del self._sends[key]
