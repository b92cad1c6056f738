"""The "Fill in the form" button, carrying the form as a modal where it fits one (Discord)."""

from __future__ import annotations

from bot.actions import Verb
from bot.flows.turn import Turn
from bot.types import Button, ModalField, ModalSpec
from knowledge.models import FieldType, Form

MODAL_TYPES = (FieldType.TEXT, FieldType.LONG_TEXT, FieldType.DATE)
MODAL_MAX_INPUTS = 5  # Discord: a modal holds at most 5 text inputs, labels <= 45 characters


def modal_for(turn: Turn, form: Form) -> ModalSpec | None:
    """The form's questions as one modal when every non-image question is typed text."""
    asked = [f for f in form.fields if f.type != FieldType.IMAGES]
    if not asked or len(asked) > MODAL_MAX_INPUTS or any(f.type not in MODAL_TYPES for f in asked):
        return None
    inputs = tuple(
        ModalField(
            f.id,
            f.label_in(turn.lang)[:45],
            f.type == FieldType.LONG_TEXT,
            f.required,
            min(f.max_length, 4000),
            f.prompt_in(turn.lang)[:100],
        )
        for f in asked
    )
    return ModalSpec(form.id, form.title_in(turn.lang)[:45], inputs)


def form_button(turn: Turn, category_id: str) -> Button | None:
    """The button starting a category's form, or None when it has none."""
    form = turn.svc.kb.form_for(category_id)
    if form is None:
        return None
    button = turn.button("btn_form", Verb.FORM, category_id)
    return Button(button.label, button.data, modal_for(turn, form))
