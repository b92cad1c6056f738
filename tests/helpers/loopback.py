"""Serving a test's aiohttp app (a fake platform, a balancer, an OAuth provider) on loopback."""

from __future__ import annotations

from typing import Any

from aiohttp import web


async def serve(app: web.Application, **runner: Any) -> tuple[web.AppRunner, int]:
    """Start `app` on 127.0.0.1 at a free port; the runner (cleanup() stops it) and the port."""
    started = web.AppRunner(app, **runner)
    await started.setup()
    await web.TCPSite(started, "127.0.0.1", 0).start()
    return started, int(started.addresses[0][1])
