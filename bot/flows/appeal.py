"""Per-category forms: field by field with validation, then review, edit and submit."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot import dates
from bot.actions import Verb
from bot.flows import handoff, menu
from bot.flows.intent import as_typed, clean
from bot.flows.turn import HELD, Turn, typed_label
from bot.state import Step
from bot.texts import LANGS
from bot.types import Attachment, Button, Look, Reply
from knowledge.intents import quits, unsure
from knowledge.models import Choice, FieldType, Form, FormField

MIN_YEAR = 2000  # an earlier date is a typo, not something that happened in the app


def _state(turn: Turn) -> dict[str, Any]:
    state: dict[str, Any] = turn.data.setdefault("form", {})
    return state


def _form(turn: Turn) -> Form | None:
    return turn.svc.kb.forms.get(str(_state(turn).get("id", "")))


def start_form(turn: Turn, category_id: str) -> None:
    """Begin the form of a category."""
    form = turn.svc.kb.form_for(category_id)
    if form is None:
        turn.text("stale_button", turn.human_row())
        return
    turn.conv.step = Step.FORM
    query = turn.data.get("query", "")
    held = turn.held()
    turn.clear_data()
    turn.data.update(category=category_id, query=query)
    turn.data["form"] = {"id": form.id, "field": 0, "answers": {}, "images": {}, "editing": False}
    shots = next((f for f in form.fields if f.type == FieldType.IMAGES), None)
    if shots is not None and held:  # sent before the form: its screenshot question has them
        turn.data["form"]["images"][shots.id] = held[: shots.max_images]
        turn.data[HELD] = held[shots.max_images :]  # the rest still go with the ticket
    turn.say(Reply(turn.t("form_intro", form=form.title_in(turn.lang), count=len(form.fields))))
    ask_field(turn)


def _received(turn: Turn, field: FormField) -> bool:
    """Whether screenshots came for this field's question already."""
    return field.type == FieldType.IMAGES and bool(_state(turn)["images"].get(field.id))


def _field_buttons(turn: Turn, field: FormField) -> list[tuple[Button, ...]]:
    rows: list[tuple[Button, ...]] = []
    if field.type == FieldType.CHOICE:
        rows += [
            (turn.button_text(c.label(turn.lang), Verb.CHOICE, field.id, c.id),)
            for c in field.choices
        ]
    if _received(turn, field):  # Done, not Skip: skipping would drop what they sent
        rows.append((turn.button("btn_done_images", Verb.DONE_IMAGES, field.id),))
    elif not field.required:
        rows.append((turn.button("btn_skip", Verb.SKIP, field.id),))
    human = turn.button("btn_human", Verb.HUMAN, look=Look.PRIMARY)
    rows.append((turn.button("btn_cancel", Verb.CANCEL), human))
    return rows


def ask_field(turn: Turn) -> None:
    """Ask the current field, or review when every field is answered."""
    form, state = _form(turn), _state(turn)
    index = int(state.get("field", 0))
    if form is None or index >= len(form.fields):
        review(turn)
        return
    field = form.fields[index]
    state["asked_at"] = turn.now
    progress = turn.t("form_progress", n=index + 1, count=len(form.fields))
    optional = "" if field.required else turn.t("field_optional")
    text = f"{progress}{field.prompt_in(turn.lang)}{optional}"
    if _received(turn, field):  # sent at an earlier question
        n = len(state["images"][field.id])
        text = f"{text}\n{turn.t('images_prompt_more', n=n)}"
    turn.say(Reply(text, buttons=tuple(_field_buttons(turn, field))))


def _advance(turn: Turn) -> None:
    state = _state(turn)
    if state.get("editing"):
        state["editing"] = False
        state["field"] = 10_000
    else:
        state["field"] = int(state.get("field", 0)) + 1
    ask_field(turn)


def _refuse(turn: Turn, field: FormField, key: str, **values: object) -> None:
    """Say what is wrong with an answer, with the question's buttons (a person among them)."""
    turn.text(key, *_field_buttons(turn, field), **values)


