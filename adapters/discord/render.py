"""Reply → Discord message parts (content, embed, components, files) and ModalSpec → Modal; pure.

Buttons stay buttons, except a long list of categories or articles: those become a string
select menu (`KefuSelect`), so a menu reads as a list instead of a wall of buttons and never
spills into a second message. "Talk to a person", Back and Menu always stay buttons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import discord

from adapters.discord.views import KefuButton, KefuSelect
from bot.actions import Verb, act
from bot.texts import Texts
from bot.types import Button, Look, ModalField, ModalSpec, OutFile, Reply

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
DESCRIPTION_MAX = 100  # Discord: a modal label's description holds at most 100 characters
FILES_PER_UPLOAD_MAX = 10  # Discord: a file upload takes 1 to 10 files
OPTIONS_MAX = 25  # Discord: a select menu holds at most 25 options
OPTION_LABEL_MAX = 100  # Discord: a select option label holds at most 100 characters
SELECT_PLACEHOLDER_MAX = 150  # Discord: a select menu placeholder holds at most 150 characters
NAVIGATION_BUTTONS_MAX = 10  # more category/article buttons than this read better as a list
FORM_PREFIX = "kefu-form:"
EMPTY = "\u200b"  # a message needs some content when it only carries buttons
_STYLES = {
    Look.PRIMARY: discord.ButtonStyle.primary,
    Look.POSITIVE: discord.ButtonStyle.success,
    Look.DANGER: discord.ButtonStyle.danger,
}
NAVIGATION = frozenset({Look.TOPIC, Look.ARTICLE})


@dataclass(frozen=True, slots=True)
class Words:
    """The few texts Discord's rendering adds itself, in every language (the reader's language
    is not known to a message in a channel)."""

    pick_topic: str
    pick_article: str
    pick_any: str
    panel: str
    get_help: str
    human: str

    @classmethod
    def of(cls, texts: Texts) -> Words:
        """The words from the catalogs."""
        return cls(
            texts.both("pick_topic"),
            texts.both("pick_article"),
            texts.both("pick_any"),
            texts.both("panel_text", sep="\n"),
            texts.both("btn_get_help", sep=" / "),
            texts.both("btn_human", sep=" / "),
        )


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


def button_style(look: Look) -> discord.ButtonStyle:
    """A colour that tells the kind of action: a person blue, going on green, closing red."""
    return _STYLES.get(look, discord.ButtonStyle.secondary)


def _label(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Choices:
    """Navigation buttons shown as one select menu; it takes a whole action row."""

    buttons: tuple[Button, ...]
    placeholder: str


Row = list[Button] | Choices


def _chunks(buttons: list[Button]) -> list[list[Button]]:
    return [buttons[i : i + ROW_MAX] for i in range(0, len(buttons), ROW_MAX)]


def _button_rows(rows: list[list[Button]]) -> list[list[Button]]:
    """Rows wrapped at 5 buttons; more than 5 rows are packed tighter.

    The last row (usually "Talk to a person") stays on its own row when the rest fits in 4.
    """
    wrapped = [chunk for row in rows for chunk in _chunks(row)]
    if len(wrapped) <= ROWS_MAX:
        return wrapped
    body = _chunks([b for row in wrapped[:-1] for b in row])
    if len(body) < ROWS_MAX:
        return [*body, wrapped[-1]]
    return _chunks([b for row in wrapped for b in row])


def is_navigation(button: Button) -> bool:
    """A button opening a category or an article: what a select menu may list.

    "Talk to a person", Back, the top Menu and a form (it may open a modal) stay buttons,
    so a person is always one tap away.
    """
    return button.modal is None and button.look in NAVIGATION


def _navigation(rows: list[list[Button]]) -> list[Button]:
    """The navigation buttons in order, each action once (option values must be unique)."""
    seen: set[str] = set()
    out: list[Button] = []
    for button in (b for row in rows for b in row):
        if is_navigation(button) and button.data not in seen:
            seen.add(button.data)
            out.append(button)
    return out


def wants_select(rows: list[list[Button]], navigation: list[Button]) -> bool:
    """True when 2+ categories/articles should be a select menu rather than buttons.

    The rule: when the buttons, as the core laid them out, take more than Discord's 5 action
    rows (they would have to be repacked or spill into a second message), or when there are
    more than 10 of them (a list reads better than a wall of buttons).
    """
    wrapped = sum(len(_chunks(row)) for row in rows)
    many = len(navigation) > NAVIGATION_BUTTONS_MAX
    return len(navigation) >= 2 and (wrapped > ROWS_MAX or many)


def _placeholder(buttons: tuple[Button, ...], start: int, total: int, words: Words) -> str:
    kinds = {b.look for b in buttons}
    text = {Look.ARTICLE: words.pick_article, Look.TOPIC: words.pick_topic}.get(
        kinds.pop(), words.pick_any
    )
    if kinds:  # categories and articles mixed
        text = words.pick_any
    if total > OPTIONS_MAX:
        text += f" ({start + 1}–{start + len(buttons)})"
    return _label(text, SELECT_PLACEHOLDER_MAX)


def _menus(navigation: list[Button], words: Words) -> list[Choices]:
    """The navigation buttons as select menus of at most 25 options each."""
    menus: list[Choices] = []
    for start in range(0, len(navigation), OPTIONS_MAX):
        chunk = tuple(navigation[start : start + OPTIONS_MAX])
        menus.append(Choices(chunk, _placeholder(chunk, start, len(navigation), words)))
    return menus


def component_rows(reply: Reply, words: Words) -> list[Row]:
    """The reply's buttons as action rows: long lists become select menus where they stood."""
    rows = [list(row) for row in reply.buttons if row]
    navigation = _navigation(rows)
    if not wants_select(rows, navigation):
        return list(_button_rows(rows))
    first = next(i for i, row in enumerate(rows) if any(map(is_navigation, row)))
    before = [chunk for row in rows[:first] for chunk in _chunks(row)]
    rest = [[b for b in row if not is_navigation(b)] for row in rows[first:]]
    after = [chunk for row in rest for chunk in _chunks(row)]
    menus = _menus(navigation, words)
    if len(before) + len(menus) + len(after) > ROWS_MAX:
        # pack the buttons tighter (a person stays one tap away, after the lists)
        before, after = [], _chunks([b for row in before + after for b in row])
    return [*before, *menus, *after]


