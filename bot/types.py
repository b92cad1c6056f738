"""Boundary types: what crosses between the platform adapters and the core.

Frozen, slotted dataclasses; ids are str; no SDK object, callable or raw dict inside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ChatKind(StrEnum):
    """Where an event happened: a user's private chat or a moderator surface."""

    PRIVATE = "private"
    MODERATION = "moderation"


@dataclass(frozen=True, slots=True)
class UserRef:
    """A person on one platform. `is_moderator` is set by the adapter from platform rights."""

    platform: str
    id: str
    display_name: str = ""
    locale: str = ""
    is_moderator: bool = False
    # The locale is the person's own choice for this session (`kefu chat --lang en`), not
    # their app's language: it replaces the language they had, as /lang would.
    locale_chosen: bool = False

    @property
    def key(self) -> str:
        """The conversation key, unique across platforms."""
        return f"{self.platform}:{self.id}"


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A chat on one platform; `thread_id` names a forum topic or a Discord thread."""

    platform: str
    id: str
    kind: ChatKind = ChatKind.PRIVATE
    thread_id: str = ""


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message the platform already holds, so that it can be edited."""

    chat: ChatRef
    id: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file a person sent.

    The adapter fills `ref` (a platform file id, or a local path for the console), the
    declared `name`, `mime` and `size`. The hub fetches and checks the bytes and fills
    `sha256` (stored by content hash) or `error` (why it was refused: an i18n key).
    """

    ref: str
    name: str = ""
    mime: str = ""
    size: int | None = None
    sha256: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class TextReceived:
    """A message with text and/or attachments; `edited`: the new text of one sent before."""

    user: UserRef
    chat: ChatRef
    event_id: str
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    edited: bool = False


@dataclass(frozen=True, slots=True)
class ButtonPressed:
    """A button press; `data` is a packed action (see bot.actions), untrusted."""

    user: UserRef
    chat: ChatRef
    event_id: str
    data: str
    message: MessageRef | None = None


@dataclass(frozen=True, slots=True)
class CommandReceived:
    """A slash command such as /human; `name` without the slash, lower case."""

    user: UserRef
    chat: ChatRef
    event_id: str
    name: str
    args: str = ""
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class FormSubmitted:
    """Several form answers at once (a Discord modal): (field id, value) pairs.

    An image question shown in the modal is listed with an empty value; the files uploaded
    for it are `attachments` (fetched, checked and stored by the hub, like a message's).
    """

    user: UserRef
    chat: ChatRef
    event_id: str
    form_id: str
    values: tuple[tuple[str, str], ...] = ()
    attachments: tuple[Attachment, ...] = ()


IncomingEvent = TextReceived | ButtonPressed | CommandReceived | FormSubmitted


@dataclass(frozen=True, slots=True)
class ModalField:
    """One question of a modal form (Discord: label at most 45 characters).

    A text input, or, when `max_files` > 0, an image question: a file upload taking 1 to
    `max_files` screenshots (0 to `max_files` when not required).
    """

    id: str
    label: str
    long: bool = False
    required: bool = True
    max_length: int = 4000
    placeholder: str = ""
    max_files: int = 0


@dataclass(frozen=True, slots=True)
class ModalLimits:
    """How much one modal dialog holds on a platform (Discord: 5 questions, labels of 45)."""

    max_inputs: int
    max_label: int
    max_title: int
    max_placeholder: int
    max_text: int
    max_files: int  # screenshots one upload question takes; 0 = no uploads in a modal


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a surface can do, declared by its adapter, so the core need not know its name.

    `modals`: forms can open as one dialog, within these limits. `paged`: moderators there get
    a topic or thread per ticket with its card (a chat that is not paged, the terminal desk,
    is shown the outcome of its actions instead). `names_tickets`: a moderation chat's
    thread id is the ticket's number (the desk's `/open N`), not a topic to look up.
    """

    modals: ModalLimits | None = None
    paged: bool = True
    names_tickets: bool = False


@dataclass(frozen=True, slots=True)
class ModalSpec:
    """A form that fits one modal dialog; platforms without modals ignore it."""

    form_id: str
    title: str
    fields: tuple[ModalField, ...]


class Look(StrEnum):
    """How a button wants to be shown; a platform without styles or menus ignores it."""

    PLAIN = "plain"
    PRIMARY = "primary"  # the way forward: talk to a person
    POSITIVE = "positive"  # solved, submit, claim
    DANGER = "danger"  # close
    TOPIC = "topic"  # one category of a list: may be shown as an entry of a select menu
    ARTICLE = "article"  # one article of a list: likewise


@dataclass(frozen=True, slots=True)
class Button:
    """A button: its label in the reader's language and a packed action (see bot.actions).

    When `modal` is set, a platform with modal dialogs (Discord) opens it as the first response
    to the press and sends the answers back as one FormSubmitted; others send `data` as usual.
    `look` is a presentation hint (colour, or an entry of a menu).
    """

    label: str
    data: str
    modal: ModalSpec | None = None
    look: Look = Look.PLAIN


@dataclass(frozen=True, slots=True)
class OutFile:
    """A stored file to upload: the adapter reads `path` and re-uploads it."""

    path: str
    name: str
    mime: str
    sha256: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says: plain text (adapters escape it), button rows and files.

    `title` is an optional heading (an article title, a ticket card's headline) that a
    platform may render in bold or as an embed title.
    """

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    files: tuple[OutFile, ...] = ()
    title: str = ""
    edit: MessageRef | None = None
    silent: bool = False
    close_thread: bool = False  # the topic or thread it goes to is closed after it (a move)

    @property
    def flat_buttons(self) -> tuple[Button, ...]:
        """Every button, row by row."""
        return tuple(b for row in self.buttons for b in row)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A reply addressed to a chat, with the key that makes its delivery idempotent."""

    to: ChatRef
    reply: Reply
    key: str = ""
    ticket_id: int | None = None


@dataclass(frozen=True, slots=True)
class Delivered:
    """What the platform answered to a send: the ids of the messages it created.

    `note` says the delivery was degraded though it arrived, e.g. "dms_closed" when a Discord
    user's DMs are closed and the reply went out as an ephemeral interaction message instead.
    """

    message_ids: tuple[str, ...] = field(default=())
    note: str = ""
