"""The web desk at the HTTP level: who may enter, CSRF, the queue and a ticket worked from
the browser, through the hub and the outbox like any other moderator surface."""

from __future__ import annotations

from hashlib import sha256

import httpx

from bot.texts import Texts
from tests.adapters.web.conftest import PASSWORD, MakeWeb, WebHarness, csrf_of, sign_in
from tests.helpers.builders import png

PAGES = ["/", "/queue", "/find", "/reports", "/help", "/tickets/1"]
OTHERS = [
    ("GET", "/queue/rows"),
    ("GET", "/tickets/1/history"),
    ("GET", "/tickets/1/card"),
    ("GET", "/events"),
    ("GET", "/files/" + "a" * 64),
    ("GET", "/reports/by_day.csv"),
    ("POST", "/tickets/1/reply"),
    ("POST", "/tickets/1/close"),
    ("POST", "/tickets/1/claim"),
]


async def _handoff(web: WebHarness, name: str = "lin", text: str = "my account was banned") -> int:
    user = web.user(name)
    await user.says(text)
    await user.command("human")
    ticket = await user.open_ticket()
    if ticket is None:  # the category offered its form first: go straight to a person
        await user.presses(user.t("btn_handoff_now"))
        ticket = await user.open_ticket()
    assert ticket is not None
    return ticket.id


async def test_every_route_refuses_the_anonymous(web: WebHarness) -> None:
    async with web.client() as browser:
        for path in PAGES:
            answer = await browser.get(path)
            if path == "/":
                answer = await browser.get("/queue")
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login"), path
        for method, path in OTHERS:
            answer = await browser.request(method, path, data={"text": "hi"})
            assert answer.status_code == 401, (method, path)
    async with web.client() as newcomer:
        login = await newcomer.get("/login")
        assert login.status_code == 200
        assert "HttpOnly" in login.headers["set-cookie"]
        assert "samesite=lax" in login.headers["set-cookie"].lower()


async def test_a_post_that_brings_no_session_is_given_none(web: WebHarness) -> None:
    """Another site's form arrives without the SameSite=Lax cookie: a session set in the
    refusal would replace the moderator's own."""
    for path in ["/tickets/1/close", "/logout", "/lang", "/login"]:
        async with web.client() as elsewhere:
            answer = await elsewhere.post(path, data={"text": "x", "lang": "en"})
            assert answer.status_code in (303, 401, 403), path
            assert "set-cookie" not in answer.headers, path


async def test_sign_out_from_a_stale_page_of_this_site_signs_out(web: WebHarness) -> None:
    async with web.client() as browser:
        await sign_in(browser)
        cross = {"sec-fetch-site": "cross-site"}
        await browser.post("/logout", data={"csrf": "stale"}, headers=cross)
        assert (await browser.get("/queue")).status_code == 200  # another site: refused
        same = {"sec-fetch-site": "same-origin"}
        await browser.post("/logout", data={"csrf": "stale"}, headers=same)
        assert (await browser.get("/queue")).status_code == 303


async def test_a_local_account_signs_in_and_a_wrong_password_is_refused(web: WebHarness) -> None:
    async with web.client() as browser:
        page = await browser.get("/login")
        token = csrf_of(page.text)
        wrong = await browser.post("/login", data={"csrf": token, "name": "amy", "password": "x"})
        assert wrong.status_code == 401
        no_csrf = await browser.post("/login", data={"name": "amy", "password": PASSWORD})
        assert no_csrf.status_code == 403
        await sign_in(browser)
        assert (await browser.get("/queue")).status_code == 200


async def test_a_desk_with_no_way_in_says_how_to_make_one(make_web: MakeWeb) -> None:
    """A new user's first `kefu web` has no accounts: the sign-in page names the command."""
    h = await make_web()
    async with h.client() as browser:
        page = await browser.get("/login", headers={"Accept-Language": "en"})
        assert "kefu web add-user NAME" in page.text
        assert Texts()("en", "web_no_accounts") in page.text
    await h.web.accounts.add("amy", PASSWORD)
    async with h.client() as browser:
        page = await browser.get("/login")
        assert "add-user" not in page.text  # once there is one, nothing is said of accounts


