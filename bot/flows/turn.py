"""One event's handling: the services it may use, what it read, and what it will write."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.actions import ActionError, Verb, act, owner_tag, unpack
from bot.config import Config
from bot.deliveries import to_chat, to_ticket_topic
from bot.flows.searches import SearchCache
from bot.flows.staffing import Staffing
from bot.hours import Hours
from bot.routes import Routes
from bot.state import Conversation
from bot.storage.base import Store
from bot.storage.records import Author, Ticket, TicketMessage, UserRecord
from bot.storage.writes import TurnWrites
from bot.texts import Texts, normalize_lang
from bot.types import Button, Capabilities, ChatKind, ChatRef, IncomingEvent, Look, Reply
from knowledge.intents import chooses_form, gist
from knowledge.models import KnowledgeBase
from knowledge.search import SearchIndex, SearchResult

NO_CAPABILITIES = Capabilities()


OFFERED = "offered"  # in a conversation's data: its last buttons, by typed label
HELD = "held"  # in a conversation's data: screenshots sent outside a form or a ticket
MAX_HELD = 5  # of them, kept for the next ticket
LOOSE_LENGTH = 40  # characters of a message that may be a button's label said loosely
SHORT_LABEL_WORDS = 4  # a label this short may be pressed by typing one of its parts
SHORT_LABEL_CHARS = 24
_CJK = re.compile(r"[\u3400-\u9fff]")


def typed_label(text: str) -> str:
    """A button's label, or a message, as compared when typed: case, spaces and a closing
    full stop or exclamation mark aside."""
    return " ".join(text.strip(" .!。！").split()).lower()


def _part_of(part: str, label: str) -> bool:
    """Whether a message's gist is a whole part of a short label's gist (whole words, or two
    Chinese characters or more); article titles are too long to be pressed by a part."""
    if len(label.split()) > SHORT_LABEL_WORDS or len(label) > SHORT_LABEL_CHARS:
        return False
    if _CJK.search(part):
        return len(part) >= 2 and part in label
    return f" {part} " in f" {label} "


def _verb(data: str) -> Verb | None:
    """A button's verb (None for data that is no action)."""
    try:
        return unpack(data).verb
    except ActionError:
        return None


@dataclass(slots=True)
class Services:
    """What every flow may use; built once in the composition root."""

    store: Store
    kb: KnowledgeBase
    index: SearchIndex
    texts: Texts
    config: Config
    clock: Callable[[], float]
    routes: Routes = field(default_factory=lambda: Routes((), None))  # who a ticket pages
    hours: Hours | None = None
    file_path: Callable[[str], str] = str  # stored file's relative path -> absolute path
    capabilities: Mapping[str, Capabilities] = field(default_factory=dict)
    kb_key: str = ""  # which knowledge base misses and examples belong to
    staffing: Staffing = field(default_factory=Staffing)  # moderators at work, for estimates
    searches: SearchCache = field(default_factory=SearchCache)  # results of `index`, kept

    def search(self, query: str, lang: str, limit: int = 5) -> SearchResult:
        """The help center's ranking for a query (remembered until the index changes)."""
        return self.searches.search(self.index, query, lang, limit)

    def teach(self, query: str, article_id: str) -> bool:
        """Attach a query to an article in the index (see SearchIndex.add_example)."""
        added = self.index.add_example(query, article_id)
        self.searches.forget()
        return added

    @property
    def mod_lang(self) -> str:
        """The language of moderator-facing texts."""
        return self.config.bot.default_lang

    def surfaces_of(self, ticket: Ticket) -> tuple[ChatRef, ...]:
        """The moderator chats a ticket pages: those it was given, or its route's first."""
        if ticket.surfaces:
            return tuple(ChatRef(p, c, ChatKind.MODERATION) for p, c in ticket.surfaces)
        route = self.routes.route_for(ticket.category)
        return Routes.pick(route, {}) if route is not None else ()

    def can(self, platform: str) -> Capabilities:
        """What a platform's surface can do (nothing special when its adapter is not here)."""
        return self.capabilities.get(platform, NO_CAPABILITIES)


