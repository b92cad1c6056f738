"""Form mechanics below the conversation: date parsing, the modal path (Discord's
FormSubmitted), and the form button carrying a modal within Discord's limits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from bot.flows.appeal import parse_date
from bot.state import Step
from bot.types import FormSubmitted
from tests.helpers.fakes import Harness, harness

TODAY = date(2026, 1, 15)
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-14", date(2025, 3, 14)),
        ("2025/3/4", date(2025, 3, 4)),
        ("2025.03.14", date(2025, 3, 14)),
        ("2025年3月14日", date(2025, 3, 14)),
        ("2025 年 3 月 14 号", date(2025, 3, 14)),
        ("1月3日", date(2026, 1, 3)),
        ("today", TODAY),
        ("Yesterday", date(2026, 1, 14)),
        ("昨天", date(2026, 1, 14)),
        ("前天", date(2026, 1, 13)),
        ("2025-02-30", None),
        ("13/13", None),
        ("soon", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text, TODAY) == expected


def test_a_day_without_a_year_is_the_latest_one_not_in_the_future() -> None:
    """ "3月14日" typed in January means last March (a form asks when something happened)."""
    assert parse_date("3月14日", TODAY) == date(2025, 3, 14)
    assert parse_date("12-31", TODAY) == date(2025, 12, 31)


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


async def test_a_modal_for_an_unknown_form_changes_nothing(h: Harness) -> None:
    await go_to_banned(h)
    user = h.user("alice")
    await h.deliver(FormSubmitted(user.ref, user.chat, h.next_id(), "no-such-form", VALID))
    assert "no longer active" in user.last_text()
    conv = await h.store.load_conversation(user.key)
    assert conv is not None and conv.step == Step.MENU
