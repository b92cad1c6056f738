"""Reply → Discord message parts (content, embed, buttons, files) and ModalSpec → Modal; pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import discord

from adapters.discord.views import KefuButton
from bot.actions import ActionError, Verb, act, unpack
from bot.types import Button, ModalSpec, OutFile, Reply

CONTENT_MAX = 2000  # Discord: message content holds at most 2,000 characters
EMBED_DESCRIPTION_MAX = 4096  # Discord: an embed description holds at most 4,096 characters
EMBED_TITLE_MAX = 256  # Discord: an embed title holds at most 256 characters
BUTTON_LABEL_MAX = 80  # Discord: a button label holds at most 80 characters
ROW_MAX = 5  # Discord: at most 5 buttons in an action row
ROWS_MAX = 5  # Discord: at most 5 action rows in a message
FILES_MAX = 10  # Discord: at most 10 attachments in a message
MODAL_TITLE_MAX = 45  # Discord: a modal title holds at most 45 characters
MODAL_LABEL_MAX = 45  # Discord: a label in a modal holds at most 45 characters
MODAL_INPUTS_MAX = 5  # Discord: a modal holds at most 5 components
TEXT_INPUT_MAX = 4000  # Discord: a text input accepts at most 4,000 characters
PLACEHOLDER_MAX = 100  # Discord: a text input placeholder holds at most 100 characters
FORM_PREFIX = "kefu-form:"
EMPTY = "\u200b"  # a message needs some content when it only carries buttons
PANEL_TEXT = (
    "需要帮助？点下面的按钮，我们会在私信里回复你。\n"
    "Need help? Press a button below; we reply in your DMs."
)
PANEL_BUTTONS = (("Get help / 获取帮助", Verb.MENU), ("Talk to a person / 人工客服", Verb.HUMAN))
_STYLES = {
    Verb.HUMAN: discord.ButtonStyle.primary,
    Verb.CLAIM: discord.ButtonStyle.success,
    Verb.SOLVED: discord.ButtonStyle.success,
    Verb.SUBMIT: discord.ButtonStyle.success,
    Verb.MOD_CLOSE: discord.ButtonStyle.danger,
    Verb.CLOSE: discord.ButtonStyle.danger,
}


@dataclass(slots=True)
class Part:
    """One Discord message of a rendered reply."""

    content: str | None = None
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None
    files: tuple[OutFile, ...] = ()
    modals: dict[str, ModalSpec] = field(default_factory=dict)
    ping: bool = False  # the content starts with a role mention that should notify

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `Messageable.send` (files are added by the sender)."""
        out: dict[str, Any] = {}
        if self.content is not None:
            out["content"] = self.content
        if self.embed is not None:
            out["embed"] = self.embed
        if self.view is not None:
            out["view"] = self.view
        return out


def escape(text: str) -> str:
    """Plain text made safe for Discord's markdown (links are left clickable)."""
    return discord.utils.escape_markdown(text)


def split(text: str, limit: int) -> list[str]:
    """Split text into chunks of at most `limit` characters, at a newline or space if any."""
    chunks: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = text.rfind(" ", 0, limit + 1)
        if cut < limit // 2:
            cut = limit
        cut = _keep_escape(text, cut)
        chunks.append(text[:cut])
        text = text[cut + 1 :] if text[cut] in " \n" else text[cut:]
    if text or not chunks:
        chunks.append(text)
    return chunks


def _keep_escape(text: str, cut: int) -> int:
    """Move a cut left so that a backslash escape is not separated from what it escapes."""
    slashes = 0
    while cut - slashes - 1 >= 0 and text[cut - slashes - 1] == "\\":
        slashes += 1
    return cut - 1 if slashes % 2 else cut


def button_style(data: str) -> discord.ButtonStyle:
    """A colour that tells the kind of action: a person green/blue, closing red."""
    try:
        verb = unpack(data).verb
    except ActionError:
        return discord.ButtonStyle.secondary
    return _STYLES.get(verb, discord.ButtonStyle.secondary)


