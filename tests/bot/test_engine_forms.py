"""Form mechanics below the conversation: date parsing, the modal path (Discord's
FormSubmitted), and the form button carrying a modal within Discord's limits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.state import Step
from bot.types import Attachment, FormSubmitted
from tests.helpers.builders import png
from tests.helpers.fakes import Harness, config, harness, shared_knowledge

VALID = (
    ("account_id", "L12345678"),
    ("happened_on", "2025-03-14"),
    ("notice", "Your account has been suspended"),
    ("before", "I posted a photo"),
    ("reason", "It is my own photo"),
)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """A harness on SQLite."""
    async with harness(tmp_path / "data") as opened:
        yield opened


async def go_to_banned(h: Harness, lang: str = "en") -> None:
    user = h.user("alice", lang)
    await user.command("start")
    cat = h.kb.categories["account/banned"]
    await user.presses(h.kb.categories[cat.parent].label(lang))
    await user.presses(cat.label(lang))


async def test_the_form_button_carries_a_modal_within_discords_limits(h: Harness) -> None:
    await go_to_banned(h)
    user = h.user("alice")
    button = user.button("Fill in the form")
    assert button.modal is not None
    assert button.modal.form_id == "ban-appeal"
    assert 1 <= len(button.modal.fields) <= 5
    assert len(button.modal.title) <= 45
    assert all(len(f.label) <= 45 and len(f.placeholder) <= 100 for f in button.modal.fields)
    assert [f.id for f in button.modal.fields] == [i for i, _ in VALID]
    assert all(f.max_files == 0 for f in button.modal.fields)  # 5 questions: no room for more


async def test_a_modal_answers_every_text_field_then_asks_for_screenshots(h: Harness) -> None:
    await go_to_banned(h)
    user = h.user("alice")
    await h.deliver(FormSubmitted(user.ref, user.chat, h.next_id(), "ban-appeal", VALID))
    form = h.kb.forms["ban-appeal"]
    assert user.last_text().endswith(form.fields[-1].prompt_in("en") + " (optional)")
    said = await user.presses("Skip")
    assert said.has("Please check your answers") and said.has("L12345678")
    said = await user.presses("Submit")
    assert said.has("#1")
    ticket = await h.ticket(1)
    assert ticket.category == "account/banned" and len(ticket.answers) == 5


async def test_a_bad_modal_answer_is_asked_again_alone(h: Harness) -> None:
    await go_to_banned(h)
    user = h.user("alice")
    values = tuple((k, "2027-01-01" if k == "happened_on" else v) for k, v in VALID)
    await h.deliver(FormSubmitted(user.ref, user.chat, h.next_id(), "ban-appeal", values))
    texts = [o.reply.text for o in user.inbox[-2:]]
    assert "That date is in the future. When did it happen?" in texts[0]
    assert texts[1].endswith(h.kb.forms["ban-appeal"].fields[1].prompt_in("en"))
    conv = await h.store.load_conversation(user.key)
    assert conv is not None and conv.step == Step.FORM
    assert conv.data["form"]["answers"]["account_id"] == "L12345678"


async def test_an_id_that_does_not_look_like_one_is_questioned_once(h: Harness) -> None:
    """The Lumen ID field has a pattern (L and digits): "alice_88" is questioned with the
    field's name, and taken as written when sent again; "不记得了" is taken at once. In a
    modal too: the doubtful answer is asked for again alone, then taken."""
    await go_to_banned(h)
    user = h.user("alice")
    await user.presses("Fill in the form")
    said = await user.says("alice_88")
    assert said.has("That doesn't look right for “Lumen ID”")
    assert user.last_text().startswith("That doesn't")  # the same question, not the next
    said = await user.says("alice_88")
    assert said.has("(2/")
    await user.presses("Cancel")
    await go_to_banned(h)
    values = tuple((k, "l 1234 5678" if k == "account_id" else v) for k, v in VALID)
    await h.deliver(FormSubmitted(user.ref, user.chat, h.next_id(), "ban-appeal", values))
    texts = [o.reply.text for o in user.inbox[-3:]]
    assert any(t.startswith("That doesn't look right") for t in texts)
    assert texts[-1].startswith("(1/")  # asked again alone
    said = await user.says("l 1234 5678")
    conv = await h.store.load_conversation(user.key)
    assert conv is not None and conv.data["form"]["answers"]["account_id"] == "l 1234 5678"


async def test_a_modal_for_an_unknown_form_changes_nothing(h: Harness) -> None:
    await go_to_banned(h)
    user = h.user("alice")
    await h.deliver(FormSubmitted(user.ref, user.chat, h.next_id(), "no-such-form", VALID))
    assert "no longer active" in user.last_text()
    conv = await h.store.load_conversation(user.key)
    assert conv is not None and conv.step == Step.MENU


@pytest.fixture
async def short(tmp_path: Path) -> AsyncIterator[Harness]:
    """A harness whose ban appeal is short enough for its screenshots to fit the modal."""
    kb, index = shared_knowledge()
    form = kb.forms["ban-appeal"]
    fields = tuple(f for f in form.fields if f.id != "before")
    forms = {**kb.forms, form.id: dataclasses.replace(form, fields=fields)}
    opened = await Harness(
        config(tmp_path / "data", None), dataclasses.replace(kb, forms=forms), index
    ).open()
    try:
        yield opened
    finally:
        await opened.close()


SHORT = tuple((k, v) for k, v in VALID if k != "before")


def _upload(h: Harness, data: bytes, name: str = "shot.png") -> Attachment:
    ref = f"file-{h.next_id()}"
    h.users_adapter.files[ref] = data
    return Attachment(ref, name, "image/png", len(data))


async def test_screenshots_go_into_the_modal_when_the_form_fits(short: Harness) -> None:
    await go_to_banned(short)
    button = short.user("alice").button("Fill in the form")
    assert button.modal is not None
    *typed, upload = button.modal.fields
    assert [f.max_files for f in typed] == [0, 0, 0, 0]
    assert (upload.id, upload.max_files, upload.required) == ("screenshots", 5, False)
    assert upload.label == "Screenshots" and len(upload.placeholder) <= 100


async def test_screenshots_uploaded_in_the_modal_are_the_answer(short: Harness) -> None:
    await go_to_banned(short)
    user = short.user("alice")
    shots = (_upload(short, png(color=(1, 1, 1))), _upload(short, png(color=(2, 2, 2))))
    values = (*SHORT, ("screenshots", ""))
    event = FormSubmitted(user.ref, user.chat, short.next_id(), "ban-appeal", values, shots)
    await short.deliver(event)
    assert "Please check your answers" in user.last_text()
    assert "Screenshots: 2 image(s)" in user.last_text()  # not asked for again
    await user.presses("Submit")
    ticket = await short.ticket(1)
    assert len(ticket.images) == 2 and len(ticket.answers) == 4


async def test_an_optional_upload_left_empty_in_the_modal_is_skipped(short: Harness) -> None:
    await go_to_banned(short)
    user = short.user("alice")
    values = (*SHORT, ("screenshots", ""))
    await short.deliver(FormSubmitted(user.ref, user.chat, short.next_id(), "ban-appeal", values))
    assert "Please check your answers" in user.last_text()


async def test_a_refused_upload_is_explained_and_asked_for_again(short: Harness) -> None:
    await go_to_banned(short)
    user = short.user("alice")
    bad = _upload(short, b"%PDF-1.4 not a picture", "notice.pdf")
    values = (*SHORT, ("screenshots", ""))
    await short.deliver(
        FormSubmitted(user.ref, user.chat, short.next_id(), "ban-appeal", values, (bad,))
    )
    texts = [o.reply.text for o in user.inbox[-2:]]
    assert "image" in texts[0].lower()
    assert texts[1].endswith(
        short.kb.forms["ban-appeal"].fields[-1].prompt_in("en") + " (optional)"
    )
