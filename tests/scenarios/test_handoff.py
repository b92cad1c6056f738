"""Issue 2, points 4 and 5 (DESIGN principles 1 and 4): a person one tap away from any state,
typed requests, one open ticket, queue position and an honest estimate, the card, the relay.
"""

from __future__ import annotations

import pytest

from tests.helpers.builders import MINUTE, png, webp
from tests.helpers.fakes import FakeUser, Harness, MakeHarness
from tests.scenarios.steps import ANSWERS, answer, fill_form, open_form
from tests.scenarios.words import WORDS

BANNED = "account/banned"


async def at_the_offer(user: FakeUser) -> None:
    """From /start to "the form, or a person now?" (a banned account has a form)."""
    w = WORDS[user.lang]
    await user.command("start")
    await user.presses(w.account)
    await user.presses(w.banned)
    await user.presses(w.human)


def person_offered(user: FakeUser) -> bool:
    """The latest message with buttons offers a person, or a ticket is already open."""
    w = WORDS[user.lang]
    labels = user.labels()
    return w.human in labels or w.human_now in labels or w.status in labels


async def test_every_step_ends_with_a_person_one_tap_away(h: Harness, lang: str) -> None:
    """Through menu, article, feedback, candidates, form, review: a person is always offered."""
    w, user = WORDS[lang], h.user("alice", lang)
    steps = [
        ("command", "start"), ("presses", w.account), ("presses", w.banned), ("command", "menu"),
        ("says", w.question), ("presses", w.not_solved), ("says", w.nonsense),
        ("says", w.angry), ("command", "cancel"), ("command", "status"),
    ]  # fmt: skip
    for action, arg in steps:
        await getattr(user, action)(arg)
        assert person_offered(user), (action, arg, user.labels())
    form = await open_form(h, user, BANNED)
    for field in form.fields:
        assert person_offered(user), field.id
        await answer(h, user, form, field.id, 1)
    assert person_offered(user)  # the review


async def test_the_language_picker_offers_a_person_too(h: Harness, lang: str) -> None:
    user = h.user("alice", lang)
    await user.command("start")
    await user.command("lang")
    assert person_offered(user), user.labels()


