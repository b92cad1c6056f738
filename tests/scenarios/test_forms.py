"""Issue 2, point 3: forms field by field with validation, review, Edit, Submit, /cancel;
images checked by content and stored by hash; a restart in the middle of a form.
"""

from __future__ import annotations

import hashlib

import pytest

from bot.state import Step
from bot.types import Capabilities
from knowledge.models import FieldType
from tests.helpers.builders import DAY, exe, jpeg, png, png_bomb
from tests.helpers.fakes import Harness, MakeHarness
from tests.scenarios.steps import (
    ANSWERS,
    answer,
    fill_form,
    form_answers,
    open_form,
    past_the_first,
)
from tests.scenarios.words import WORDS

BANNED = "account/banned"
ORDERS = "commerce/orders"


async def test_a_form_asks_field_by_field_then_reviews(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    assert user.last_text().endswith(form.fields[0].prompt_in(lang))
    assert {w.cancel, w.human} <= set(user.labels())
    for n, field in enumerate(form.fields[:-1]):
        said = await answer(h, user, form, field.id, images=1)
        assert said.items[-1].text.endswith(
            form.fields[n + 1].prompt_in(lang)
            + ("" if form.fields[n + 1].required else user.t("field_optional"))
        )
    said = await answer(h, user, form, form.fields[-1].id, images=1)
    assert said.has(w.review)
    for field in form.fields:
        assert field.label_in(lang) in said.text
    assert ANSWERS["account_id"] in said.text and "2025-03-14" in said.text
    assert {w.submit, w.cancel, w.human} <= set(user.labels())
    assert sum(label.startswith(user.t("btn_edit", field="")) for label in user.labels()) == len(
        form.fields
    )


async def test_submit_creates_one_ticket_with_the_answers(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    said = await fill_form(h, user, BANNED)
    assert said.has("#1") and said.has(w.created)
    ticket = await h.ticket(1)
    assert ticket.form_id == "ban-appeal"
    assert ticket.category == BANNED
    assert any("L12345678" in answer for _label, answer in ticket.answers)
    assert len(ticket.images) == 1


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("2025-03-14", "2025-03-14"),
        ("2025/3/14", "2025-03-14"),
        ("2025.03.14", "2025-03-14"),
        ("2025年3月14日", "2025-03-14"),
        ("3月14日", "2025-03-14"),  # no year, in January: last March, not a future date
        ("yesterday", "2026-01-14"),
        ("昨天", "2026-01-14"),
        ("today", "2026-01-15"),
        ("前天", "2026-01-13"),
        ("２０２５－０３－１４", "2025-03-14"),
        # how people write dates (the harness's today is Thursday 2026-01-15)
        ("上周二", "2026-01-06"),
        ("上个月15号", "2025-12-15"),
        ("礼拜二", "2026-01-13"),
        ("三天前", "2026-01-12"),
        ("3 days ago", "2026-01-12"),
        ("last Tuesday", "2026-01-13"),
        ("1 Dec", "2025-12-01"),
        ("12号", "2026-01-12"),
    ],
)
async def test_dates_as_people_type_them(h: Harness, typed: str, stored: str) -> None:
    user = h.user("alice", "en")
    await past_the_first(h, user, BANNED)
    said = await user.says(typed)
    assert (await form_answers(h, user))["happened_on"] == stored
    assert said.has(f"📅 {stored}")  # the date understood is said back


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("2027-01-01", "err_date_future"),
        ("2026-01-16", "err_date_future"),
        ("tomorrow", "err_date_future"),
        ("明天", "err_date_future"),
        ("下周一", "err_date"),
        ("sometime", "err_date"),
        ("2025-02-30", "err_date"),
        ("1999-12-31", "err_date"),
        ("'; DROP TABLE tickets; --", "err_date"),
    ],
)
async def test_bad_dates_are_refused_clearly(h: Harness, typed: str, problem: str) -> None:
    user = h.user("alice", "en")
    form = await past_the_first(h, user, BANNED)
    said = await user.says(typed)
    assert said.text == user.t(problem)
    assert user.t("btn_human") in said.labels  # a person stays one tap away
    said = await user.says("2025-03-14")  # still at the same question
    assert said.items[-1].text.endswith(form.fields[2].prompt_in("en"))


