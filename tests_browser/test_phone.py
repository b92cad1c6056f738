"""The web desk on a phone: a moderator on the go reads the queue and works a ticket in a
390-pixel-wide window. Nothing overflows the page sideways (a wide table scrolls inside its
own box), no word is broken one character a line, and the ticket's card and conversation
stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests_browser.desk import hand_off, served, sign_in

PHONE = {"width": 390, "height": 844}
# The lines a cell's text takes.
LINES = """td => { const r = document.createRange(); r.selectNodeContents(td);
  return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; }"""


async def _overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0: it fits)."""
    return int(await page.evaluate("document.documentElement.scrollWidth - innerWidth"))


async def test_the_queue_and_a_ticket_fit_a_phone(browser: Any, tmp_path: Path) -> None:
    async with served(tmp_path) as (h, base):
        _user, number = await hand_off(h)
        context = await browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)
        page = await context.new_page()
        await sign_in(page, base)
        assert await _overflow(page) <= 0
        line = await page.evaluate("parseFloat(getComputedStyle(document.body).lineHeight)")
        for name in ("队列", "查找", "报表", "帮助中心"):  # each link on one line
            box = await page.get_by_role("link", name=name, exact=True).bounding_box()
            assert box is not None and box["height"] < 1.6 * line, name
        for cell in await page.locator("table.queue tbody td:not(.summary)").all():
            lines = await cell.evaluate(LINES)
            assert lines <= 1, await cell.inner_text()  # not a column of characters

        await page.goto(f"{base}/tickets/{number}")
        assert await _overflow(page) <= 0
        card = await page.locator("#ticket-card").bounding_box()
        talk = await page.locator("section.conversation").bounding_box()
        assert card is not None and talk is not None
        assert talk["y"] >= card["y"] + card["height"]  # stacked, not side by side
        assert card["width"] > 0.8 * PHONE["width"] and talk["width"] > 0.8 * PHONE["width"]
        await page.screenshot(path=str(tmp_path / "phone-ticket.png"), full_page=True)
        await context.close()