def _label(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(buttons: list[Button]) -> list[list[Button]]:
    return [buttons[i : i + ROW_MAX] for i in range(0, len(buttons), ROW_MAX)]


def _button_rows(reply: Reply) -> list[list[Button]]:
    """The reply's rows, wrapped at 5 buttons; more than 5 rows are packed tighter.

    The last row (usually "Talk to a person") stays on its own row when the rest fits in 4.
    """
    rows = [chunk for row in reply.buttons for chunk in _chunks(list(row))]
    if len(rows) <= ROWS_MAX:
        return rows
    body = _chunks([b for row in rows[:-1] for b in row])
    if len(body) < ROWS_MAX:
        return [*body, rows[-1]]
    return _chunks([b for row in rows for b in row])


def build_view(rows: list[list[Button]]) -> tuple[discord.ui.View, dict[str, ModalSpec]]:
    """A timeout-free View of KefuButtons, and the modal forms its buttons open."""
    view = discord.ui.View(timeout=None)
    modals: dict[str, ModalSpec] = {}
    for index, row in enumerate(rows):
        for button in row:
            has_modal = button.modal is not None and len(button.modal.fields) <= MODAL_INPUTS_MAX
            view.add_item(
                KefuButton(
                    button.data,
                    label=_label(button.label, BUTTON_LABEL_MAX),
                    modal=has_modal,
                    style=button_style(button.data),
                    row=index,
                )
            )
            if has_modal and button.modal is not None:
                modals[button.data] = button.modal
    return view, modals


def _text_parts(reply: Reply, mention: str) -> list[Part]:
    """The text of a reply: an embed per 4,096 characters with a title, else plain content."""
    text = escape(reply.text)
    if reply.title:
        chunks = split(text, EMBED_DESCRIPTION_MAX)
        parts = [Part(embed=discord.Embed(description=c or None)) for c in chunks]
        first = parts[0].embed
        if first is not None:
            first.title = _label(reply.title, EMBED_TITLE_MAX)
        if mention:
            parts[0].content, parts[0].ping = mention, True
        return parts
    head = f"{mention}\n" if mention else ""
    chunks = split(text, CONTENT_MAX - len(head))
    parts = [Part(content=c) for c in chunks]
    parts[0].content, parts[0].ping = head + chunks[0], bool(mention)
    return parts


def render(reply: Reply, *, mention: str = "") -> list[Part]:
    """Render a reply as one or more messages: text, then files, then the buttons at the end.

    `mention` (a role mention such as `<@&123>`) is put first, so moderators are notified.
    """
    parts = _text_parts(reply, mention)
    files = reply.files
    parts[0].files, files = files[:FILES_MAX], files[FILES_MAX:]
    while files:
        parts.append(Part(content=EMPTY, files=files[:FILES_MAX]))
        files = files[FILES_MAX:]
    rows = _button_rows(reply)
    for i in range(0, len(rows), ROWS_MAX):
        view, modals = build_view(rows[i : i + ROWS_MAX])
        target = parts[-1] if i == 0 else Part(content=EMPTY)
        if i:
            parts.append(target)
        target.view, target.modals = view, modals
    for part in parts:
        if part.content == "" and part.embed is None and not part.files:
            part.content = EMPTY
    return parts


def panel_view() -> discord.ui.View:
    """The support panel's buttons: Get help (the menu) and Talk to a person."""
    rows = [[Button(label, act(verb)) for label, verb in PANEL_BUTTONS]]
    view, _ = build_view(rows)
    return view


def build_modal(spec: ModalSpec) -> discord.ui.Modal:
    """A modal dialog for a form; raises ValueError when it has more inputs than Discord allows."""
    if not spec.fields or len(spec.fields) > MODAL_INPUTS_MAX:
        raise ValueError(f"form {spec.form_id!r} does not fit a modal")
    modal = discord.ui.Modal(
        title=_label(spec.title, MODAL_TITLE_MAX), custom_id=FORM_PREFIX + spec.form_id
    )
    for f in spec.fields:
        text_input: discord.ui.TextInput[Any] = discord.ui.TextInput(
            custom_id=f.id,
            style=discord.TextStyle.paragraph if f.long else discord.TextStyle.short,
            required=f.required,
            max_length=max(1, min(f.max_length, TEXT_INPUT_MAX)),
            placeholder=_label(f.placeholder, PLACEHOLDER_MAX) or None,
        )
        modal.add_item(
            discord.ui.Label(text=_label(f.label, MODAL_LABEL_MAX), component=text_input)
        )
    return modal