def _date_answer(turn: Turn, field: FormField, text: str) -> str | None:
    today = datetime.fromtimestamp(turn.now, UTC).date()
    day = dates.understand(text, today, turn.lang)
    if day is None and unsure(text):
        turn.text("date_unknown")  # they cannot say: kept as they wrote it, not asked again
        return as_typed(text).strip()
    if day is None and dates.vague(text):  # "前几天", "a few days ago": as they wrote it
        turn.text("date_vague", said=as_typed(text).strip())
        return as_typed(text).strip()
    if (day is None or day.year < MIN_YEAR) and _asked_again(turn, field):
        # the second answer no date could be read from: theirs, as written ("我不记得了 大概
        # 上周吧"), not a third request while everything they type after it is lost
        turn.text("date_vague", said=as_typed(text).strip())
        return as_typed(text).strip()
    if day is None or day.year < MIN_YEAR:
        _refuse(turn, field, "err_date")
        _doubt(turn, field)
        return None
    if day > today:
        _refuse(turn, field, "err_date_future")
        return None
    weekday = turn.t(f"weekday_{day.weekday()}")
    turn.text("date_understood", date=day.isoformat(), weekday=weekday)
    return day.isoformat()


def _typed_choice(field: FormField, text: str) -> Choice | None:
    """The option a typed answer names: its label in any language or its id, else the one
    Chinese label the answer is part of ("不发货" for "商家不发货"). Not the other way round:
    "不能登录" holds the label "能登录" and means the opposite."""
    said = typed_label(text)
    names = [
        (c, {typed_label(c.label(lang)) for lang in LANGS} | {c.id.lower()}) for c in field.choices
    ]
    exact = [c for c, labels in names if said in labels]
    if exact or len(said) < 2 or said.isascii():
        return exact[0] if exact else None
    near = [c for c, labels in names if any(said in n for n in labels if not n.isascii())]
    return near[0] if len(near) == 1 else None


def _validate(turn: Turn, field: FormField, text: str) -> str | None:
    """The answer to store (typed text as the user wrote it), or None after saying why not."""
    if field.type == FieldType.CHOICE:
        choice = _typed_choice(field, text)
        if choice is None:
            _refuse(turn, field, "err_choice")
            return None
        return choice.label(turn.svc.mod_lang)
    if field.type == FieldType.DATE:
        return _date_answer(turn, field, text)
    value = as_typed(text)
    if not clean(value):
        _refuse(turn, field, "err_empty")
        return None
    if len(value) > field.max_length:
        _refuse(turn, field, "err_too_long", length=len(value), max=field.max_length)
        return None
    if len(value) < field.min_length:
        _refuse(turn, field, "err_too_short", min=field.min_length)
        return None
    if field.type == FieldType.TEXT and value.rstrip().endswith(("?", "？")):
        if not _asked_again(turn, field):  # "where is the order number??" is no order number
            _doubt(turn, field)
            _refuse(turn, field, "err_question", prompt=field.prompt_in(turn.lang))
            return None
    elif not _looks_right(turn, field, value):
        _refuse(turn, field, "err_pattern", label=field.label_in(turn.lang))
        return None
    return value


def _looks_right(turn: Turn, field: FormField, value: str) -> bool:
    """Whether an answer looks like what the field's `pattern` describes ("L12345678"). Only
    asked once: the same question answered again is taken as written (they know their id
    better than a pattern does), and so is "不记得了"."""
    if not field.pattern or unsure(value):
        return True
    if _asked_again(turn, field) or re.fullmatch(field.pattern, value.strip(), re.IGNORECASE):
        return True
    _doubt(turn, field)
    return False


def _doubt(turn: Turn, field: FormField) -> None:
    """Remember that the field's answer was questioned: the next one is taken as written."""
    _state(turn)["doubted"] = field.id


def _asked_again(turn: Turn, field: FormField) -> bool:
    """Whether this answer follows one of the same field that was questioned (and forget it)."""
    state = _state(turn)
    if state.get("doubted") != field.id:
        return False
    del state["doubted"]
    return True


ANSWER_LENGTH = 40  # a longer text at a typed question is an answer, even if it says "agent"


