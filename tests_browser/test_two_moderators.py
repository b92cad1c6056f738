"""Two moderators in two browsers: one claims, replies, unclaims, closes and reopens a ticket
with the ticket page's buttons; the other, whose queue and ticket pages stay open and are
never reloaded, sees each change arrive (the event stream and htmx)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import expect

from bot.storage.records import TicketStatus
from tests_browser.desk import WAIT_MS, hand_off, served, signed_in_page, wait_until

KEPT = "window.kefuKept = true"  # gone if the page is loaded again
STILL_KEPT = "() => window.kefuKept === true"


async def _open(browser: Any, base: str, name: str) -> tuple[Any, Any]:
    context, page = await signed_in_page(browser, base, name)
    return context, page


async def _close_and_reopen(h: Any, number: int, amy: Any, row: Any, watched: Any) -> None:
    """Amy closes and reopens the ticket; bob's open pages follow."""
    await amy.get_by_placeholder("Reason for closing (optional)").fill("sorted out")
    await amy.get_by_role("button", name="Close").click()
    await expect(amy.locator("h1 small")).to_have_text("closed")
    await expect(amy.get_by_role("button", name="Reopen")).to_be_visible()
    assert (await h.ticket(number)).status is TicketStatus.CLOSED
    await expect(row).to_have_count(0, timeout=WAIT_MS)
    await expect(watched.locator("h1 small")).to_have_text("closed", timeout=WAIT_MS)
    await expect(watched.locator("form.close")).to_have_count(0)

    await amy.get_by_role("button", name="Reopen").click()  # back, and hers
    await expect(amy.locator("p.flash")).to_have_text(f"#{number} reopened by amy.")
    await expect(amy.locator("h1 small")).to_have_text("a moderator is on it")
    ticket = await h.ticket(number)
    assert ticket.status is TicketStatus.CLAIMED and ticket.claimed_by == "web:local:amy"
    await expect(row).to_contain_text("a moderator is on it", timeout=WAIT_MS)
    await expect(watched.get_by_role("button", name="Unclaim")).to_be_visible()
    await expect(watched.locator("form.close")).to_have_count(1)


async def test_a_second_moderator_sees_every_move_without_reloading(
    browser: Any, tmp_path: Path
) -> None:
    async with served(tmp_path) as (h, base):
        user, number = await hand_off(h, screenshot=False)
        amy_context, amy = await _open(browser, base, "amy")
        bob_context, queue = await _open(browser, base, "bob")
        watched = await bob_context.new_page()
        await watched.goto(f"{base}/tickets/{number}")
        for page in (queue, watched):
            await page.evaluate(KEPT)
        row = queue.locator(f'tr[data-ticket="{number}"]')
        await expect(row).to_contain_text("waiting for a moderator")
        card = watched.locator("section.card")

        await amy.goto(f"{base}/tickets/{number}")
        await amy.get_by_role("button", name="Claim").click()
        await expect(amy.locator("p.flash")).to_have_text(f"#{number} claimed by amy.")
        await expect(amy.locator("h1 small")).to_have_text("a moderator is on it")
        assert (await h.ticket(number)).claimed_by == "web:local:amy"
        await expect(row).to_contain_text("a moderator is on it", timeout=WAIT_MS)
        await expect(row.locator("td").nth(5)).to_have_text("amy")
        await expect(watched.locator("h1 small")).to_have_text("a moderator is on it")
        await expect(card).to_contain_text("amy", timeout=WAIT_MS)
        await expect(watched.get_by_role("button", name="Unclaim")).to_be_visible()

        await amy.get_by_placeholder("Reply to the user").fill("Checking your account now")
        await amy.get_by_role("button", name="Send reply").click()
        await wait_until(lambda: user.received("Checking your account now"))
        history = watched.locator("ol.history")
        await expect(history).to_contain_text("Checking your account now", timeout=WAIT_MS)

        reason = watched.get_by_placeholder("Reason for closing (optional)")
        await reason.fill("half typed")  # bob's typing outlives the card's refresh
        await amy.get_by_role("button", name="Unclaim").click()
        await expect(amy.locator("p.flash")).to_contain_text(f"#{number} unclaimed by amy")
        await expect(amy.get_by_role("button", name="Claim")).to_be_visible()
        await expect(row).to_contain_text("waiting for a moderator", timeout=WAIT_MS)
        await expect(row.locator("td").nth(5)).to_have_text("-")
        await expect(watched.get_by_role("button", name="Claim")).to_be_visible()
        await expect(reason).to_have_value("half typed")

        await _close_and_reopen(h, number, amy, row, watched)
        for page in (queue, watched):
            assert await page.evaluate(STILL_KEPT), page.url  # never loaded again
        await amy_context.close()
        await bob_context.close()
