"""A visitor who has not signed in, in a real browser: every page sends them to sign in and
nothing of a ticket shows (pages, fragments, screenshots, CSV, the event stream, posted
actions); the sign-in page works from the keyboard, says clearly when the password is wrong
and then still leads to the page first asked for; signing out ends the session for good."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import expect

from bot.storage.records import TicketStatus
from tests_browser.desk import PASSWORD, WAIT_MS, hand_off, served, sign_in, signed_in_page

SECRET = "my account 4711 was banned"  # what the user wrote: never shown to a visitor
PAGES = ["/", "/queue", "/reports", "/find?text=banned", "/help"]


async def test_an_anonymous_visitor_is_sent_to_sign_in_and_sees_nothing(
    browser: Any, tmp_path: Path
) -> None:
    async with served(tmp_path) as (h, base):
        user, number = await hand_off(h, text=SECRET)
        sha = next(a for m in await h.store.messages(number) for a in m.attachments)
        context = await browser.new_context(locale="en-US")
        page = await context.new_page()
        for path in [*PAGES, f"/tickets/{number}"]:
            await page.goto(f"{base}{path}")
            await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            url = urlsplit(page.url)
            assert url.path == "/login", path
            assert parse_qs(url.query)["next"] == ["/queue" if path == "/" else path], path
            html = await page.content()
            assert SECRET not in html and user.key not in html, path
            assert not await page.locator("nav").count(), path  # no menu for a visitor

        fragments = [
            f"/files/{sha}", f"/tickets/{number}/history", f"/tickets/{number}/card",
            "/queue/rows",
            "/reports/by_day.csv", "/events",
        ]  # fmt: skip
        for path in fragments:
            answer = await page.goto(f"{base}{path}")
            assert answer is not None and answer.status == 401, path
            body = await answer.text()
            assert body == "Sign in first.", (path, body)

        # A form posted from elsewhere, with no session: refused, the ticket as it was.
        for action in ["close", "claim", "reply"]:
            answer = await context.request.post(
                f"{base}/tickets/{number}/{action}", form={"text": "hijacked"}
            )
            assert answer.status == 401, action
        ticket = await h.ticket(number)
        assert ticket.status is TicketStatus.OPEN and not ticket.claimed_by
        assert not user.received("hijacked")
        await context.close()


async def test_signing_in_from_the_keyboard_after_a_wrong_password_leads_to_the_ticket(
    browser: Any, tmp_path: Path
) -> None:
    async with served(tmp_path) as (h, base):
        _user, number = await hand_off(h, text=SECRET, screenshot=False)
        context = await browser.new_context(locale="en-US")
        page = await context.new_page()
        await page.goto(f"{base}/tickets/{number}")
        await expect(page).to_have_url(f"{base}/login?next=/tickets/{number}")

        # Tab from the name to the password and Enter: no mouse.
        await page.get_by_label("Name").focus()
        await page.keyboard.type("amy")
        await page.keyboard.press("Tab")
        await expect(page.get_by_label("Password")).to_be_focused()
        await page.keyboard.type("not the password")
        await page.keyboard.press("Enter")
        alert = page.get_by_role("alert")
        await expect(alert).to_have_text("Wrong name or password.", timeout=WAIT_MS)
        assert not any(c["name"] == "kefu_session" and "amy" in c["value"]
                       for c in await context.cookies())  # fmt: skip
        anonymous = await context.request.get(f"{base}/queue/rows")
        assert anonymous.status == 401  # a wrong password made no session

        await page.get_by_label("Name").fill("amy")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_label("Password").press("Enter")
        await expect(page).to_have_url(f"{base}/tickets/{number}", timeout=WAIT_MS)
        await expect(page.locator("section.card")).to_contain_text(SECRET)
        await context.close()


async def test_signing_out_ends_the_session_and_back_does_not_show_the_queue(
    browser: Any, tmp_path: Path
) -> None:
    async with served(tmp_path) as (h, base):
        await hand_off(h, text=SECRET, screenshot=False)
        context, page = await signed_in_page(browser, base)
        await expect(page.locator("table.queue")).to_contain_text(SECRET[:20])
        await expect(page.locator("header .who")).to_have_text("amy")

        await page.get_by_role("button", name="Sign out").click()
        await expect(page).to_have_url(f"{base}/login")
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

        await page.go_back()
        await page.reload()
        await expect(page).to_have_url(f"{base}/login?next=/queue")
        assert SECRET[:20] not in await page.content()
        assert (await context.request.get(f"{base}/queue/rows")).status == 401

        # A tab left open from before a new sign-in carries a stale token: its Sign out
        # still signs out, rather than showing the sign-in page over a live session.
        stale = await context.new_page()
        await sign_in(stale, base)
        await sign_in(page, base)  # the same browser signs in again: a new token
        await stale.get_by_role("button", name="Sign out").click()
        await expect(stale).to_have_url(f"{base}/login")
        assert (await context.request.get(f"{base}/queue/rows")).status == 401
        await context.close()


async def test_a_page_left_open_when_signed_out_elsewhere_asks_to_sign_in_and_comes_back(
    browser: Any, tmp_path: Path
) -> None:
    """Signed out in another tab: a reply posted from the open ticket page says it was not
    sent, shows what was typed to copy, and leads to sign-in and back to the ticket; the next
    change makes a page left open ask to sign in (it stopped updating silently before)."""
    async with served(tmp_path) as (h, base):
        user, number = await hand_off(h, text=SECRET, screenshot=False)
        context, page = await signed_in_page(browser, base)
        await page.goto(f"{base}/tickets/{number}")
        await page.get_by_placeholder("Reply to the user").fill("typed before signing out")

        other = await context.new_page()
        await other.goto(f"{base}/queue")
        await other.get_by_role("button", name="Sign out").click()
        await expect(other).to_have_url(f"{base}/login")
        await page.get_by_role("button", name="Send reply").click()
        await expect(page.locator("p.error")).to_have_text("Sign in first.")
        assert not user.received("typed before signing out")
        await expect(page.get_by_label("What you typed, to copy:")).to_have_value(
            "typed before signing out"
        )
        await page.get_by_role("link", name="Sign in").click()
        await page.fill("input[name=name]", "amy")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button.primary")
        await expect(page).to_have_url(f"{base}/tickets/{number}")

        # Signed out again elsewhere while this page stays open: the user writes, the page's
        # live part is refused, and the page asks to sign in, to come back here.
        await other.goto(f"{base}/queue")
        await other.get_by_role("button", name="Sign out").click()
        await user.says("are you there?")
        await expect(page).to_have_url(f"{base}/login?next=/tickets/{number}", timeout=WAIT_MS)
        await context.close()