def is_answer(turn: Turn, text: str) -> bool:
    """True when `text` answers the current typed form question rather than asking for a person."""
    field = _current(turn) if turn.conv.step == Step.FORM else None
    typed = (FieldType.TEXT, FieldType.LONG_TEXT)
    return field is not None and field.type in typed and len(text) > ANSWER_LENGTH


STALE_FORM = 6 * 3600.0  # seconds after which a question's answer is asked for again


def _stale(turn: Turn) -> bool:
    """Whether the current question was asked long ago (a form left and come back to): the
    message is then not taken for its answer. "你好，我想问一下退款多久到账" a day later was kept
    as the Lumen ID."""
    asked = _state(turn).get("asked_at")
    return isinstance(asked, int | float) and turn.now - asked > STALE_FORM


def _current(turn: Turn) -> FormField | None:
    form, state = _form(turn), _state(turn)
    index = int(state.get("field", 0))
    return form.fields[index] if form and index < len(form.fields) else None


def on_message(turn: Turn, text: str, attachments: tuple[Attachment, ...]) -> None:
    """A typed answer or images for the current field."""
    field = _current(turn)
    if field is None:
        review(turn)
        return
    if not attachments and _stale(turn):  # back after hours: a new question, not its answer
        form = _form(turn)
        title = form.title_in(turn.lang) if form else ""
        turn.text("form_resume", title=title)
        ask_field(turn)
        return
    if field.type == FieldType.IMAGES:
        _on_images(turn, field, text, attachments)
        return
    if not attachments and quits(text):  # "算了", "never mind": no answer, a question to them
        _refuse(turn, field, "form_quit_check")
        return
    if attachments and not text:
        if _keep_images(turn, _images_home(turn, field), attachments):
            key = "err_choice" if field.type == FieldType.CHOICE else "err_image_kept"
            _refuse(turn, field, key)
        return
    if attachments:  # a caption is the answer; its image kept
        _keep_images(turn, _images_home(turn, field), attachments)
    value = _validate(turn, field, text)
    if value is not None:
        _state(turn)["answers"][field.id] = value
        _advance(turn)


EXTRA_IMAGES = 5  # screenshots kept with a typed question's answer (sent there, not lost)


def _images_home(turn: Turn, field: FormField) -> FormField:
    """Where screenshots sent at a typed question are kept: the form's screenshot question
    still to come (it then counts them, and offers Done rather than Skip), else that
    question itself."""
    form = _form(turn)
    later = form.fields[form.fields.index(field) :] if form and field in form.fields else []
    return next((f for f in later if f.type == FieldType.IMAGES), field)


def _keep_images(
    turn: Turn, field: FormField, attachments: tuple[Attachment, ...], cap: int = 0
) -> bool:
    """Keep the good screenshots for `field`, up to `cap` (sent at a typed question they go
    with the ticket all the same); False after saying why one was refused."""
    max_mb = turn.max_image_mb
    refused = [a for a in attachments if a.error]
    for a in refused:
        _refuse(turn, field, a.error, max=max_mb)
    images: list[str] = _state(turn)["images"].setdefault(field.id, [])
    cap = cap or (field.max_images if field.type == FieldType.IMAGES else EXTRA_IMAGES)
    for sha in (a.sha256 for a in attachments if a.sha256):
        if sha not in images and len(images) < cap:
            images.append(sha)
    return not refused


def _on_images(
    turn: Turn, field: FormField, text: str, attachments: tuple[Attachment, ...]
) -> None:
    max_mb = turn.max_image_mb
    for a in attachments:
        if a.error:
            _refuse(turn, field, a.error, max=max_mb)
    good = [a.sha256 for a in attachments if a.sha256]
    images: list[str] = _state(turn)["images"].setdefault(field.id, [])
    if not good:
        if not any(a.error for a in attachments):
            hint = turn.t("btn_done_images" if images else "btn_skip")
            _refuse(turn, field, "err_need_image", hint=hint)
        return
    for sha in good:
        if sha not in images:
            images.append(sha)
    if len(images) > field.max_images:
        del images[field.max_images :]
        _refuse(turn, field, "err_too_many_images", max=field.max_images)
    if len(images) >= field.max_images:
        _advance(turn)
        return
    turn.say(
        Reply(
            turn.t("images_prompt_more", n=len(images)), buttons=tuple(_field_buttons(turn, field))
        )
    )