async def test_a_second_answer_no_date_is_read_from_is_taken_as_written(h: Harness) -> None:
    """Asked once again, not forever: every line typed after an unreadable date was refused
    with the same words, the next questions' answers lost with it."""
    user = h.user("alice", "en")
    form = await past_the_first(h, user, BANNED)
    said = await user.says("why does it matter")
    assert said.text == user.t("err_date")
    said = await user.says("just unban me")
    assert said.has(user.t("date_vague", said="just unban me"))
    assert said.items[-1].text.endswith(form.fields[2].prompt_in("en"))
    assert (await form_answers(h, user))["happened_on"] == "just unban me"


@pytest.mark.parametrize("typed", ["不记得了", "I don't remember", "not sure"])
async def test_a_date_they_do_not_remember_is_taken_as_written(h: Harness, typed: str) -> None:
    """A person who cannot say when is not asked again and again: their words are the answer,
    and the next question follows."""
    user = h.user("alice", "en")
    form = await past_the_first(h, user, BANNED)
    said = await user.says(typed)
    assert said.has(user.t("date_unknown"))
    assert said.items[-1].text.endswith(form.fields[2].prompt_in("en"))
    assert (await form_answers(h, user))["happened_on"] == typed


@pytest.mark.parametrize("typed", ["前几天", "a few days ago"])
async def test_a_date_said_roughly_is_taken_as_written(h: Harness, typed: str) -> None:
    """ "前几天" names no day: it is kept as they wrote it and said back, not refused."""
    user = h.user("alice", "en")
    form = await past_the_first(h, user, BANNED)
    said = await user.says(typed)
    assert said.has(user.t("date_vague", said=typed))
    assert said.items[-1].text.endswith(form.fields[2].prompt_in("en"))
    assert (await form_answers(h, user))["happened_on"] == typed