@pytest.mark.parametrize(
    "where", ["menu", "top", "article", "candidates", "offer", "form", "review"]
)
async def test_human_works_in_every_state(h: Harness, lang: str, where: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    if where == "menu":
        await user.presses(w.account)
    elif where == "article":
        await user.says(w.question)
    elif where == "candidates":
        h.index.pin("refund?", [("refund-return", 0.5), ("coupon-problems", 0.4)],
                    confident=False)  # fmt: skip
        said = await user.says("refund?")
        assert said.has(w.candidates)
    elif where == "offer":
        await user.presses(w.account)
        await user.presses(w.banned)
        await user.presses(w.human)
        assert w.form in user.labels() and w.human_now in user.labels()
    elif where == "form":
        form = await open_form(h, user, BANNED)
        await answer(h, user, form, "account_id", 0)
    elif where == "review":
        await fill_form(h, user, BANNED, submit=False)
    said = await user.command("human")
    if where == "article":  # account/password has a form: offered as the fast path, no wall
        assert w.form in said.labels and w.human_now in said.labels
        said = await user.presses(w.human_now)
    assert said.has("#1"), said.text
    assert await user.open_ticket() is not None


async def test_talk_to_a_person_from_a_category_with_a_form(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    await user.presses(w.account)
    await user.presses(w.banned)
    said = await user.presses(w.human)
    assert said.labels == [w.form, w.human_now]
    said = await user.presses(w.human_now)
    assert said.has("#1")
    ticket = await h.ticket(1)
    assert ticket.category == BANNED
    assert ticket.priority == h.kb.priority_of(BANNED)


async def test_details_typed_instead_of_choosing_open_the_ticket_with_them(
    h: Harness, lang: str
) -> None:
    """Asked "the form, or a person now?", the user types what happened instead: that is the
    ticket they asked for, with their words as its first message (they were searched before,
    answered "no article found" and lost)."""
    w, user = WORDS[lang], h.user("alice", lang)
    await at_the_offer(user)
    said = await user.says("订单号 88812345，昨天晚上 8 点")
    assert said.has("#1") and said.has(w.relay_ack)
    assert (await h.ticket(1)).category == BANNED
    assert (await h.moderators.in_ticket(1)).has("88812345")
    history = await h.store.messages(1)
    assert [m.text for m in history] == ["订单号 88812345，昨天晚上 8 点"]


@pytest.mark.parametrize(
    ("lang", "typed", "form"),
    [("en", "I'd rather fill in the form", True), ("en", "form please", True),
     ("zh-CN", "那我填表单吧", True), ("en", "I don't want a form, my ID is L123", False),
     ("en", "how do I change my password?", False),
     ("zh-CN", "不填表了", False)],
)  # fmt: skip
async def test_a_message_that_names_the_form_at_the_offer_chooses_it(
    h: Harness, lang: str, typed: str, form: bool
) -> None:
    """Naming the form chooses it; saying no to it is the details for the ticket."""
    user = h.user("alice", lang)
    await at_the_offer(user)
    await user.says(typed)
    banned = h.kb.form_for(BANNED)
    assert banned is not None
    assert user.last_text().endswith(banned.fields[0].prompt_in(lang)) is form
    assert (await user.open_ticket() is not None) is not form


async def test_a_screenshot_sent_at_the_offer_opens_the_ticket_with_it(h: Harness) -> None:
    user = h.user("alice", "en")
    await at_the_offer(user)
    said = await user.sends_image(png(color=(9, 9, 9)))
    assert said.has("#1") and not said.has(user.t("bad_input"))
    assert any(r.files for r in await h.moderators.in_ticket(1))


async def test_a_screenshot_sent_before_asking_goes_with_the_ticket(h: Harness, lang: str) -> None:
    """People send the error's screenshot first: it is held (and said so), not answered "I
    couldn't read that" and dropped, and the ticket they open carries it."""
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    said = await user.sends_image(png(color=(1, 2, 3)))
    assert said.has(user.t("screenshot_held")) and not said.has(user.t("bad_input"))
    assert w.human in said.labels
    said = await user.sends_file(b"MZ not an image", name="a.exe")
    assert said.has(user.t("err_not_image")) and w.human in said.labels
    await user.says(w.question)  # browsing on keeps it
    await user.command("human")
    await user.presses(w.human_now)  # the article's category has a form: offered first
    ticket = await user.open_ticket()
    assert ticket is not None and len(ticket.images) == 1
    assert any(r.files for r in await h.moderators.in_ticket(ticket.id))


async def test_a_screenshot_sent_before_a_form_answers_its_screenshot_question(
    h: Harness,
) -> None:
    user = h.user("alice", "en")
    await user.command("start")
    await user.sends_image(png(color=(4, 5, 6)))
    form = await open_form(h, user, BANNED)
    for field in form.fields[:-1]:
        await answer(h, user, form, field.id, 0)
    assert user.t("btn_done_images") in user.labels()  # it has the screenshot already
    await user.presses(user.t("btn_done_images"))
    await user.presses(WORDS["en"].submit)
    assert len((await h.ticket(1)).images) == 1


async def test_at_most_five_screenshots_are_held_before_a_ticket(h: Harness) -> None:
    user = h.user("alice", "en")
    await user.command("start")
    said = await user.sends_images(png(color=(n, n, n)) for n in range(7))
    assert said.has(user.t("held_full", max=5))
    await user.command("human")
    assert len((await h.ticket(1)).images) == 5


async def test_thanks_at_the_offer_is_answered_not_a_ticket(h: Harness, lang: str) -> None:
    user = h.user("alice", lang)
    await at_the_offer(user)
    said = await user.says("thanks" if lang == "en" else "谢谢")
    assert said.has(user.t("anything_else")) and await user.open_ticket() is None


@pytest.mark.parametrize(
    "text", ["转人工", "我要人工", "人工客服", "客服", "人工", "talk to a human", "real person",
             "agent", "请帮我转人工", "I want to talk to a person"],
)  # fmt: skip
async def test_typed_requests_start_the_handoff(h: Harness, text: str) -> None:
    user = h.user("alice", "zh-CN")
    await user.command("start")
    said = await user.says(text)
    assert said.has("#1"), said.text
    assert await user.open_ticket() is not None


async def test_a_typed_request_in_a_form_hands_off_with_the_answers_so_far(
    h: Harness, lang: str
) -> None:
    user = h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    await answer(h, user, form, "account_id", 0)
    await answer(h, user, form, "happened_on", 0)
    said = await user.says("转人工")
    assert said.has("#1")
    card = (await h.moderators.in_ticket(1)).items[0]
    assert ANSWERS["account_id"] in card.text and "2025-03-14" in card.text


@pytest.mark.parametrize("text", ["客服态度太差", "客服回复很慢", "人工智能推荐不准"])
async def test_a_complaint_about_support_is_not_a_handoff(h: Harness, text: str) -> None:
    user = h.user("alice", "zh-CN")
    await user.command("start")
    said = await user.says(text)
    assert not said.has("#"), said.text
    assert await user.open_ticket() is None
    assert not h.moderators.inbox


async def test_a_first_message_asking_for_a_person_gets_greeting_and_handoff(
    h: Harness, lang: str
) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    said = await user.says("转人工" if lang == "zh-CN" else "talk to a human")
    assert said.has(w.greeting)
    assert said.has("#1") and said.has(w.queue)
    assert h.moderators.received("#1")


async def test_the_user_gets_number_position_and_an_honest_estimate(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    said = await user.command("human")
    assert said.has("#1") and said.has(w.created) and said.has(w.queue)
    assert said.has(w.estimate_unknown)  # no first responses yet: no made-up figure
    assert w.status in said.labels and w.close_ticket in said.labels


async def test_with_five_answered_tickets_the_estimate_is_in_minutes(h: Harness) -> None:
    mod = h.moderator("bob")
    for n in range(4):
        await h.user(f"u{n}", "en").command("human")
    await h.advance(10 * MINUTE)
    for n in range(1, 5):
        await mod.says_in(n, "hello")
    said = await h.user("early", "en").command("human")
    assert said.has(WORDS["en"].estimate_unknown)  # 4 samples are not enough
    await h.advance(10 * MINUTE)
    await mod.says_in(5, "hello")
    first = await h.user("carol", "en").command("human")
    assert first.has("about 10 min") and first.has("last 5 replies")
    second = await h.user("dave", "zh-CN").command("human")
    assert second.has("第 2 位") and second.has("约 20 分钟")


async def test_the_estimate_divides_by_the_moderators_active_in_the_last_hour(
    h: Harness,
) -> None:
    for n in range(6):
        await h.user(f"u{n}", "en").command("human")
    await h.advance(12 * MINUTE)
    for n in range(1, 6):
        await h.moderator(f"mod{n % 2}").says_in(n, "hello")
    said = await h.user("carol", "en").command("human")  # position 2 behind #6, 2 moderators
    assert said.has("number 2") and said.has("about 12 min") and said.has("2 moderator")
    await h.advance(2 * 60 * MINUTE)  # nobody active in the last hour: counted as one
    said = await h.user("dave", "en").command("human")
    assert said.has("number 3") and said.has("about 36 min") and said.has("1 moderator")


async def test_at_most_one_open_ticket_asking_again_shows_its_status(
    h: Harness, lang: str
) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("human")
    for said in [await user.command("human"), await user.says("转人工")]:
        assert said.has("#1") and said.has(w.queue)
    said = await user.presses(w.status)
    assert said.has("#1") and said.has(w.queue)
    await user.command("menu")
    said = await user.presses(w.human)
    assert said.has(w.exists)
    assert [t.id for t in await h.store.queue()] == [1]
    assert h.moderators.count("#1") == 1  # paged once


async def test_status_at_any_time(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    said = await user.command("status")
    assert said.has(w.no_ticket)
    await h.user("bob", lang).command("human")
    await user.command("human")
    said = await user.command("status")
    assert said.has("#2") and said.has("2")
    await h.moderator("mod").presses("认领", 2)
    said = await user.command("status")
    assert said.has(user.t("state_claimed"))


@pytest.mark.parametrize(
    ("lang", "typed"), [("zh-CN", "还要等多久？"), ("zh-CN", "有人在吗"), ("en", "any update??")]
)
async def test_asking_after_the_wait_in_a_ticket_relays_it_and_shows_where_they_stand(
    h: Harness, lang: str, typed: str
) -> None:
    user = h.user("alice", lang)
    await h.user("bob", lang).command("human")
    await user.command("human")
    said = await user.says(typed)
    assert said.has(user.t("queue_position", pos=2))
    assert (await h.moderators.in_ticket(2)).has(typed)  # the moderators see it all the same
    said = await user.says("it says error 1003")
    assert not said.has(user.t("queue_position", pos=2))  # other lines are only relayed


async def test_form_answers_appear_once_in_the_card_and_never_as_chat(
    h: Harness, lang: str
) -> None:
    user = h.user("alice", lang)
    await fill_form(h, user, BANNED, images=2)
    thread = await h.moderators.in_ticket(1)
    assert thread.text.count(ANSWERS["account_id"]) == 1
    assert thread.text.count(ANSWERS["reason"]) == 1
    card = thread.items[0]
    assert ANSWERS["account_id"] in card.text
    assert len(card.files) == 2
    assert card.flat_buttons and card.title.startswith("#1")
    for message in await h.store.messages(1):
        assert ANSWERS["account_id"] not in message.text


async def test_while_a_ticket_is_open_text_and_images_join_it(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("human")
    said = await user.says(w.question)  # not searched: it goes to the person
    assert said.has(w.relay_ack) and not said.has(w.did_it_help)
    said = await user.says("still there?")
    assert not said.has(w.relay_ack)  # acknowledged once, not on every line
    await user.sends_image(png(color=(5, 5, 5)))
    thread = await h.moderators.in_ticket(1)
    assert any(w.question in r.text for r in thread)
    assert any("still there?" in r.text for r in thread)
    assert any(r.files for r in thread)
    history = await h.store.messages(1)
    assert [m.text for m in history if m.author.value == "user"] == [
        w.question,
        "still there?",
        "",
    ]
    assert len(history[-1].attachments) == 1
    assert await h.store.top_misses(5) == []


async def test_a_refused_file_during_a_ticket_is_explained_not_relayed(h: Harness) -> None:
    user = h.user("alice", "en")
    await user.command("human")
    said = await user.sends_file(b"MZ\x90\x00 not an image", name="invoice.png")
    assert said.has(WORDS["en"].err_not_image)
    thread = await h.moderators.in_ticket(1)
    assert not any(r.files for r in thread)


@pytest.mark.parametrize(
    ("kind", "error"), [("voice", "err_not_text"), ("location", "err_not_readable")]
)
async def test_a_voice_message_or_a_location_is_answered_before_and_in_a_ticket(
    h: Harness, lang: str, kind: str, error: str
) -> None:
    user = h.user("alice", lang)
    said = await user.sends_refused(kind, error)
    assert said.has(user.t(error))
    await user.command("human")
    said = await user.sends_refused(kind, error)
    assert [r.text for r in said] == [user.t(error)]  # said, and nothing relayed
    thread = await h.moderators.in_ticket(1)
    assert not any(user.t(error) in r.text for r in thread)


async def test_an_edit_reaches_the_tickets_moderators_and_nothing_else(
    h: Harness, lang: str
) -> None:
    user = h.user("alice", lang)
    said = await user.edits("忘记密码")  # outside a ticket: the bot answered that message
    assert len(said) == 0
    await user.command("human")
    await user.says("order 12345")
    said = await user.edits("order 12346")
    assert len(said) == 0
    edited = h.t(h.services.mod_lang, "mod_user_edited", text="order 12346")
    assert h.moderators.received(edited)
    assert [m.text for m in (await h.store.messages(1))[-2:]] == [
        "order 12345",
        "order 12346",
    ]
    await h.moderator("bob").says_in(1, "Open Me > Orders", edited=True)
    assert user.last_text() == user.t("mod_reply_edited", text="Open Me > Orders")


async def test_the_user_closes_the_ticket(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("human")
    said = await user.presses(w.close_ticket)
    assert said.has("#1") and w.reopen in said.labels and w.human in said.labels
    assert (await h.ticket(1)).status == "closed"
    assert h.moderators.received(h.t(h.services.mod_lang, "mod_closed_by_user", id=1))
    said = await user.says(w.question)  # searched again: the ticket is closed
    assert said.has(w.did_it_help)


async def test_typing_a_ticket_buttons_label_presses_it(h: Harness, lang: str) -> None:
    """ "关闭工单" or "Ticket status" typed under the ticket's buttons does what the button
    does; it is not relayed to the moderators as a message. Anything more is relayed."""
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("human")
    await user.says(w.question)
    said = await user.says(f" {user.t('btn_status')} ")
    assert said.has("#1") and w.close_ticket in said.labels
    said = await user.says(f"{user.t('btn_close_ticket')} please, it works now")
    assert (await h.ticket(1)).status == "open"  # more than the label: a message
    said = await user.says(user.t("btn_close_ticket").lower())
    assert (await h.ticket(1)).status == "closed" and w.reopen in said.labels
    relayed = [m.text for m in await h.store.messages(1) if m.author.value == "user"]
    assert relayed == [w.question, f"{user.t('btn_close_ticket')} please, it works now"]


async def test_the_close_command(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    said = await user.command("close")
    assert said.has(w.no_ticket)
    await user.command("human")
    await user.command("close")
    assert (await h.ticket(1)).status == "closed"


async def test_nothing_is_closed_by_silence(h: Harness) -> None:
    user = h.user("alice", "en")
    await user.command("human")
    await h.moderator("bob").says_in(1, "Can you send a screenshot?")
    for _ in range(10):
        await h.advance(3 * 24 * 60 * MINUTE)
        await h.tick()
    assert (await h.ticket(1)).status == "claimed"


async def test_an_unclaimed_ticket_pages_the_moderators_again_after_the_sla(h: Harness) -> None:
    await h.user("alice", "en").command("human")
    await h.advance(29 * MINUTE)
    assert await h.tick() == 0
    await h.advance(2 * MINUTE)
    assert await h.tick() == 1
    sla = h.t(h.services.mod_lang, "mod_sla", id=1, minutes=31)
    assert (await h.moderators.in_ticket(1)).has(sla)
    assert await h.tick() == 0  # not again at once


async def test_the_ticket_keeps_the_question_asked_before_talk_to_a_person(
    h: Harness, lang: str
) -> None:
    """ "人工客服" alone says nothing about the problem: the card keeps the question asked
    before it (it showed "人工客服" as what the user asked)."""
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    await user.says(w.question)
    await user.says("人工客服")
    if await user.open_ticket() is None:
        await user.presses(w.human_now)
    assert (await h.ticket(1)).summary == w.question


async def test_a_request_for_a_person_that_says_more_is_not_lost(h: Harness, lang: str) -> None:
    """The words around "转人工" reach the moderators: in the card, or relayed to the ticket."""
    user = h.user("alice", lang)
    await user.says("转人工，我的账号 L55501234 被封了")
    assert (await h.moderators.in_ticket(1)).has("L55501234")


async def test_a_request_for_a_person_during_a_ticket_is_still_relayed(
    h: Harness, lang: str
) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("human")
    said = await user.says("转人工!! 订单号 2025031499990000 还没退款")
    assert said.has("#1")
    assert (await h.moderators.in_ticket(1)).has("2025031499990000")
    assert any("2025031499990000" in m.text for m in await h.store.messages(1))
    assert w.status in user.labels()


async def test_a_form_answer_that_mentions_an_agent_is_not_lost(h: Harness) -> None:
    """A long text at a typed question answers it, even if it says "agent" (DESIGN: form
    answers reach the moderators once, in the card); it starts no handoff of its own."""
    user = h.user("alice", "en")
    form = await open_form(h, user, BANNED)
    for field_id in ("account_id", "happened_on", "notice"):
        await answer(h, user, form, field_id, 0)
    said = await user.says("I asked a support agent in the app chat, ref K-77812, they said wait")
    reason = form.field("reason")
    assert reason is not None and said.has(reason.prompt_in("en")), said.text  # the next one
    assert await h.store.queue() == [] and h.moderators.inbox == []
    for field_id in ("reason", "screenshots"):
        await answer(h, user, form, field_id, 0)
    await user.presses(WORDS["en"].submit)
    card = (await h.moderators.in_ticket(1)).items[0]
    assert card.text.count("K-77812") == 1  # in the card, as the answer to "before"
    assert not any("K-77812" in m.text for m in await h.store.messages(1))  # not relayed too


async def test_the_card_names_a_webp_screenshot_correctly(h: Harness) -> None:
    user = h.user("alice", "en")
    form = await open_form(h, user, BANNED)
    for field in form.fields[:-1]:
        await answer(h, user, form, field.id, 0)
    await user.sends_image(webp(), name="shot.webp")
    await user.presses("Done")
    await user.presses("Submit")
    card = (await h.moderators.in_ticket(1)).items[0]
    assert [f.mime for f in card.files] == ["image/webp"]
    assert card.files[0].name.endswith(".webp"), card.files[0].name


async def test_the_attachment_limit_of_a_ticket_is_kept(make_harness: MakeHarness) -> None:
    async with make_harness(max_attachments_per_ticket=2) as h:
        user = h.user("alice", "en")
        await user.command("human")
        for n in range(3):
            said = await user.sends_image(png(color=(n, 50, 50)))
        assert said.has("already holds the most attachments")
        files = [sha for m in await h.store.messages(1) for sha in m.attachments]
        assert len(files) == 2


async def test_out_of_hours_the_estimate_says_when_staff_are_back(
    make_harness: MakeHarness,
) -> None:
    hours = {"hours": "Mon-Fri 13:00-18:00", "timezone": "UTC"}  # the clock starts Thu 12:00
    async with make_harness(handoff=hours) as h:
        said = await h.user("alice", "en").command("human")
        assert said.has("offline") and said.has("Thu 13:00")
        await h.advance(45 * MINUTE)
        assert await h.tick() == 0  # nobody is paged again while the team is off
        await h.advance(60 * MINUTE)
        said = await h.user("alice", "en").command("status")
        assert said.has("number 1") and not said.has("offline")
