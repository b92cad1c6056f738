"""The "Fill in the form" button, carrying the form as a modal where it fits one (Discord)."""

from __future__ import annotations

from bot.actions import Verb
from bot.flows.turn import Turn
from bot.types import Button, ModalField, ModalSpec
from knowledge.models import FieldType, Form, FormField

MODAL_TYPES = (FieldType.TEXT, FieldType.LONG_TEXT, FieldType.DATE)
MODAL_MAX_INPUTS = 5  # Discord: a modal holds at most 5 components, labels <= 45 characters
MODAL_MAX_FILES = 10  # Discord: a file upload in a modal takes at most 10 files


def _input(turn: Turn, f: FormField) -> ModalField:
    label, hint = f.label_in(turn.lang)[:45], f.prompt_in(turn.lang)[:100]
    if f.type == FieldType.IMAGES:
        files = min(f.max_images, MODAL_MAX_FILES)
        return ModalField(f.id, label, required=f.required, placeholder=hint, max_files=files)
    long = f.type == FieldType.LONG_TEXT
    return ModalField(f.id, label, long, f.required, min(f.max_length, 4000), hint)


def modal_for(turn: Turn, form: Form) -> ModalSpec | None:
    """The form's questions as one modal when every non-image question is typed text.

    Its one image question goes into the modal too (a file upload) when everything fits;
    otherwise the screenshots are asked for afterwards, as messages.
    """
    typed = [f for f in form.fields if f.type != FieldType.IMAGES]
    if not typed or len(typed) > MODAL_MAX_INPUTS or any(f.type not in MODAL_TYPES for f in typed):
        return None
    images = len(form.fields) - len(typed)
    asked = form.fields if images == 1 and len(form.fields) <= MODAL_MAX_INPUTS else typed
    return ModalSpec(form.id, form.title_in(turn.lang)[:45], tuple(_input(turn, f) for f in asked))


def form_button(turn: Turn, category_id: str) -> Button | None:
    """The button starting a category's form, or None when it has none."""
    form = turn.svc.kb.form_for(category_id)
    if form is None:
        return None
    button = turn.button("btn_form", Verb.FORM, category_id)
    return Button(button.label, button.data, modal_for(turn, form))
