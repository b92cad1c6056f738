"""A moderator works a ticket in a real browser: signs in with a local account, sees a new
ticket appear in the queue while the page stays open (a user hands off through the engine),
opens it, sees the screenshot, replies (the user receives it), closes it and finds it counted
in the reports. Screenshots of the queue, a ticket and the reports go to docs/screenshots/."""

from __future__ import annotations

import random
from hashlib import sha256
from pathlib import Path
from typing import Any

from bot.storage.records import Author, Miss, Ticket, TicketMessage, TicketStatus
from tests.adapters.web.conftest import WebHarness
from tests.helpers.builders import png
from tests_browser.desk import hand_off, served, sign_in, wait_until

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
DAY = 86_400.0
SUMMARIES = ["账号被封了", "cannot log in", "退款还没到账", "my post vanished"]
MODS = ["telegram:ming", "discord:ann", "web:local:amy"]


async def _history(h: WebHarness) -> None:
    """Two weeks of earlier tickets, so the queue and the reports have something to show."""
    rng = random.Random(12)
    now = h.clock.now
    categories = ["account/banned", "account/login", "payment/refund", "content/removed", ""]
    platforms = ["telegram", "discord", "telegram", "console"]
    for n in range(60):
        created = now - rng.uniform(0.5, 14) * DAY
        answered = created + rng.expovariate(1 / 900)
        closed = answered + rng.expovariate(1 / 7200)
        done = closed < now - 3600 and n % 7
        ticket = await h.store.create_ticket(
            Ticket(
                f"telegram:{900 + n}", rng.choice(platforms), str(900 + n),
                user_name=rng.choice(["李雷", "Ann", "王芳", "Bo", "陈静"]),
                category=rng.choice(categories), lang=rng.choice(["zh-CN", "en"]),
                summary=rng.choice(SUMMARIES),
                created_at=created, first_response_at=answered if done or n % 3 else None,
                claimed_by=rng.choice(MODS) if done else "",
                status=TicketStatus.CLOSED if done else TicketStatus.OPEN,
                closed_at=closed if done else None,
                rating=rng.choice([3, 4, 5, 5, 2]) if done else None,
                priority=rng.choice([0, 0, 1, 2]),
            )
        )  # fmt: skip
        await h.store.add_message(
            TicketMessage(ticket.id, Author.USER, ticket.user_key, ticket.user_name,
                          ticket.summary, created_at=created)
        )  # fmt: skip
    for article, query, solved in [("account-banned", "账号被封", True),
                                   ("account-banned", "封号了怎么办", False),
                                   ("password-reset", "忘记密码", True)] * 5:  # fmt: skip
        await h.store.add_feedback(article, query, solved, now - rng.uniform(0, 10) * DAY)
    for query in ["暗黑模式", "dark mode", "暗黑模式", "发票"]:
        await h.store.add_search_miss(Miss(query, created_at=now - DAY))


async def test_a_moderator_works_a_ticket_in_the_browser(browser: Any, tmp_path: Path) -> None:
    async with served(tmp_path, handoff={"sla_minutes": 30}) as (h, base):
        await _history(h)
        page = await browser.new_page(viewport={"width": 1360, "height": 900}, locale="en-US")
        await sign_in(page, base)
        # A user hands off through the engine while the queue is open: no reload.
        user, number = await hand_off(h)
        link = page.locator(f'a[href="/tickets/{number}"]')
        await link.wait_for(timeout=5000)
        await page.screenshot(path=str(SHOTS / "queue.png"), full_page=True)

        await link.click()
        await page.wait_for_url(f"{base}/tickets/{number}")
        shot = page.locator("ol.history img").first
        await shot.wait_for()
        assert await shot.evaluate("img => img.complete && img.naturalWidth") == 480
        await page.fill("textarea[name=text]", "We are looking into it — 我们正在处理")
        where = png(200, 120, (9, 80, 160))
        await page.set_input_files(
            "input[name=files]", {"name": "where.png", "mimeType": "image/png", "buffer": where}
        )
        await page.click("text=Send reply")
        await page.wait_for_url(f"{base}/tickets/{number}")
        await wait_until(lambda: user.received("We are looking into it — 我们正在处理"))
        sent = [f.sha256 for o in user.inbox for f in o.reply.files]
        assert sent == [sha256(where).hexdigest()]  # the screenshot went with the reply
        await page.locator("ol.history li.moderator").first.wait_for()
        await page.screenshot(path=str(SHOTS / "ticket.png"), full_page=True)

        await page.fill("form.close input[name=text]", "answered")
        await page.click("form.close button")
        await page.wait_for_url(f"{base}/tickets/{number}")
        assert (await h.ticket(number)).status is TicketStatus.CLOSED
        assert user.received("answered")

        await page.click("nav >> text=Reports")
        await page.wait_for_url(f"{base}/reports")
        closed_today = (
            await page.locator("#by_day tbody tr").last.locator("td").nth(2).inner_text()
        )
        assert int(closed_today) >= 1
        await page.screenshot(path=str(SHOTS / "reports.png"), full_page=True)