async def test_sign_in_attempts_are_rate_limited(web: WebHarness) -> None:
    async with web.client() as browser:
        token = csrf_of((await browser.get("/login")).text)
        codes = []
        for _ in range(11):
            answer = await browser.post(
                "/login", data={"csrf": token, "name": "amy", "password": "guess"}
            )
            codes.append(answer.status_code)
        assert codes[:10] == [401] * 10
        assert codes[10] == 429
        right = await browser.post(
            "/login", data={"csrf": token, "name": "amy", "password": PASSWORD}
        )
        assert right.status_code == 429  # even the right password waits


async def test_a_removed_account_loses_its_session(web: WebHarness) -> None:
    async with web.client() as browser:
        await sign_in(browser)
        await web.web.accounts.remove("amy")
        assert (await browser.get("/queue")).status_code == 303


async def test_a_forged_session_cookie_is_refused(web: WebHarness) -> None:
    async with web.client() as browser:
        await sign_in(browser)
        cookie = browser.cookies["kefu_session"]
        browser.cookies.set("kefu_session", cookie[:-4] + "AAAA", domain="desk.test")
        assert (await browser.get("/queue")).status_code == 303


async def test_a_state_changing_request_without_the_csrf_token_is_refused(
    web: WebHarness,
) -> None:
    ticket = await _handoff(web)
    async with web.client() as browser:
        token = await sign_in(browser)
        for data in ({"text": "hello"}, {"text": "hello", "csrf": "forged"}):
            answer = await browser.post(f"/tickets/{ticket}/reply", data=data)
            assert answer.status_code == 403
        headless = await browser.post(f"/tickets/{ticket}/claim", headers={"X-CSRF-Token": "nope"})
        assert headless.status_code == 403
        assert (await web.ticket(ticket)).status.value == "open"
        fine = await browser.post(f"/tickets/{ticket}/claim", data={"csrf": token})
        assert fine.status_code == 303
    assert (await web.ticket(ticket)).claimed_by == "web:local:amy"


async def test_the_queue_shows_a_handoff_and_the_ticket_its_screenshot(web: WebHarness) -> None:
    user = web.user("lin")
    ticket = await _handoff(web)
    await user.sends_image(png(color=(1, 2, 3)))
    async with web.client() as browser:
        await sign_in(browser)
        queue = await browser.get("/queue")
        assert f"#{ticket}" in queue.text
        rows = await browser.get("/queue/rows")
        assert f'href="/tickets/{ticket}"' in rows.text
        page = await browser.get(f"/tickets/{ticket}")
        assert page.status_code == 200
        shots = [s for s in page.text.split('src="/files/')[1:]]
        assert shots, "the screenshot is shown inline"
        sha = shots[0][:64]
        image = await browser.get(f"/files/{sha}")
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert image.content == png(color=(1, 2, 3))
    async with web.client() as stranger:
        assert (await stranger.get(f"/files/{sha}")).status_code == 401


async def test_a_reply_from_the_web_reaches_the_user_through_the_outbox(web: WebHarness) -> None:
    user = web.user("lin")
    ticket = await _handoff(web)
    async with web.client() as browser:
        token = await sign_in(browser)
        answer = await browser.post(
            f"/tickets/{ticket}/reply", data={"csrf": token, "text": "We are on it — 请稍候"}
        )
        assert answer.status_code == 303
        page = await browser.get(answer.headers["location"])
    assert user.received("We are on it — 请稍候")
    mirrored = await web.moderators.in_ticket(ticket)
    assert mirrored.has("We are on it — 请稍候"), "the reply appears in the ticket's thread"
    assert web.t("en", "mod_sent", id=ticket) in page.text  # the core's answer, shown
    stored = await web.ticket(ticket)
    assert (stored.status.value, stored.claimed_by) == ("claimed", "web:local:amy")