async def test_a_date_in_the_future_in_both_languages(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await past_the_first(h, user, BANNED)
    assert (await user.says("2027-01-01")).has(w.err_date_future)
    assert (await user.says("next week")).has(w.err_date_future)
    assert (await user.says("whenever")).has(w.err_date)


async def test_text_over_the_limit_is_refused_with_the_limit(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    field = form.fields[0]
    said = await user.says("L" * (field.max_length + 1))
    assert said.has(w.err_too_long) and said.has(str(field.max_length))
    said = await user.says("L12345678")
    assert said.items[-1].text.endswith(form.fields[1].prompt_in(lang))


async def test_ten_thousand_characters_in_a_long_answer(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    for field_id in ("account_id", "happened_on", "notice"):
        await answer(h, user, form, field_id, 0)
    said = await user.says("很长" * 5000)
    assert said.has(w.err_too_long) and said.has("10000")


async def test_empty_and_invisible_answers_are_refused(h: Harness, lang: str) -> None:
    user = h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    for text in ("", "   ", "\u200b\u200d\ufeff", "\u202e\u202c"):
        said = await user.says(text)
        assert said.text == user.t("err_empty"), repr(text)
    said = await user.says("\u200bL12345678\u202c")
    assert said.items[-1].text.endswith(form.fields[1].prompt_in(lang))
    conv = await h.store.load_conversation(user.key)
    assert conv is not None and conv.data["form"]["answers"]["account_id"] == "L12345678"


async def test_a_choice_by_button(h: Harness, lang: str) -> None:
    user = h.user("alice", lang)
    form = await open_form(h, user, ORDERS)
    await answer(h, user, form, "order_no", 0)
    field = form.field("problem")
    assert field is not None
    labels = [c.label(lang) for c in field.choices]
    assert labels == user.labels()[: len(labels)]
    said = await user.presses(labels[1])
    assert said.items[-1].text.endswith(form.fields[2].prompt_in(lang))
    conv = await h.store.load_conversation(user.key)
    assert conv is not None
    assert conv.data["form"]["answers"]["problem"] == field.choices[1].label(h.services.mod_lang)


async def test_a_choice_typed_by_its_label_or_refused(h: Harness, lang: str) -> None:
    user = h.user("alice", lang)
    form = await open_form(h, user, ORDERS)
    await answer(h, user, form, "order_no", 0)
    field = form.field("problem")
    assert field is not None
    said = await user.says("something odd")
    assert said.text == user.t("err_choice")
    said = await user.says(field.choices[0].label(lang).upper())
    assert said.items[-1].text.endswith(form.fields[2].prompt_in(lang))


@pytest.mark.parametrize(
    ("typed", "chosen"),
    [("不发货", "not_shipped"), ("假货", "counterfeit"), ("Not shipped!", "not_shipped"),
     ("优惠券", "coupon"), ("退款", None), ("refund", None)],
)  # fmt: skip
async def test_a_choice_typed_in_either_language_or_in_part(
    h: Harness, typed: str, chosen: str | None
) -> None:
    """A label in the other language, or the distinctive part of a Chinese one, names its
    option; what could be two options ("退款": a return, or a refund not received) is asked
    again."""
    user = h.user("alice", "zh-CN")
    form = await past_the_first(h, user, ORDERS)
    said = await user.says(typed)
    answers = await form_answers(h, user)
    field = form.field("problem")
    assert field is not None
    if chosen is None:
        assert said.text == user.t("err_choice") and "problem" not in answers
        return
    choice = next(c for c in field.choices if c.id == chosen)
    assert answers["problem"] == choice.label(h.services.mod_lang)


async def test_images_are_checked_by_content_and_stored_by_hash(h: Harness, lang: str) -> None:
    user = h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    for field in form.fields[:-1]:
        await answer(h, user, form, field.id, 0)
    picture = jpeg()
    said = await user.sends_file(picture, name="../../../etc/passwd.png")
    assert said.has(user.t("images_prompt_more", n=1))
    sha = hashlib.sha256(picture).hexdigest()
    stored = h.data_dir / "files" / sha[:2] / f"{sha}.jpg"
    assert stored.read_bytes() == picture
    assert not list(h.data_dir.rglob("passwd*"))
    record = await h.store.get_file(sha)
    assert record is not None and record.mime == "image/jpeg"


@pytest.mark.parametrize(
    ("data", "name", "problem"),
    [
        (exe(), "screenshot.png", "err_not_image"),
        (b"just text", "photo.jpg", "err_not_image"),
        (png_bomb(), "huge.png", "err_too_many_pixels"),
    ],
    ids=["exe-renamed-png", "text-renamed-jpg", "20000x20000-png"],
)
async def test_what_is_not_an_acceptable_image_is_refused(
    h: Harness, lang: str, data: bytes, name: str, problem: str
) -> None:
    user = h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    for field in form.fields[:-1]:
        await answer(h, user, form, field.id, 0)
    said = await user.sends_file(data, name=name)
    assert user.t(problem, max=8) in said.text
    assert not (h.data_dir / "files").exists() or not list((h.data_dir / "files").rglob("*.*"))
    conv = await h.store.load_conversation(user.key)
    assert conv is not None and conv.step == Step.FORM
    assert conv.data["form"]["images"].get("screenshots", []) == []
    said = await user.sends_image(png())  # a real one still works
    assert said.has(user.t("images_prompt_more", n=1))


async def test_an_image_over_the_byte_limit_is_refused(make_harness: MakeHarness) -> None:
    async with make_harness(max_image_bytes=1024) as h:
        user = h.user("alice", "en")
        form = await open_form(h, user, BANNED)
        for field in form.fields[:-1]:
            await answer(h, user, form, field.id, 0)
        said = await user.sends_image(png() + bytes(2048))
        assert said.has("too large") and said.has("limit")
        assert h.users_adapter.fetches == 0  # refused from the declared size, not downloaded


async def test_more_images_than_allowed_keeps_the_first_ones(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    for field in form.fields[:-1]:
        await answer(h, user, form, field.id, 0)
    field = form.fields[-1]
    said = await user.sends_images(png(color=(n, 1, 1)) for n in range(field.max_images + 2))
    assert said.has(w.err_too_many_images) and said.has(str(field.max_images))
    assert said.has(w.review)
    conv = await h.store.load_conversation(user.key)
    assert conv is not None
    assert len(conv.data["form"]["images"][field.id]) == field.max_images


async def test_skip_after_screenshots_keeps_them(h: Harness, lang: str) -> None:
    """Once screenshots came, the question offers Done, not Skip (which dropped them); "Skip"
    typed anyway, or pressed on the question's first message, keeps them too."""
    w, user = WORDS[lang], h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    for field in form.fields[:-1]:
        await answer(h, user, form, field.id, 0)
    said = await user.sends_image(png(color=(7, 7, 7)))
    assert w.done in said.labels and w.skip not in said.labels
    said = await user.says(w.skip)
    assert said.has(w.review) and said.has(user.t("review_images", n=1))
    await user.presses(w.submit)
    thread = await h.moderators.in_ticket(1)
    assert len(thread.items[0].files) == 1  # the card carries the screenshot


async def test_a_screenshot_question_left_empty_reads_skipped(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    for field in form.fields[:-1]:
        await answer(h, user, form, field.id, 0)
    said = await user.presses(w.skip)
    label = form.fields[-1].label_in(lang)
    assert said.has(f"{label}: {user.t('review_empty')}")
    assert not said.has(user.t("review_images", n=0))


async def test_text_where_an_image_is_expected_asks_for_an_image(h: Harness, lang: str) -> None:
    user = h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    for field in form.fields[:-1]:
        await answer(h, user, form, field.id, 0)
    said = await user.says("I have no screenshot")
    assert said.has(user.t("err_need_image", hint=WORDS[lang].skip))
    assert WORDS[lang].skip in said.labels


async def test_edit_at_review(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    form = await fill_form(h, user, BANNED, submit=False)
    assert form.has(ANSWERS["account_id"])
    label = h.kb.forms["ban-appeal"].fields[0].label_in(lang)
    said = await user.presses(user.t("btn_edit", field=label))
    assert said.items[-1].text.endswith(h.kb.forms["ban-appeal"].fields[0].prompt_in(lang))
    said = await user.says("L87654321")
    assert said.has(w.review) and said.has("L87654321") and not said.has(ANSWERS["account_id"])
    said = await user.presses(w.submit)
    assert said.has("#1")
    ticket = await h.ticket(1)
    assert any(answer == "L87654321" for _label, answer in ticket.answers)
    assert not any(answer == ANSWERS["account_id"] for _label, answer in ticket.answers)


async def test_edit_the_screenshots_at_review(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await fill_form(h, user, BANNED, images=2, submit=False)
    label = h.kb.forms["ban-appeal"].fields[-1].label_in(lang)
    await user.presses(user.t("btn_edit", field=label))
    await user.sends_image(png(color=(99, 99, 99)))
    said = await user.presses(w.done)
    assert said.has(w.review) and said.has(user.t("review_images", n=1))


async def test_cancel_leaves_the_form_and_sends_nothing(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    await answer(h, user, form, "account_id", 0)
    said = await user.command("cancel")
    assert said.has(w.cancelled)
    assert w.human in user.labels()
    assert await user.open_ticket() is None
    assert not h.moderators.inbox
    await user.says("L12345678")  # no longer a form answer: searched instead
    conv = await h.store.load_conversation(user.key)
    assert conv is not None and conv.step != Step.FORM
    assert "form" not in conv.data


async def test_the_cancel_button_at_review(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await fill_form(h, user, BANNED, submit=False)
    said = await user.presses(w.cancel)
    assert said.has(w.cancelled)
    assert await user.open_ticket() is None
    said = await user.presses_data(
        next(b.data for o in reversed(user.inbox) for b in o.reply.flat_buttons
             if b.label == w.submit)
    )  # fmt: skip
    assert said.has(w.stale)
    assert await user.open_ticket() is None


async def test_a_restart_in_the_middle_of_a_form_continues_at_the_same_question(
    h: Harness, lang: str
) -> None:
    user = h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    await answer(h, user, form, "account_id", 0)
    await answer(h, user, form, "happened_on", 0)
    await h.restart()
    said = await user.says(ANSWERS["notice"])
    assert said.items[-1].text.endswith(form.fields[3].prompt_in(lang))
    for field in form.fields[3:]:
        said = await answer(h, user, form, field.id, 1)
    assert said.has(ANSWERS["account_id"]) and said.has("2025-03-14")
    await h.restart()
    said = await user.presses(WORDS[lang].submit)  # a button from before the restart
    assert said.has("#1")


async def test_the_users_words_reach_the_card_the_desk_and_the_export_as_typed(
    h: Harness,
) -> None:
    """Full-width punctuation, a word-for-word notice: kept verbatim, matched normalised."""
    user = h.user("alice", "zh-CN")
    notice = "账号已被封禁，原因：违反社区公约（第３条）！"
    form = await open_form(h, user, BANNED)
    for field in form.fields:
        if field.id == "notice":
            await user.says(f"  {notice}\u202e ")  # edges trimmed, a direction override dropped
        else:
            await answer(h, user, form, field.id, images=1)
    await user.presses(WORDS["zh-CN"].submit)
    ticket = await h.ticket(1)
    assert notice in [answer for _, answer in ticket.answers]
    card = (await h.moderators.in_ticket(1)).items[0]
    assert notice in card.text
    mod = h.moderator("mei")
    await mod.command(1, "open")
    assert notice in h.moderators.last_text()
    await user.says("补充：截图在上面，谢谢！")
    assert (await h.store.messages(1))[-1].text == "补充：截图在上面，谢谢！"
    assert (await h.moderators.in_ticket(1)).has("补充：截图在上面，谢谢！")


async def test_a_platform_without_dialogs_gets_the_form_question_by_question(
    h: Harness,
) -> None:
    h.services.capabilities = {**h.services.capabilities, "fake": Capabilities()}
    user = h.user("alice", "en")
    await user.command("start")
    cat = h.kb.categories[BANNED]
    await user.presses(h.kb.categories[cat.parent].label("en"))
    await user.presses(cat.label("en"))
    assert user.button(WORDS["en"].form).modal is None


async def test_a_screenshot_at_a_typed_question_is_kept_not_lost(h: Harness, lang: str) -> None:
    """People send the screenshot where they are asked to explain: it goes with the ticket."""
    w, user = WORDS[lang], h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    typed = next(f for f in form.fields if f.type in (FieldType.TEXT, FieldType.LONG_TEXT))
    for field in form.fields[: form.fields.index(typed)]:
        await answer(h, user, form, field.id, 0)
    said = await user.sends_image(png(color=(3, 2, 1)))
    assert said.has(user.t("err_image_kept"))
    assert said.items[-1].text == user.t("err_image_kept")  # asked again, with its buttons
    assert w.human in said.labels
    said = await user.sends_file(png(color=(4, 2, 1)), text=ANSWERS[typed.id], mime="image/png")
    assert not said.has(user.t("err_image_kept"))  # the caption answered it
    shots = next(f for f in form.fields if f.type == FieldType.IMAGES)
    for field in form.fields[form.fields.index(typed) + 1 : form.fields.index(shots)]:
        said = await answer(h, user, form, field.id, 1)
    # The screenshot question counts them, and offers Done, not Skip (which would drop them).
    assert said.has(user.t("images_prompt_more", n=2))
    assert w.done in said.labels and w.skip not in said.labels
    said = await answer(h, user, form, shots.id, 1)
    assert said.has(w.review) and said.has(user.t("review_images", n=3))
    said = await user.presses(w.submit)
    ticket = await h.ticket(1)
    assert len(ticket.images) == 3
    assert any(ANSWERS[typed.id] == answer for _label, answer in ticket.answers)


async def test_a_refused_file_with_a_caption_keeps_the_answer(h: Harness, lang: str) -> None:
    user = h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    typed = next(f for f in form.fields if f.type in (FieldType.TEXT, FieldType.LONG_TEXT))
    for field in form.fields[: form.fields.index(typed)]:
        await answer(h, user, form, field.id, 0)
    said = await user.sends_file(exe(), name="a.png", text=ANSWERS[typed.id])
    assert said.has(user.t("err_not_image"))
    conv = await h.store.load_conversation(user.key)
    assert conv is not None and conv.data["form"]["answers"][typed.id] == ANSWERS[typed.id]


@pytest.mark.parametrize("lang_typed", ["zh-CN", "en"])
async def test_button_labels_typed_press_them(h: Harness, lang: str, lang_typed: str) -> None:
    """ "完成", "Skip", "提交" typed instead of pressed (in either language) do what they say."""
    w, typed = WORDS[lang], WORDS[lang_typed]
    user = h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    for field in form.fields[:-1]:
        await answer(h, user, form, field.id, 0)
    said = await user.says(f" {typed.skip.upper()}! ")  # the screenshots are optional
    assert said.has(w.review)
    await user.presses(user.labels()[-4])  # Edit the screenshots
    await user.sends_image(png())
    said = await user.says(typed.done)
    assert said.has(w.review)
    said = await user.says(typed.submit)
    assert said.has("#1") and said.has(w.created)


async def test_skip_typed_at_a_required_question_says_it_is_required(
    h: Harness, lang: str
) -> None:
    user = h.user("alice", lang)
    form = await open_form(h, user, BANNED)
    first = form.fields[0]
    assert first.required and first.type == FieldType.TEXT
    said = await user.says(WORDS[lang].skip)
    assert said.has(user.t("err_required"))
    assert said.items[-1].text.startswith(first.prompt_in(lang)) or said.has(first.prompt_in(lang))
    conv = await h.store.load_conversation(user.key)
    assert conv is not None and first.id not in conv.data["form"]["answers"]


async def test_what_is_typed_at_the_review_goes_with_the_ticket(h: Harness, lang: str) -> None:
    """ "Oh, the order number is …" and a screenshot sent while the answers are shown for
    checking: kept and shown in the summary, then on the ticket. They were dropped."""
    w, user = WORDS[lang], h.user("alice", lang)
    await fill_form(h, user, ORDERS, images=0, submit=False)
    said = await user.says("oh sorry, the order number is 240601123456")
    assert said.has(user.t("review_added")) and said.has("240601123456")
    said = await user.sends_image(png(color=(9, 9, 9)))
    assert said.has(w.review) and said.has(user.t("review_images", n=1))
    await user.presses(w.submit)
    ticket = await h.ticket(1)
    added = h.t(h.services.mod_lang, "review_added_label")
    assert (added, "oh sorry, the order number is 240601123456") in ticket.answers
    assert len(ticket.images) == 1


async def test_a_choice_is_shown_in_the_users_language_at_the_review(h: Harness) -> None:
    """It is kept in the moderators' language (Chinese by default): an English user read
    "Problem: 商家不发货" in their summary."""
    user = h.user("alice", "en")
    said = await fill_form(h, user, ORDERS, images=0, submit=False)
    field = h.kb.forms["order-problem"].field("problem")
    assert field is not None
    chosen = next(c for c in field.choices if c.id == ANSWERS["problem"])
    assert said.has(f"{field.label_in('en')}: {chosen.label('en')}")
    assert chosen.label("zh-CN") not in said.text


async def test_a_question_typed_at_a_short_question_is_asked_back(h: Harness) -> None:
    """ "where is the order number??" became the ticket's order number."""
    user = h.user("alice", "en")
    form = await open_form(h, user, ORDERS)
    said = await user.says("where is the order number??")
    assert said.text.startswith("That looks like a question.")
    assert form.fields[0].prompt_in("en") in said.text
    assert "order_no" not in await form_answers(h, user)
    await user.says("2406 01123456?")
    await user.says("2406 01123456?")  # sent again: theirs, as written
    assert (await form_answers(h, user))["order_no"] == "2406 01123456?"


@pytest.mark.parametrize("typed", ["算了", "never mind", "我不想填了"])
async def test_giving_up_at_a_question_is_asked_about_not_kept(h: Harness, typed: str) -> None:
    """ "算了" was kept as the order number and the form went on."""
    w, user = WORDS["zh-CN"], h.user("alice", "zh-CN")
    await open_form(h, user, ORDERS)
    said = await user.says(typed)
    assert said.text == user.t("form_quit_check") and w.cancel in said.labels
    assert "order_no" not in await form_answers(h, user)
    said = await user.presses(w.cancel)
    assert said.has(user.t("form_cancelled"))


async def test_a_form_come_back_to_after_hours_asks_its_question_again(h: Harness) -> None:
    """A day later "how long does a refund take?" was kept as the Lumen ID: the message is
    not taken for the answer of a question asked hours ago; the question is asked again."""
    user = h.user("alice", "en")
    form = await open_form(h, user, BANNED)
    await h.advance(DAY)
    said = await user.says("hi, how long does a refund take")
    title = form.title_in("en")
    assert said.has(user.t("form_resume", title=title))
    assert said.items[-1].text.endswith(form.fields[0].prompt_in("en"))
    assert "account_id" not in await form_answers(h, user)
    await user.says("L12345678")
    assert (await form_answers(h, user))["account_id"] == "L12345678"