# Buttons whose label, typed instead of pressed, presses them while a form is open.
_TYPED = {
    Step.FORM: (("btn_done_images", Verb.DONE_IMAGES), ("btn_skip", Verb.SKIP),
                ("btn_cancel", Verb.CANCEL)),
    Step.REVIEW: (("btn_submit", Verb.SUBMIT), ("btn_cancel", Verb.CANCEL)),
}  # fmt: skip


def typed_button(turn: Turn, said: str) -> tuple[Verb, str] | None:
    """The form's button whose label (in any language) the message is ("完成", "skip",
    "提交"), with the field it is for; None for anything else, an answer like any other."""
    field = _current(turn) if turn.conv.step == Step.FORM else None
    word = typed_label(said)
    for key, verb in _TYPED.get(turn.conv.step, ()):
        if verb == Verb.DONE_IMAGES and (field is None or field.type != FieldType.IMAGES):
            continue
        if verb == Verb.SKIP and field is None:
            continue
        if word in {turn.svc.texts(lang, key).lower() for lang in LANGS}:
            return verb, field.id if field is not None else ""
    return None


def on_button(turn: Turn, verb: Verb, field_id: str, choice_id: str = "") -> None:
    """Choice, Skip and Done buttons of the current field; stale ones get a short answer."""
    field = _current(turn)
    if turn.conv.step != Step.FORM or field is None or field.id != field_id:
        turn.text("stale_button", turn.human_row())
        return
    state = _state(turn)
    if verb == Verb.CHOICE:
        choice = next((c for c in field.choices if c.id == choice_id), None)
        if choice is None:
            _refuse(turn, field, "err_choice")
            return
        state["answers"][field.id] = choice.label(turn.svc.mod_lang)
    elif verb == Verb.SKIP and field.required:
        turn.text("err_required")
        ask_field(turn)
        return
    elif verb == Verb.SKIP and not _received(turn, field):
        # (after screenshots came, Skip typed or pressed on an older message keeps them)
        state["answers"].pop(field.id, None)
        state["images"].pop(field.id, None)
    elif verb == Verb.DONE_IMAGES and not state["images"].get(field.id):
        ask_field(turn)
        return
    _advance(turn)


def _shown(turn: Turn, field: FormField, value: str | None) -> str:
    """An answer as the user reads it: a choice (kept in the moderators' language) in theirs."""
    if not value or field.type != FieldType.CHOICE:
        return value or ""
    chosen = next((c for c in field.choices if c.label(turn.svc.mod_lang) == value), None)
    return chosen.label(turn.lang) if chosen else value


ADDED_MAX = 5  # messages typed at the review that go with the ticket
ADDED_LENGTH = 2000  # characters of each (a long_text answer's most)


def at_review(turn: Turn, text: str, attachments: tuple[Attachment, ...]) -> None:
    """Typed (or sent) while the answers are shown for checking: kept with the form ("oh, the
    order number is 2406…", a screenshot) and the summary shown again with it. They were
    dropped: the summary came back as it was, and the ticket went without them."""
    form, state = _form(turn), _state(turn)
    if form is None:
        review(turn)
        return
    if attachments:
        home = next((f for f in form.fields if f.type == FieldType.IMAGES), form.fields[-1])
        _keep_images(turn, home, attachments, home.max_images or EXTRA_IMAGES)
    said = as_typed(text).strip()
    if clean(said):
        added: list[str] = state.setdefault("added", [])
        if len(added) < ADDED_MAX:
            added.append(said[:ADDED_LENGTH])
            turn.text("review_added")
        else:
            turn.text("review_added_full", n=ADDED_MAX)
    review(turn)