async def test_a_reply_from_the_web_carries_screenshots_checked_like_any_file(
    web: WebHarness,
) -> None:
    """A moderator attaches screenshots to a reply: the user receives them with the text; a
    file that is not an image is refused by content and the moderator is told; more than five
    send nothing; files with an internal note are not kept."""
    user = web.user("lin")
    ticket = await _handoff(web)
    shot = png(color=(9, 80, 160))
    async with web.client() as browser:
        token = await sign_in(browser)
        url = f"/tickets/{ticket}/reply"

        async def reply(text: str, *files: tuple[str, bytes, str], to: str = url) -> str:
            parts = [("files", f) for f in files]
            answer = await browser.post(to, data={"csrf": token, "text": text}, files=parts)
            assert answer.status_code == 303
            return (await browser.get(answer.headers["location"])).text

        page = await reply("Here is where to tap", ("where.png", shot, "image/png"))
        sent = [o for o in user.inbox if o.reply.files]
        assert [f.sha256 for o in sent for f in o.reply.files] == [sha256(shot).hexdigest()]
        assert user.received("Here is where to tap")
        assert web.t("en", "mod_sent", id=ticket) in page

        before = len(user.inbox)
        page = await reply("", ("tool.png", b"MZ\x90\x00 not an image", "image/png"))
        refused = web.t("en", "mod_attachment_refused", reason=web.t("en", "err_not_image"))
        assert refused.replace("'", "&#39;") in page
        assert len(user.inbox) == before

        six = [(f"{n}.png", png(color=(n, 1, 1)), "image/png") for n in range(6)]
        page = await reply("six of them", *six)
        assert web.t("en", "web_too_many_files", n=5) in page
        page = await reply("a note", six[0], to=f"/tickets/{ticket}/note")
        assert web.t("en", "web_files_reply_only") in page
    assert len(user.inbox) == before and not user.received("six of them")


async def test_note_close_with_a_reason_reopen_and_block(web: WebHarness) -> None:
    user = web.user("lin")
    ticket = await _handoff(web)
    async with web.client() as browser:
        token = await sign_in(browser)

        async def post(action: str, text: str = "") -> None:
            answer = await browser.post(
                f"/tickets/{ticket}/{action}", data={"csrf": token, "text": text}
            )
            assert answer.status_code == 303

        await post("note", "internal only")
        assert not user.received("internal only")
        await post("close", "duplicate of #7")
        stored = await web.ticket(ticket)
        assert (stored.status.value, stored.close_reason) == ("closed", "duplicate of #7")
        assert user.received("duplicate of #7")
        await post("reopen")
        assert (await web.ticket(ticket)).status.value == "claimed"
        await post("block")
        banned = await web.store.get_user(user.key)
        assert banned is not None and banned.banned
        page = await browser.get(f"/tickets/{ticket}")
        assert "internal only" in page.text


async def test_find_by_text_and_status(web: WebHarness) -> None:
    ticket = await _handoff(web, text="my account was banned for spam")
    async with web.client() as browser:
        await sign_in(browser)
        found = await browser.get("/find", params={"text": "banned for spam"})
        assert f'href="/tickets/{ticket}"' in found.text
        none = await browser.get("/find", params={"text": "banned", "status": "closed"})
        assert f'href="/tickets/{ticket}"' not in none.text


async def test_language_from_accept_language_and_switchable(web: WebHarness) -> None:
    async with web.client() as browser:
        zh = await browser.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
        assert web.t("zh-CN", "web_sign_in") in zh.text
        en = await browser.get("/login", headers={"Accept-Language": "en-US,en;q=0.8"})
        assert "Sign in" in en.text
        token = csrf_of(en.text)
        await browser.post("/lang", data={"csrf": token, "lang": "zh-CN", "next": "/login"})
        switched = await browser.get("/login", headers={"Accept-Language": "en"})
        assert web.t("zh-CN", "web_sign_in") in switched.text


async def test_reports_help_center_and_csv_render(web: WebHarness) -> None:
    await _handoff(web)
    async with web.client() as browser:
        await sign_in(browser)
        today = web.web._queries.now()  # type: ignore[union-attr]
        assert today
        report = await browser.get("/reports")
        assert report.status_code == 200
        assert "<svg" in report.text
        csv = await browser.get("/reports/by_category.csv")
        assert csv.status_code == 200
        assert csv.text.lstrip("\ufeff").startswith("key,opened,closed")
        assert (await browser.get("/reports/nope.csv")).status_code == 404
        help_page = await browser.get("/help")
        assert help_page.status_code == 200
        assert "account-banned" in help_page.text or "<table" in help_page.text


