"""Forms that should not be obeyed, posted from a real browser: a page left open across a new
sign-in (a stale CSRF token), a token changed or taken out of a form, a page on another site
posting to the desk, and a reply to a ticket a colleague closed meanwhile. Each gets a clear
answer and nothing changes: the ticket stays as it was and the user receives nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import expect

from bot.storage.records import TicketStatus
from tests_browser.desk import WAIT_MS, hand_off, served, sign_in, signed_in_page, wait_until

REFUSED = "The form expired or did not come from this site; reload the page and try again."


async def _untouched(h: Any, number: int, user: Any, sent: int) -> None:
    ticket = await h.ticket(number)
    assert ticket.status is TicketStatus.OPEN and not ticket.claimed_by
    assert len(user.inbox) == sent  # the user received nothing


def _serve(html: str) -> Any:
    async def handler(route: Any) -> None:
        await route.fulfill(body=html, content_type="text/html")

    return handler


async def test_a_stale_or_forged_csrf_token_is_refused_and_changes_nothing(
    browser: Any, tmp_path: Path
) -> None:
    async with served(tmp_path) as (h, base):
        user, number = await hand_off(h, screenshot=False)
        sent = len(user.inbox)
        context, page = await signed_in_page(browser, base, then="/queue")
        await page.goto(f"{base}/tickets/{number}")

        # The same person signs out and in again in another tab: this tab's forms are stale.
        other = await context.new_page()
        await other.goto(f"{base}/queue")
        await other.get_by_role("button", name="Sign out").click()
        await expect(other).to_have_url(f"{base}/login")
        await sign_in(other, base)
        await page.get_by_placeholder("Reply to the user").fill("from a stale page")
        await page.get_by_role("button", name="Send reply").click()
        await expect(page.locator("p.error")).to_have_text(REFUSED)
        await _untouched(h, number, user, sent)
        await page.get_by_role("link", name="Back to the page").click()  # to a fresh form
        await expect(page).to_have_url(f"{base}/tickets/{number}")
        await expect(page.get_by_role("button", name="Send reply")).to_be_visible()

        # A fresh page works; a token changed or removed in it does not.
        await page.goto(f"{base}/tickets/{number}")
        await page.locator("form.close input[name=csrf]").evaluate("i => i.value = 'forged'")
        await page.get_by_role("button", name="Close").click()
        await expect(page.locator("p.error")).to_have_text(REFUSED)
        await page.goto(f"{base}/tickets/{number}")
        await page.locator("div.actions form input[name=csrf]").first.evaluate("i => i.remove()")
        await page.get_by_role("button", name="Claim").click()
        await expect(page.locator("p.error")).to_have_text(REFUSED)
        await _untouched(h, number, user, sent)

        await page.goto(f"{base}/tickets/{number}")
        await page.get_by_role("button", name="Claim").click()
        await expect(page.locator("p.flash")).to_have_text(f"#{number} claimed by amy.")
        await context.close()


async def test_a_form_on_another_site_cannot_act_for_a_signed_in_moderator(
    browser: Any, tmp_path: Path
) -> None:
    async with served(tmp_path) as (h, base):
        user, number = await hand_off(h, screenshot=False)
        sent = len(user.inbox)
        context, page = await signed_in_page(browser, base)
        for action in [f"/tickets/{number}/reply", f"/tickets/{number}/claim", "/logout"]:
            evil = f"""<!doctype html><form method="post" action="{base}{action}">
                <input name="text" value="click this link"></form>
                <script>document.forms[0].submit()</script>"""
            await context.route("http://evil.test/", _serve(evil))
            async with page.expect_response(f"{base}{action}") as answer:
                await page.goto("http://evil.test/")
            response = await answer.value
            # No session cookie came with it: refused as from someone signed out (sign-out
            # has nothing to end and goes to the sign-in page).
            assert response.status == (303 if action == "/logout" else 401), action
            await context.unroute("http://evil.test/")
        await _untouched(h, number, user, sent)
        await page.goto(f"{base}/queue")  # and this browser's session is still there
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        await context.close()


async def test_a_reply_to_a_ticket_closed_meanwhile_says_so_and_is_not_sent(
    browser: Any, tmp_path: Path
) -> None:
    async with served(tmp_path) as (h, base):
        user, number = await hand_off(h, screenshot=False)
        pages = []
        for name in ("amy", "bob"):
            _context, page = await signed_in_page(browser, base, name)
            await page.goto(f"{base}/tickets/{number}")
            pages.append(page)
        amy, bob = pages
        await bob.get_by_placeholder("Reply to the user").fill("one more thing")
        await amy.get_by_role("button", name="Close").click()
        await expect(amy.locator("h1 small")).to_have_text("closed")
        await wait_until(lambda: user.received("closed by a moderator"))
        sent = len(user.inbox)

        await expect(bob.locator("h1 small")).to_have_text("closed", timeout=WAIT_MS)
        await bob.get_by_role("button", name="Send reply").click()
        await expect(bob.locator("p.flash")).to_contain_text(
            f"#{number} is closed: your message was not sent."
        )
        assert len(user.inbox) == sent and not user.received("one more thing")
        assert (await h.ticket(number)).status is TicketStatus.CLOSED
        for page in pages:
            await page.context.close()
