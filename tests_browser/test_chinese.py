"""The desk in Chinese, in a real browser: a browser that asks for zh-CN (Accept-Language)
gets Chinese labels, errors and the core's answers from the first page on, and users' Chinese
text is drawn with real glyphs (fonts-noto-cjk), not boxes; the 中文 / English buttons switch
the language for the session, before and after signing in, and stay on the same page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import expect

from bot.storage.records import TicketStatus
from tests_browser.desk import PASSWORD, WAIT_MS, hand_off, served, sign_in

ASKED = "我的账号被封了，怎么办？"

# Two different Chinese characters drawn in the font the page gives an element: real glyphs
# differ and leave ink; a missing font draws the same empty box for both.
GLYPHS = """element => {
  const font = getComputedStyle(element).fontFamily;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 64;
  const g = canvas.getContext("2d");
  const draw = ch => {
    g.clearRect(0, 0, 64, 64);
    g.font = "48px " + font;
    g.fillText(ch, 4, 52);
    const data = g.getImageData(0, 0, 64, 64).data;
    let ink = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
    return [ink, data.join(",")];
  };
  const [inkA, a] = draw("账"), [inkB, b] = draw("封");
  return {ink: Math.min(inkA, inkB), differ: a !== b};
}"""


async def test_a_chinese_browser_gets_the_desk_in_chinese(browser: Any, tmp_path: Path) -> None:
    async with served(tmp_path) as (h, base):
        user, number = await hand_off(h, "li", "zh-CN", ASKED, screenshot=False)
        anonymous = await browser.new_context(locale="zh-CN")
        answer = await (await anonymous.new_page()).goto(f"{base}/queue/rows")
        assert answer is not None and answer.status == 401
        assert await answer.text() == "请先登录。"
        await anonymous.close()

        context = await browser.new_context(locale="zh-CN")
        page = await context.new_page()
        await page.goto(f"{base}/queue")
        await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        await expect(page.get_by_role("heading", name="登录")).to_be_visible()
        await page.get_by_label("用户名").fill("amy")
        await page.get_by_label("密码").fill("wrong password")
        await page.get_by_role("button", name="登录").click()
        await expect(page.get_by_role("alert")).to_have_text("用户名或密码错误。")
        await page.get_by_label("用户名").fill("amy")
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await expect(page).to_have_url(f"{base}/queue", timeout=WAIT_MS)

        await expect(page.get_by_role("heading", name="队列")).to_be_visible()
        for label in ["查找", "报表", "帮助中心"]:
            await expect(page.locator("nav")).to_contain_text(label)
        await expect(page.get_by_role("button", name="退出")).to_be_visible()
        row = page.locator(f'tr[data-ticket="{number}"]')
        await expect(row).to_contain_text("等待客服处理")
        summary = row.locator("td.summary")
        await expect(summary).to_contain_text(ASKED)
        drawn = await summary.evaluate(GLYPHS)
        assert drawn["differ"] and drawn["ink"] > 50, drawn

        await row.get_by_role("link").click()
        await page.get_by_role("button", name="认领").click()
        # The core's answer to her alone comes in her page's language, though the deployment's
        # moderators read English ([bot] default_lang here): see Turn.actor_lang.
        await expect(page.locator("p.flash")).to_contain_text(f"#{number} 已由 amy 认领")
        await expect(page.locator("h1 small")).to_have_text("客服正在处理")
        await expect(page.get_by_role("button", name="取消认领")).to_be_visible()
        assert (await h.ticket(number)).claimed_by == "web:local:amy"

        sent = len(user.inbox)
        await page.get_by_role("button", name="发送回复").click()  # nothing typed
        await expect(page.locator("p.flash")).to_have_text("没有发送：内容为空。")
        assert len(user.inbox) == sent
        assert (await h.ticket(number)).status is TicketStatus.CLAIMED
        await context.close()


async def test_the_language_buttons_switch_the_session_and_keep_the_page(
    browser: Any, tmp_path: Path
) -> None:
    async with served(tmp_path) as (h, base):
        _user, number = await hand_off(h, screenshot=False)
        context = await browser.new_context(locale="en-US")
        page = await context.new_page()
        await page.goto(f"{base}/login")
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await page.get_by_role("button", name="中文").click()
        await expect(page.get_by_role("heading", name="登录")).to_be_visible()
        await expect(page.get_by_role("button", name="中文")).to_have_class("current")

        await page.get_by_label("用户名").fill("bob")
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_label("密码").press("Enter")
        await expect(page.get_by_role("heading", name="队列")).to_be_visible(timeout=WAIT_MS)

        await page.goto(f"{base}/find?text=banned")
        await expect(page.locator(f'a[href="/tickets/{number}"]').first).to_be_visible()
        await page.get_by_role("button", name="English").click()
        await expect(page.locator("nav")).to_contain_text("Find")
        await expect(page).to_have_url(f"{base}/find?text=banned")
        await expect(page.locator(f'a[href="/tickets/{number}"]').first).to_be_visible()

        other = await context.new_page()  # the choice is the session's, not the page's
        await other.goto(f"{base}/tickets/{number}")
        await expect(other.get_by_role("button", name="Claim")).to_be_visible()
        await context.close()

        fresh = await browser.new_context(locale="en-US")  # a new session starts in English
        page = await fresh.new_page()
        await sign_in(page, base, "amy")
        await expect(page.get_by_role("heading", name="Queue")).to_be_visible()
        await fresh.close()