async def test_an_unknown_ticket_is_a_plain_404(web: WebHarness) -> None:
    async with web.client() as browser:
        await sign_in(browser)
        assert (await browser.get("/tickets/999")).status_code == 404


def test_httpx_is_what_the_tests_drive() -> None:
    assert httpx.ASGITransport


async def test_the_core_answers_a_moderator_in_their_pages_language(web: WebHarness) -> None:
    """The deployment's moderators read English (its default), amy's page is Chinese: what
    the core says to her alone (her claim, a refusal) is Chinese; the Telegram topic would
    still read English (actor_lang is hers only on a surface that is hers)."""
    ticket = await _handoff(web)
    async with web.client() as browser:
        token = await sign_in(browser)
        await browser.post("/lang", data={"csrf": token, "lang": "zh-CN", "next": "/queue"})
        token = csrf_of((await browser.get(f"/tickets/{ticket}")).text)
        await browser.post(f"/tickets/{ticket}/claim", data={"csrf": token})
        page = await browser.get(f"/tickets/{ticket}")
        assert f"#{ticket} 已由 amy 认领" in page.text
        assert f"#{ticket} claimed by amy" not in page.text
        token = csrf_of(page.text)
        await browser.post(f"/tickets/{ticket}/close", data={"csrf": token, "text": "done"})
        await browser.post(f"/tickets/{ticket}/claim", data={"csrf": token})
        again = await browser.get(f"/tickets/{ticket}")
        shown = (await browser.get(f"/tickets/{ticket}/history")).text
    assert web.t("zh-CN", "mod_already_closed", id=ticket) in again.text
    history = await web.store.messages(ticket)
    assert any(m.text == web.t("en", "log_claimed") for m in history)  # the record: English
    # ... and read in her language on her page ("claimed" showed under Chinese labels)
    assert web.t("zh-CN", "log_claimed") in shown
    assert web.t("zh-CN", "log_closed", reason="done") in shown
    assert ">claimed<" not in shown and "closed. done" not in shown


async def test_a_refused_form_says_why_that_nothing_was_done_and_the_way_back(
    web: WebHarness,
) -> None:
    """A moderator whose session ended, or whose page's token went stale, posts a reply: the
    answer is a page (not bare text) that says so, that nothing was sent, and links back."""
    ticket = await _handoff(web)
    texts, en = Texts(), {"Accept-Language": "en"}
    async with web.client() as browser:
        page = f"http://desk.test/tickets/{ticket}"
        expired = await browser.post(
            f"/tickets/{ticket}/reply", data={"text": "hello"}, headers={**en, "referer": page}
        )
        assert expired.status_code == 401
        assert expired.headers["content-type"].startswith("text/html")
        assert texts("en", "web_signin_needed") in expired.text
        assert texts("en", "web_nothing_done").split(".")[0] in expired.text
        assert f'href="/login?next=/tickets/{ticket}"' in expired.text
        assert ">hello</textarea>" in expired.text  # what was typed, to copy
        assert "set-cookie" not in expired.headers

        await sign_in(browser)
        stale = await browser.post(
            f"/tickets/{ticket}/reply",
            data={"text": "hello", "csrf": "stale"},
            headers={**en, "referer": f"{page}?from=queue"},
        )
        assert stale.status_code == 403
        assert texts("en", "web_csrf_refused") in stale.text
        assert f'href="/tickets/{ticket}?from=queue"' in stale.text
        elsewhere = await browser.post(
            f"/tickets/{ticket}/claim",
            data={"csrf": "stale"},
            headers={"referer": "https://evil.test/tickets/1"},
        )
        assert f'href="/tickets/{ticket}"' in elsewhere.text  # never a link off the site
        live = await browser.post(
            f"/tickets/{ticket}/claim", headers={"HX-Request": "true", "X-CSRF-Token": "x"}
        )
        assert live.status_code == 403 and live.text == texts("en", "web_csrf_refused")
    assert not web.user("lin").received("hello")
    assert (await web.ticket(ticket)).status.value == "open"
