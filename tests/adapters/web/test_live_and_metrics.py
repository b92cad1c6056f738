"""/metrics in Prometheus's text format, and the live queue: a change made anywhere (here a
second store on the same file, as another process would) reaches a browser's event stream,
served by uvicorn inside the test's event loop."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import DB_NAME
from bot.storage import open_store
from bot.storage.records import Ticket
from tests.adapters.web.conftest import MakeWeb, WebHarness, sign_in
from tests.adapters.web.test_desk import _handoff


def _families(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            found.setdefault(sample.name, {})[key] = sample.value
    return found


async def test_metrics_parse_and_count_what_happened(web: WebHarness) -> None:
    await _handoff(web)
    async with web.client() as browser:
        answer = await browser.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    series = _families(answer.text)
    assert all(name.startswith("kefu_") for name in series if not name.startswith("python_"))
    events = series["kefu_events_received_total"]
    assert events[(("kind", "text"), ("platform", "fake"))] >= 1
    assert events[(("kind", "command"), ("platform", "fake"))] >= 1
    assert series["kefu_turn_duration_seconds_count"][()] >= 2
    assert series["kefu_queue_depth"][(("status", "open"),)] == 1
    assert series["kefu_tickets_opened_total"][(("platform", "fake"),)] == 1
    assert series["kefu_deliveries_total"][(("outcome", "sent"), ("platform", "fake"))] >= 1
    state = ("kefu_outbox_pending", "kefu_outbox_oldest_pending_age_seconds", "kefu_dead_letters")
    for name in (*state, "kefu_sla_breaches_total", "kefu_tickets_closed"):
        assert name in series, name
    for samples in series.values():  # bounded labels: no user or ticket ids
        for labels in samples:
            assert {k for k, _ in labels} <= {"platform", "kind", "outcome", "status", "le"}


async def test_metrics_behind_a_bearer_token(
    make_web: MakeWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEFU_METRICS_TOKEN", "s3cret")
    web: WebHarness = await make_web(web={"metrics_token_env": "KEFU_METRICS_TOKEN"})
    async with web.client() as browser:
        assert (await browser.get("/metrics")).status_code == 401
        wrong = await browser.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await browser.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_change_in_another_process_reaches_the_event_stream(make_web: MakeWeb) -> None:
    port = _free_port()
    web: WebHarness = await make_web(web={"port": port})
    await web.web.accounts.add("amy", "correct horse battery")
    served = asyncio.create_task(web.web.run(web.hub.sink))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as browser:
            for _ in range(100):  # until the server listens
                try:
                    await browser.get("/login")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            await sign_in(browser)
            async with browser.stream("GET", "/events") as stream:
                lines = stream.aiter_lines()
                assert (await anext(lines)).startswith("retry:")
                other = await open_store(web.data_dir / DB_NAME)
                try:
                    await other.create_ticket(Ticket("fake:zoe", "fake", "zoe", created_at=1.0))
                    async with asyncio.timeout(5):  # (its latency: benchmarks/web.py)
                        line = await anext(lines)
                        while not line.startswith("event:"):
                            line = await anext(lines)
                    assert line == "event: change"
                finally:
                    await other.close()
            rows = await browser.get("/queue/rows")
            assert "zoe" in rows.text
    finally:
        served.cancel()
        await asyncio.gather(served, return_exceptions=True)
