"""Steps several scenarios share: reach a category's form, fill it in, reach a person."""

from __future__ import annotations

from typing import Any

from knowledge.models import FieldType, Form
from tests.helpers.builders import png
from tests.helpers.fakes import FakeUser, Harness, Replies
from tests.scenarios.words import WORDS

ANSWERS = {
    "account_id": "L12345678",
    "happened_on": "2025-03-14",
    "noticed_on": "2025-03-14",
    "notice": "Your account has been suspended for violating community rules",
    "before": "I posted a photo of my own cat",
    "reason": "The photo is mine; I have the original file",
    "order_no": "2025031412345678",
    "problem": "not_shipped",  # a choice: its id
    "details": "The seller has not shipped for ten days and does not answer",
    "phone": "13800138000",
    "can_log_in": "no",
    "signs": "My password was changed and notes I did not write appeared",
}


async def open_form(h: Harness, user: FakeUser, category_id: str) -> Form:
    """From /start, through the menu, to the first question of the category's form."""
    await user.command("start")
    path = []
    cat = h.kb.categories[category_id]
    while True:
        path.insert(0, cat)
        if not cat.parent:
            break
        cat = h.kb.categories[cat.parent]
    for step in path:
        await user.presses(step.label(user.lang))
    await user.presses(WORDS[user.lang].form)
    form = h.kb.form_for(category_id)
    assert form is not None
    return form


async def answer(h: Harness, user: FakeUser, form: Form, field_id: str, images: int) -> Replies:
    """Answer one field the way a person would: type, press a choice, send or skip images."""
    w = WORDS[user.lang]
    field = form.field(field_id)
    assert field is not None
    if field.type == FieldType.CHOICE:
        choice = next(c for c in field.choices if c.id == ANSWERS[field_id])
        return await user.presses(choice.label(user.lang))
    if field.type == FieldType.IMAGES:
        if not images:
            return await user.presses(w.skip)
        await user.sends_images(png(color=(n, 7, 7)) for n in range(images))
        if images < field.max_images:
            return await user.presses(w.done)
        return Replies([user.last])
    return await user.says(ANSWERS[field_id])


async def past_the_first(h: Harness, user: FakeUser, category_id: str) -> Form:
    """The category's form opened and its first question answered."""
    form = await open_form(h, user, category_id)
    await answer(h, user, form, form.fields[0].id, 0)
    return form


async def form_answers(h: Harness, user: FakeUser) -> dict[str, Any]:
    """The answers of the user's open form, as stored."""
    conv = await h.store.load_conversation(user.key)
    assert conv is not None
    answers: dict[str, Any] = conv.data["form"]["answers"]
    return answers


async def fill_form(
    h: Harness, user: FakeUser, category_id: str, images: int = 1, *, submit: bool = True
) -> Replies:
    """Open the category's form, answer every field, and submit (or stop at the review)."""
    form = await open_form(h, user, category_id)
    said = Replies()
    for field in form.fields:
        said = await answer(h, user, form, field.id, images)
    assert said.has(WORDS[user.lang].review), said.text
    if not submit:
        return said
    return await user.presses(WORDS[user.lang].submit)


async def reach_person(user: FakeUser) -> Replies:
    """/human, and when the form is offered as the fast path, "Talk to a person now"."""
    said = await user.command("human")
    if WORDS[user.lang].human_now in said.labels:
        said = await user.presses(WORDS[user.lang].human_now)
    assert "#" in said.text, said.text
    return said


SQL_TEXT = "'; DROP TABLE tickets; -- \" OR 1=1; DELETE FROM users WHERE ''='"