@dataclass(slots=True)
class Turn:
    """The handling of one event: state loaded, decisions made, writes collected for commit.

    Flows read through `svc.store` (what is committed) and never write there: what they
    decide goes into `writes`, which the engine commits atomically at the end of the turn.
    """

    svc: Services
    event: IncomingEvent
    now: float
    user: UserRecord
    conv: Conversation
    ticket: Ticket | None = None  # the user's open ticket (private chats)
    target: Ticket | None = None  # the ticket a moderator's event is about
    writes: TurnWrites = field(default_factory=TurnWrites)
    forget: bool = False  # after /forget: the user's data goes, nothing else is saved
    _owner: str = ""

    @property
    def lang(self) -> str:
        """The user's language."""
        return self.conv.lang or self.svc.config.bot.default_lang

    @property
    def owner(self) -> str:
        """The tag that binds this user's buttons to them."""
        if not self._owner:
            self._owner = owner_tag(self.user.key)
        return self._owner

    @property
    def data(self) -> dict[str, Any]:
        """The conversation's step data."""
        return self.conv.data

    @property
    def actor(self) -> str:
        """The key of who acts: the user, or the moderator."""
        return self.event.user.key

    @property
    def actor_name(self) -> str:
        """The name of who acts, as the platform gave it."""
        return self.event.user.display_name or self.event.user.id

    def t(self, key: str, /, **values: Any) -> str:
        """A string in the user's language."""
        return self.svc.texts(self.lang, key, **values)

    def mt(self, key: str, /, **values: Any) -> str:
        """A string in the moderators' language."""
        return self.svc.texts(self.svc.mod_lang, key, **values)

    def mine(self, key: str, /, **values: Any) -> str:
        """A string for the acting moderator alone, in `actor_lang`."""
        return self.svc.texts(self.actor_lang, key, **values)

    @property
    def actor_lang(self) -> str:
        """The language of what only the acting moderator reads: theirs on a surface that is
        theirs alone (the web desk's page), else the moderators' language (a shared topic)."""
        chat, ref = self.event.chat, self.event.user
        if chat.kind == ChatKind.MODERATION and not self.svc.can(chat.platform).paged:
            return normalize_lang(ref.locale) or self.svc.mod_lang
        return self.svc.mod_lang

    def button(
        self, key: str, verb: Verb, *args: str | int, look: Look = Look.PLAIN, **values: Any
    ) -> Button:
        """A button for this user, labelled with text `key`."""
        return Button(self.t(key, **values), act(verb, *args, owner=self.owner), look=look)

    def button_text(
        self, label: str, verb: Verb, *args: str | int, look: Look = Look.PLAIN
    ) -> Button:
        """A button for this user with a literal label (an article title, a category)."""
        short = label if len(label) <= 64 else label[:63].rstrip() + "…"
        return Button(short, act(verb, *args, owner=self.owner), look=look)

    def human_row(self) -> tuple[Button, ...]:
        """The row every step-ending message carries: a person is one tap away."""
        return (
            self.button("btn_human", Verb.HUMAN, look=Look.PRIMARY),
            self.button("btn_menu", Verb.MENU),
        )

    # what the turn writes

    def next_key(self) -> str:
        """The idempotency key of the turn's next outbox item."""
        return f"{self.event.user.platform}:{self.event.event_id}:{len(self.writes.outbox)}"

    def _key(self) -> str:
        return self.next_key()

    def say(self, reply: Reply) -> None:
        """Answer in the chat the event came from (a user's buttons are remembered: typing
        what one says presses it, see `offered`)."""
        self.writes.outbox.append(to_chat(self.event.chat, reply, self._key(), self.now))
        if reply.buttons and self.event.chat.kind == ChatKind.PRIVATE:
            self.data[OFFERED] = {
                typed_label(b.label): b.data for row in reply.buttons for b in row
            }

    @property
    def max_image_mb(self) -> int:
        """The image size limit in whole megabytes, as the refusals say it (at least 1)."""
        return max(1, self.svc.config.bot.max_image_bytes // (1024 * 1024))

    def clear_data(self) -> None:
        """Forget the step's data; screenshots sent outside a form or a ticket stay held for
        the next ticket (see bot.flows.handoff.hold)."""
        held = self.data.get(HELD)
        self.data.clear()
        if held:
            self.data[HELD] = held

    def held(self) -> list[str]:
        """The screenshots held for the next ticket (their hashes)."""
        return [str(sha) for sha in self.data.get(HELD, [])]

    def form_offered(self, said: str) -> str | None:
        """The data of the last message's "Fill in the form" button when a message names the
        form and does not say no to it ("那我填表单", "ok the form then")."""
        if not chooses_form(said):
            return None
        found = [d for d in self.data.get(OFFERED, {}).values() if _verb(str(d)) is Verb.FORM]
        return str(found[0]) if len(found) == 1 else None

    def offered(self, said: str, *, loose: bool = False) -> str | None:
        """The data of the button of the last message with buttons whose label the user
        typed ("填写表单", "Account", an article's title), if any. `loose`: a short message
        whose gist is one label's also presses it ("yeah fill the form", "好的，填写表单吧")."""
        offered: dict[str, str] = self.data.get(OFFERED, {})
        found = offered.get(typed_label(said))
        if not found and loose and len(said) <= LOOSE_LENGTH and (wanted := gist(said)):
            gists = {label: gist(label) for label in offered}
            fits = {offered[label] for label, g in gists.items() if g == wanted}
            if not fits:  # "form" for "Fill in the form", "表单" for "填写表单"
                fits = {offered[label] for label, g in gists.items() if _part_of(wanted, g)}
            found = fits.pop() if len(fits) == 1 else None
        return str(found) if found else None

    def text(self, key: str, *rows: tuple[Button, ...], **values: Any) -> None:
        """Answer with text `key` and button rows."""
        self.say(Reply(self.t(key, **values), buttons=tuple(rows)))

    def to_user(self, ticket: Ticket, reply: Reply) -> None:
        """Send to the ticket's user, wherever they are."""
        chat = ChatRef(ticket.platform, ticket.chat_id, ChatKind.PRIVATE)
        self.writes.outbox.append(to_chat(chat, reply, self._key(), self.now, ticket.id))

    def to_moderators(
        self,
        ticket: Ticket,
        reply: Reply,
        skip: str = "",
        *,
        card: bool = False,
        pack: bool = False,
        mine: Reply | None = None,
    ) -> None:
        """Send into the ticket's topic/thread on every moderator surface but `skip`.

        `card` marks the ticket's card: the outbox opens a new topic with it. `pack`: the
        outbox may join it with the packable messages queued behind it (bot.deliveries). A
        moderation chat that is not paged (the desk) is shown the outcome of its own action
        instead (`mine`: the same in the acting moderator's language, see `actor_lang`).
        """
        origin = self.event.chat
        if (
            origin.kind == ChatKind.MODERATION
            and not skip
            and not self.svc.can(origin.platform).paged
        ):
            self.say(mine or reply)
        for chat in self.svc.surfaces_of(ticket):
            if chat.platform != skip:
                self.to_moderators_on(ticket, chat, reply, card=card, pack=pack)

    def to_moderators_on(
        self,
        ticket: Ticket,
        chat: ChatRef,
        reply: Reply,
        *,
        card: bool = False,
        pack: bool = False,
    ) -> None:
        """Send into the ticket's topic/thread in one moderator chat."""
        key, now = self._key(), self.now
        item = to_ticket_topic(chat, ticket.id, reply, key, now, card=card, pack=pack)
        self.writes.outbox.append(item)

    def log(
        self, ticket: Ticket, author: Author, text: str, files: list[str] | None = None
    ) -> None:
        """Keep a line in the ticket's history (written with the turn)."""
        who, name = (
            (self.user.key, self.user.display_name)
            if author is Author.USER
            else (self.actor, self.actor_name)
        )
        self.writes.messages.append(
            TicketMessage(ticket.id, author, who, name, text, list(files or []), self.now)
        )

    def save(self, ticket: Ticket) -> None:
        """Save the ticket's current state with the turn."""
        self.writes.save_ticket(ticket)
