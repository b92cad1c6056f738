"""The web desk over HTTP (httpx against the ASGI app), on the real runtime: a user on the
fake platform, moderators on the web desk, and the Harness's conversational helpers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.web import WebDesk
from bot.app import desk_queries, open_runtime
from bot.config import (
    BotConfig,
    Config,
    DiscordConfig,
    HandoffConfig,
    StoreConfig,
    TelegramConfig,
    WebConfig,
)
from bot.texts import Texts
from tests.helpers.fakes import MOD_CHAT, Harness, shared_knowledge

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "correct horse battery"


class WebHarness(Harness):
    """The Harness's runtime with the web desk as one more adapter."""

    def __init__(self, config: Config, **kw: Any) -> None:
        kb, index = shared_knowledge()
        super().__init__(config, kb, index)
        self.web = WebDesk(config, Texts(), clock=lambda: self.clock.now, **kw)

    async def open(self) -> WebHarness:
        """Open the runtime with the fake platforms and the web desk."""
        self.runtime = await self._stack.enter_async_context(
            open_runtime(
                self.config,
                [self.users_adapter, self.mods_adapter, self.web],
                clock=self.clock,
                kb=self.kb,
                index=self.index,  # type: ignore[arg-type]
                paged=(MOD_CHAT,),
                accept=self.web.accepts,
                metrics=self.web.metrics,
            )
        )
        self.web.bind(desk_queries(self.runtime), self.settle, self.runtime.store)
        return self

    def client(self) -> httpx.AsyncClient:
        """A browser with no session yet."""
        transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 5000))
        return httpx.AsyncClient(transport=transport, base_url="http://desk.test")


def web_config(data_dir: Path, **sections: Any) -> Config:
    """A config for the web tests: data in `data_dir`, [web]/[telegram]/[handoff]/[store]
    overrides."""
    return Config(
        bot=BotConfig(data_dir=data_dir, default_lang="en"),
        store=StoreConfig(**sections.get("store", {})),
        handoff=HandoffConfig(**sections.get("handoff", {})),
        telegram=TelegramConfig(**sections.get("telegram", {})),
        discord=DiscordConfig(**sections.get("discord", {})),
        web=WebConfig(**sections.get("web", {})),
    )


MakeWeb = Callable[..., Any]


@pytest.fixture
async def make_web(tmp_path: Path) -> AsyncIterator[MakeWeb]:
    """Open web harnesses (closed at the end of the test)."""
    opened: list[WebHarness] = []

    async def make(**sections: Any) -> WebHarness:
        h = await WebHarness(web_config(tmp_path / f"data{len(opened)}", **sections)).open()
        h.app = await h.web.app(h.hub.sink)
        opened.append(h)
        return h

    try:
        yield make
    finally:
        for h in opened:
            if h.web.watch is not None:
                await h.web.watch.close()
            await h.web.__aexit__()
            await h.close()


@pytest.fixture
async def web(make_web: MakeWeb) -> WebHarness:
    """A web harness with default settings and a local account "amy"."""
    h: WebHarness = await make_web()
    await h.web.accounts.add("amy", PASSWORD)
    return h


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, name: str = "amy", password: str = PASSWORD) -> str:
    """Sign in with a local account; the session's CSRF token."""
    page = await client.get("/login")
    answer = await client.post(
        "/login", data={"csrf": csrf_of(page.text), "name": name, "password": password}
    )
    assert answer.status_code == 303, answer.text
    queue = await client.get("/queue")
    assert queue.status_code == 200
    return csrf_of(queue.text)
