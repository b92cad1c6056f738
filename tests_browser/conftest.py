"""Browser tests (`make test-browser`, not part of `make test`): Playwright drives Debian's
Chromium (/usr/bin/chromium; no browser is downloaded) against the web desk served by uvicorn
on loopback inside the test's event loop. Nothing leaves loopback."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("KEFU_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",  # CI runs as root
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    """Headless Chromium, closed after the test."""
    from playwright.async_api import async_playwright

    if not CHROMIUM.exists():  # noqa: ASYNC240 (one stat, before anything runs)
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()
