"""The "Fill in the form" button, carrying the form as a modal where the platform has them and
the form fits (the limits are the platform's, declared by its adapter)."""

from __future__ import annotations

from bot.actions import Verb
from bot.flows.turn import Turn
from bot.types import Button, ModalField, ModalLimits, ModalSpec
from knowledge.models import FieldType, Form, FormField

MODAL_TYPES = (FieldType.TEXT, FieldType.LONG_TEXT, FieldType.DATE)


def _input(turn: Turn, f: FormField, limits: ModalLimits) -> ModalField:
    label = f.label_in(turn.lang)[: limits.max_label]
    hint = f.prompt_in(turn.lang)[: limits.max_placeholder]
    if f.type == FieldType.IMAGES:
        files = min(f.max_images, limits.max_files)
        return ModalField(f.id, label, required=f.required, placeholder=hint, max_files=files)
    long = f.type == FieldType.LONG_TEXT
    return ModalField(f.id, label, long, f.required, min(f.max_length, limits.max_text), hint)


def modal_for(turn: Turn, form: Form) -> ModalSpec | None:
    """The form's questions as one modal when the platform has modals and every non-image
    question is typed text within its limits.

    Its one image question goes into the modal too (a file upload) when everything fits and
    the platform takes uploads there; otherwise the screenshots are asked for afterwards.
    """
    limits = turn.svc.can(turn.event.chat.platform).modals
    if limits is None:
        return None
    typed = [f for f in form.fields if f.type != FieldType.IMAGES]
    if not typed or len(typed) > limits.max_inputs:
        return None
    if any(f.type not in MODAL_TYPES for f in typed):
        return None
    images = len(form.fields) - len(typed)
    fits = images == 1 and len(form.fields) <= limits.max_inputs and limits.max_files > 0
    asked = form.fields if fits else typed
    title = form.title_in(turn.lang)[: limits.max_title]
    return ModalSpec(form.id, title, tuple(_input(turn, f, limits) for f in asked))


def form_button(turn: Turn, category_id: str) -> Button | None:
    """The button starting a category's form, or None when it has none."""
    form = turn.svc.kb.form_for(category_id)
    if form is None:
        return None
    button = turn.button("btn_form", Verb.FORM, category_id)
    return Button(button.label, button.data, modal_for(turn, form))