def review(turn: Turn) -> None:
    """The summary with Edit per field, Submit and Cancel."""
    form, state = _form(turn), _state(turn)
    if form is None:
        menu.show_menu(turn)
        return
    turn.conv.step = Step.REVIEW
    lines = [turn.t("review_title")]
    for f in form.fields:
        if f.type == FieldType.IMAGES:
            n = len(state["images"].get(f.id, []))
            value = turn.t("review_images", n=n) if n else turn.t("review_empty")
        else:
            value = _shown(turn, f, state["answers"].get(f.id)) or turn.t("review_empty")
            if extra := len(state["images"].get(f.id, [])):
                value = f"{value} (+{turn.t('review_images', n=extra)})"
        lines.append(f"• {f.label_in(turn.lang)}: {value}")
    lines += [f"• {turn.t('review_added_label')}: {said}" for said in state.get("added", [])]
    rows: list[tuple[Button, ...]] = [
        (turn.button("btn_edit", Verb.EDIT, f.id, field=f.label_in(turn.lang)),)
        for f in form.fields
    ]
    submit = turn.button("btn_submit", Verb.SUBMIT, look=Look.POSITIVE)
    rows.append((submit, turn.button("btn_cancel", Verb.CANCEL)))
    rows.append((turn.button("btn_human", Verb.HUMAN, look=Look.PRIMARY),))
    turn.say(Reply("\n".join(lines), buttons=tuple(rows)))


def on_edit(turn: Turn, field_id: str) -> None:
    """Re-ask one field, then come back to the review."""
    form = _form(turn)
    ids = [f.id for f in form.fields] if form else []
    if turn.conv.step != Step.REVIEW or field_id not in ids:
        turn.text("stale_button", turn.human_row())
        return
    state = _state(turn)
    state.update(field=ids.index(field_id), editing=True)
    state["images"].pop(field_id, None) if form and form.fields[ids.index(field_id)].type == (
        FieldType.IMAGES
    ) else None
    turn.conv.step = Step.FORM
    ask_field(turn)


async def on_submit(turn: Turn) -> None:
    """Submit the reviewed form: a ticket with the answers in its card."""
    if turn.conv.step != Step.REVIEW:
        turn.text("stale_button", turn.human_row())
        return
    await handoff.create_ticket(turn)


def _open_fields(form: Form, state: dict[str, Any], settled: set[str]) -> list[int]:
    """What is left to ask after a modal: required answers, and screenshots unless they came
    with it (`settled`: image questions the modal answered, if only by leaving them empty)."""
    pending: list[int] = []
    for i, f in enumerate(form.fields):
        if f.type == FieldType.IMAGES:
            if not state["images"].get(f.id) and (f.required or f.id not in settled):
                pending.append(i)
        elif f.required and f.id not in state["answers"]:
            pending.append(i)
    return pending


def on_modal(
    turn: Turn,
    form_id: str,
    values: tuple[tuple[str, str], ...],
    attachments: tuple[Attachment, ...] = (),
) -> None:
    """Answers from a modal dialog: validate each, then ask what is left (screenshots, unless
    they were uploaded in the modal)."""
    form = turn.svc.kb.forms.get(form_id)
    if form is None or turn.conv.step not in (
        Step.FORM,
        Step.REVIEW,
        Step.OFFER,
        Step.MENU,
        Step.ARTICLE,
        Step.CANDIDATES,
    ):
        turn.text("stale_button", turn.human_row())
        return
    if _state(turn).get("id") != form_id:
        category = str(turn.data.get("category", ""))
        turn.data["form"] = {
            "id": form_id,
            "field": 0,
            "answers": {},
            "images": {},
            "editing": False,
        }
        turn.data["category"] = category
    state = _state(turn)
    given = dict(values)
    settled: set[str] = set()
    for field in form.fields:
        if field.id not in given:
            continue
        if field.type == FieldType.IMAGES:
            if _keep_images(turn, field, attachments, field.max_images):
                settled.add(field.id)
            continue
        value = _validate(turn, field, given[field.id]) if given[field.id].strip() else ""
        if value:
            state["answers"][field.id] = value
    pending = _open_fields(form, state, settled)
    state["field"] = pending[0] if pending else len(form.fields)
    turn.conv.step = Step.FORM
    ask_field(turn)
