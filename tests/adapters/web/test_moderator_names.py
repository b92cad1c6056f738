"""Moderators by name on the web desk: the queue, a ticket and the reports show the name a
moderator last went by, while tickets and the CSV keep their key (the identity)."""

from __future__ import annotations

import csv
import io

from bot.storage.records import Ticket, TicketStatus
from tests.adapters.web.conftest import WebHarness, sign_in


async def _handoff(web: WebHarness, name: str) -> int:
    user = web.user(name)
    await user.command("human")
    ticket = await user.open_ticket()
    assert ticket is not None
    return ticket.id


def _section(html: str, name: str) -> str:
    """The reports page's section `name`, up to the next one."""
    start = html.index(f'<section class="report" id="{name}">')
    return html[start : html.index("</section>", start)]


async def test_a_claim_shows_the_moderators_name_in_the_queue_and_the_reports(
    web: WebHarness,
) -> None:
    ticket = await _handoff(web, "lin")
    await web.moderator("5012345", display_name="王芳").presses("Claim", ticket)
    assert (await web.ticket(ticket)).claimed_by == "fakemod:5012345"
    async with web.client() as browser:
        await sign_in(browser)
        for path in ("/queue", "/queue/rows"):
            rows = (await browser.get(path)).text
            assert '<span title="fakemod:5012345">王芳</span>' in rows, path
        page = await browser.get(f"/tickets/{ticket}")
        assert "王芳 <code>fakemod:5012345</code>" in page.text
        report = (await browser.get("/reports")).text
        by_moderator = _section(report, "by_moderator")
        assert '<span title="fakemod:5012345">王芳</span>' in by_moderator
        assert "<text" in by_moderator and "王芳</text>" in by_moderator  # the chart's bar
        exported = await browser.get("/reports/by_moderator.csv")
    lines = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert lines[0][:4] == ["key", "name", "opened", "closed"]
    assert [line[:3] for line in lines[1:]] == [["fakemod:5012345", "王芳", "1"]]


async def test_a_key_with_no_name_recorded_shows_its_id_and_platform(web: WebHarness) -> None:
    now = web.clock.now
    old = Ticket("telegram:1", "telegram", "1", user_name="Bo", created_at=now - 60)
    old.status, old.claimed_by, old.claimed_at = TicketStatus.CLAIMED, "telegram:777", now - 30
    made = await web.store.create_ticket(old)
    async with web.client() as browser:
        await sign_in(browser)
        rows = (await browser.get("/queue/rows")).text
        assert '<span title="telegram:777">777 (telegram)</span>' in rows
        report = (await browser.get("/reports")).text
        assert "777 (telegram)" in _section(report, "by_moderator")
        page = await browser.get(f"/tickets/{made.id}")
        assert "777 (telegram) <code>telegram:777</code>" in page.text


async def test_a_web_moderator_is_recorded_by_their_account_name(web: WebHarness) -> None:
    ticket = await _handoff(web, "lin")
    async with web.client() as browser:
        token = await sign_in(browser)
        await browser.post(f"/tickets/{ticket}/claim", data={"csrf": token})
        rows = (await browser.get("/queue/rows")).text
    assert (await web.ticket(ticket)).claimed_by == "web:local:amy"
    assert await web.store.moderator_names(["web:local:amy"]) == {"web:local:amy": "amy"}
    assert '<span title="web:local:amy">amy</span>' in rows
