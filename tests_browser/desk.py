"""What the browser tests share: a web desk served by uvicorn on a free loopback port (with
local accounts "amy" and "bob"), signing in through the page, and a user handing off through
the engine."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.adapters.web.conftest import WebHarness, web_config
from tests.helpers.builders import png

PASSWORD = "correct horse battery"
MODERATORS = ("amy", "bob")
WAIT_MS = 5000  # the bound of every wait for something to show in a page


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_until(check: Callable[[], object], seconds: float = 5.0) -> None:
    """Return once `check()` is true; fail after `seconds`."""
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


@asynccontextmanager
async def served(tmp_path: Path, **sections: Any) -> AsyncIterator[tuple[WebHarness, str]]:
    """A web harness serving the desk over HTTP; its base URL. Closed afterwards."""
    port = free_port()
    web = {"port": port, **sections.pop("web", {})}
    h = await WebHarness(web_config(tmp_path, web=web, **sections)).open()
    for name in MODERATORS:
        await h.web.accounts.add(name, PASSWORD)
    task = asyncio.create_task(h.web.run(h.hub.sink))
    try:

        def listening() -> bool:
            return h.web.server is not None and h.web.server.started

        await wait_until(lambda: listening() or task.done())
        if task.done():
            task.result()  # the server could not start: say why
        yield h, f"http://127.0.0.1:{port}"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await h.web.__aexit__()
        await h.close()


async def sign_in(page: Any, base: str, name: str = "amy", then: str = "/queue") -> None:
    """Sign in through the sign-in page with a local account; on to `then`."""
    await page.goto(f"{base}/login")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button.primary")
    await page.wait_for_url(f"{base}{then}")


async def signed_in_page(
    browser: Any, base: str, name: str = "amy", then: str = "/queue", locale: str = "en-US"
) -> tuple[Any, Any]:
    """A new browser context in `locale` and a page in it signed in as `name` (on `then`);
    the test closes the context."""
    context = await browser.new_context(locale=locale)
    page = await context.new_page()
    await sign_in(page, base, name, then)
    return context, page


async def hand_off(
    h: WebHarness,
    name: str = "lin",
    lang: str = "en",
    text: str = "my account was banned",
    *,
    screenshot: bool = True,
) -> tuple[Any, int]:
    """A user asks for a person through the engine (and sends a screenshot)."""  # fmt: skip
    user = h.user(name, lang)
    await user.says(text)
    await user.command("human")
    if await user.open_ticket() is None:
        await user.presses(user.t("btn_handoff_now"))
    ticket = await user.open_ticket()
    assert ticket is not None
    if screenshot:
        await user.sends_image(png(480, 300, (40, 110, 200)))
    return user, ticket.id