def _options(choices: Choices) -> list[discord.SelectOption]:
    return [
        discord.SelectOption(label=_label(b.label, OPTION_LABEL_MAX) or "-", value=b.data)
        for b in choices.buttons
    ]


def build_view(rows: list[Row]) -> tuple[discord.ui.View, dict[str, ModalSpec]]:
    """A timeout-free View of KefuButtons and KefuSelects, and the modal forms it opens."""
    view = discord.ui.View(timeout=None)
    modals: dict[str, ModalSpec] = {}
    for index, row in enumerate(rows):
        if isinstance(row, Choices):
            select = KefuSelect(_options(row), index=index, placeholder=row.placeholder, row=index)
            view.add_item(select)
            continue
        for button in row:
            has_modal = button.modal is not None and len(button.modal.fields) <= MODAL_INPUTS_MAX
            view.add_item(
                KefuButton(
                    button.data,
                    label=_label(button.label, BUTTON_LABEL_MAX),
                    modal=has_modal,
                    style=button_style(button.look),
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


def render(reply: Reply, words: Words, *, mention: str = "") -> list[Part]:
    """Render a reply as one or more messages: text, then files, then the buttons at the end.

    `mention` (a role mention such as `<@&123>`) is put first, so moderators are notified.
    """
    parts = _text_parts(reply, mention)
    files = reply.files
    parts[0].files, files = files[:FILES_MAX], files[FILES_MAX:]
    while files:
        parts.append(Part(content=EMPTY, files=files[:FILES_MAX]))
        files = files[FILES_MAX:]
    rows = component_rows(reply, words)
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


def panel_view(words: Words) -> discord.ui.View:
    """The support panel's buttons: Get help (the menu) and Talk to a person."""
    get_help = Button(words.get_help, act(Verb.MENU))
    human = Button(words.human, act(Verb.HUMAN), look=Look.PRIMARY)
    view, _ = build_view([[get_help, human]])
    return view


def upload_limit(field: ModalField) -> int:
    """How many files a field takes in the modal: 0 for a text input (an image question the
    core put into the modal has `max_files` above 0)."""
    return max(0, field.max_files)


def _modal_item(f: ModalField) -> discord.ui.Label[Any]:
    """One question of the modal: a text input, or a file upload for screenshots."""
    label = _label(f.label, MODAL_LABEL_MAX)
    files = upload_limit(f)
    if files:
        upload: discord.ui.FileUpload[Any] = discord.ui.FileUpload(
            custom_id=f.id,
            required=f.required,
            min_values=1 if f.required else 0,
            max_values=min(files, FILES_PER_UPLOAD_MAX),
        )
        hint = _label(f.placeholder, DESCRIPTION_MAX) or None
        return discord.ui.Label(text=label, component=upload, description=hint)
    text_input: discord.ui.TextInput[Any] = discord.ui.TextInput(
        custom_id=f.id,
        style=discord.TextStyle.paragraph if f.long else discord.TextStyle.short,
        required=f.required,
        max_length=max(1, min(f.max_length, TEXT_INPUT_MAX)),
        placeholder=_label(f.placeholder, PLACEHOLDER_MAX) or None,
    )
    return discord.ui.Label(text=label, component=text_input)


def build_modal(spec: ModalSpec) -> discord.ui.Modal:
    """A modal dialog for a form; raises ValueError when it has more inputs than Discord allows.

    Text questions are text inputs; an image question (see `upload_limit`) is a file upload,
    so the screenshots come with the answers instead of in a message afterwards.
    """
    if not spec.fields or len(spec.fields) > MODAL_INPUTS_MAX:
        raise ValueError(f"form {spec.form_id!r} does not fit a modal")
    modal = discord.ui.Modal(
        title=_label(spec.title, MODAL_TITLE_MAX), custom_id=FORM_PREFIX + spec.form_id
    )
    for f in spec.fields:
        modal.add_item(_modal_item(f))
    return modal
