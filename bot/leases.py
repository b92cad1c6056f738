"""Work that one process of the deployment does at a time: it runs while this process holds a
lease in the store (bot.storage.base.Leases), renewed every few seconds; a standby takes the
lease over once the holder stopped renewing it (killed, machine gone) and starts the work.

TTL 10 s and a try every 2.5 s: a standby takes over at most ~12.5 s after the holder's last
renewal (Telegram polling's "within 15 s"). A holder that cannot renew for 3/4 of the TTL stops
the work before any other process could start it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from bot.storage.base import Leases

log = logging.getLogger(__name__)

TTL = 10.0
EVERY = 2.5


async def _acquire(leases: Leases, name: str, ttl: float) -> bool:
    try:
        return await leases.acquire_lease(name, ttl)
    except Exception as exc:  # the store is unreachable: this try counts as not held
        log.warning("lease %s: the store failed (%s)", name, type(exc).__name__)
        return False


async def while_held(
    leases: Leases,
    name: str,
    work: Callable[[], Coroutine[Any, Any, None]],
    *,
    ttl: float = TTL,
    every: float = EVERY,
    clock: Callable[[], float] | None = None,
) -> None:
    """Run `work()` whenever this process holds the lease `name`, until cancelled (or until
    the work returns, or raises: then the lease is given up and it propagates)."""
    now = clock or asyncio.get_running_loop().time
    standing_by = False
    while True:
        if not await _acquire(leases, name, ttl):
            if not standing_by:
                log.info("lease %s is held by another process: this one stands by", name)
                standing_by = True
            await asyncio.sleep(every)
            continue
        standing_by = False
        log.info("lease %s taken: this process does it now", name)
        renewed = now()
        task = asyncio.create_task(work(), name=f"leased {name}")
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=every)
                if done:
                    task.result()  # raises what the work raised
                    return
                if await _acquire(leases, name, ttl):
                    renewed = now()
                elif now() - renewed > ttl * 0.75:
                    log.warning("lease %s lost: stopping its work here", name)
                    break
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(Exception):
                await asyncio.shield(leases.release_lease(name))
