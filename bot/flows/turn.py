"""One event's handling: the services it may use and the replies it collects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.actions import Verb, act, owner_tag
from bot.config import Config
from bot.hours import Hours
from bot.outbox import reply_to_payload
from bot.state import Conversation
from bot.storage.base import OutboxItem, Store, Ticket, UserRecord
from bot.texts import Texts
from bot.types import Button, ChatKind, ChatRef, IncomingEvent, Reply
from knowledge.models import KnowledgeBase
from knowledge.search import SearchIndex


@dataclass(slots=True)
class Services:
    """What every flow may use; built once in the composition root."""

    store: Store
    kb: KnowledgeBase
    index: SearchIndex
    texts: Texts
    config: Config
    clock: Callable[[], float]
    surfaces: tuple[ChatRef, ...] = ()  # moderator chats to page (Telegram, Discord)
    hours: Hours | None = None
    file_path: Callable[[str], str] = str  # stored file's relative path -> absolute path

    @property
    def mod_lang(self) -> str:
        """The language of moderator-facing texts."""
        return self.config.bot.default_lang


@dataclass(slots=True)
class Turn:
    """The handling of one event: state loaded, replies collected, saved at the end."""

    svc: Services
    event: IncomingEvent
    now: float
    user: UserRecord
    conv: Conversation
    ticket: Ticket | None = None
    items: list[OutboxItem] = field(default_factory=list)
    forgotten: list[str] | None = None  # after /forget: stored files to delete, nothing to save
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

    def t(self, key: str, /, **values: Any) -> str:
        """A string in the user's language."""
        return self.svc.texts(self.lang, key, **values)

    def mt(self, key: str, /, **values: Any) -> str:
        """A string in the moderators' language."""
        return self.svc.texts(self.svc.mod_lang, key, **values)

    def button(self, key: str, verb: Verb, *args: str | int, **values: Any) -> Button:
        """A button for this user, labelled with text `key`."""
        return Button(self.t(key, **values), act(verb, *args, owner=self.owner))

    def button_text(self, label: str, verb: Verb, *args: str | int) -> Button:
        """A button for this user with a literal label (an article title, a category)."""
        short = label if len(label) <= 64 else label[:63].rstrip() + "…"
        return Button(short, act(verb, *args, owner=self.owner))

    def human_row(self) -> tuple[Button, ...]:
        """The row every step-ending message carries: a person is one tap away."""
        return (self.button("btn_human", Verb.HUMAN), self.button("btn_menu", Verb.MENU))

    def _key(self) -> str:
        return f"{self.event.user.platform}:{self.event.event_id}:{len(self.items)}"

    def _add(
        self,
        platform: str,
        chat_id: str,
        thread: str,
        kind: str,
        reply: Reply,
        ticket_id: int | None,
        card: bool = False,
    ) -> None:
        self.items.append(
            OutboxItem(
                platform=platform,
                chat_id=chat_id,
                payload=reply_to_payload(reply, card=card),
                key=self._key(),
                thread=thread,
                chat_kind=kind,
                ticket_id=ticket_id,
                created_at=self.now,
            )
        )

    def say(self, reply: Reply) -> None:
        """Answer in the chat the event came from."""
        chat = self.event.chat
        self._add(chat.platform, chat.id, chat.thread_id, chat.kind.value, reply, None)

    def text(self, key: str, *rows: tuple[Button, ...], **values: Any) -> None:
        """Answer with text `key` and button rows."""
        self.say(Reply(self.t(key, **values), buttons=tuple(rows)))

    def to_user(self, ticket: Ticket, reply: Reply) -> None:
        """Send to the ticket's user, wherever they are."""
        self._add(ticket.platform, ticket.chat_id, "", ChatKind.PRIVATE.value, reply, ticket.id)

    def to_moderators(
        self, ticket: Ticket, reply: Reply, skip: str = "", *, card: bool = False
    ) -> None:
        """Send into the ticket's topic/thread on every moderator surface but `skip`.

        `card` marks the ticket's card: the outbox opens a new topic with it.
        """
        origin = self.event.chat
        if (
            origin.kind == ChatKind.MODERATION
            and not skip
            and origin.platform not in {c.platform for c in self.svc.surfaces}
        ):
            self.say(reply)  # the desk is no paged surface: show it the outcome of its action
        for chat in self.svc.surfaces:
            if chat.platform != skip:
                self._add(
                    chat.platform,
                    chat.id,
                    f"@ticket:{ticket.id}",
                    ChatKind.MODERATION.value,
                    reply,
                    ticket.id,
                    card,
                )
