"""Terminal chat and desk: numbered buttons, /attach PATH, one line a message, pipe-friendly.

Buttons print one per line as `[N] Label`, numbered from 1 on each bot message; a bare number
in range presses that button of the latest message that has buttons; anything else is text.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from bot.ports import EventSink
from bot.types import (
    Attachment,
    Button,
    ButtonPressed,
    Capabilities,
    ChatKind,
    ChatRef,
    CommandReceived,
    Delivered,
    IncomingEvent,
    Outgoing,
    TextReceived,
    UserRef,
)

Settle = Callable[[], Awaitable[None]]
CHAT = Capabilities(paged=False)  # a user's terminal: numbered buttons, no dialogs
DESK = Capabilities(paged=False, names_tickets=True)  # `/open N` names the ticket worked on
WORKS_ON = frozenset({"open", "claim", "reopen"})  # `/claim 3`: then typing answers #3


class ConsoleAdapter:
    """A terminal surface: `platform` "console" for a user, "desk" for a moderator."""

    def __init__(
        self,
        platform: str,
        user: UserRef,
        chat: ChatRef,
        *,
        capabilities: Capabilities = CHAT,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        settle: Settle | None = None,
    ) -> None:
        self.platform = platform
        self.capabilities = capabilities
        self.user = user
        self.chat = chat
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout
        self._settle = settle
        self._buttons: list[Button] = []
        self._session = uuid.uuid4().hex[:10]
        self._count = 0
        self._printed = 0

    def set_settle(self, settle: Settle) -> None:
        """What to wait for after each line: the replies it caused to be printed."""
        self._settle = settle

    async def run(self, sink: EventSink) -> None:
        """Read lines until the end of input; each goes to the sink, then its replies print."""
        interactive = self._in.isatty()
        while True:
            if interactive:
                self._write("> ", newline=False)
            line = await asyncio.to_thread(self._in.readline)
            if not line:
                return
            event = self.parse(line.rstrip("\r\n"))
            if event is None:
                continue
            if self.user.locale_chosen:  # `--lang` sets the session's language once: a later
                # /lang is theirs (it was undone at the next message)
                self.user = dataclasses.replace(self.user, locale_chosen=False)
            await sink(event)
            if self._settle is not None:
                await self._settle()

    def _next_id(self) -> str:
        self._count += 1
        return f"{self._session}-{self._count}"

    def parse(self, line: str) -> IncomingEvent | None:
        """One typed line as an event (None for a blank line or a local command)."""
        text = line.strip()
        if not text:
            return None
        if text.isdigit() and 1 <= int(text) <= len(self._buttons):
            button = self._buttons[int(text) - 1]
            return ButtonPressed(self.user, self.chat, self._next_id(), button.data)
        if text.startswith("/attach"):
            return self._attach(text.removeprefix("/attach").strip())
        if text.startswith("/") and len(text) > 1:
            name, _, args = text[1:].partition(" ")
            names = self.capabilities.names_tickets
            if names and name.lower() in WORKS_ON and args.strip().isdigit():
                self.chat = ChatRef(self.chat.platform, self.chat.id, self.chat.kind, args.strip())
            return CommandReceived(
                self.user, self.chat, self._next_id(), name.lower(), args.strip()
            )
        return TextReceived(self.user, self.chat, self._next_id(), text)

    def _attach(self, raw: str) -> IncomingEvent | None:
        path = Path(raw.strip().strip("'\"")).expanduser()
        if not raw or not path.is_file():
            self._write(f"(no such file: {raw or '?'})")
            return None
        attachment = Attachment(ref=str(path.resolve()), name=path.name, size=path.stat().st_size)
        return TextReceived(self.user, self.chat, self._next_id(), "", (attachment,))

    async def send(self, out: Outgoing) -> Delivered:
        """Print a reply: title, text, files and numbered buttons."""
        reply = out.reply
        lines = []
        if (
            self.capabilities.names_tickets
            and out.to.thread_id
            and out.to.thread_id != self.chat.thread_id
        ):
            lines.append(f"[#{out.to.thread_id}]")
        if reply.title:
            lines.append(f"== {reply.title} ==")
        lines.append(reply.text)
        lines += [f"(file: {f.path})" for f in reply.files]
        buttons = list(reply.flat_buttons)
        if buttons:
            self._buttons = buttons
            lines += [f"[{n}] {b.label}" for n, b in enumerate(buttons, 1)]
        self._write("\n".join(lines) + "\n")
        self._printed += 1
        return Delivered((str(self._printed),))

    def show(self, text: str) -> None:
        """Print a line that is not a bot message (the desk's live feed)."""
        self._write(text)

    async def fetch_attachment(self, attachment: Attachment, max_bytes: int) -> bytes:
        """Read a local file given with /attach."""
        data = await asyncio.to_thread(Path(attachment.ref).read_bytes)
        if len(data) > max_bytes:
            raise ValueError("file too large")
        return data

    def _write(self, text: str, *, newline: bool = True) -> None:
        self._out.write(text + ("\n" if newline else ""))
        self._out.flush()


def console_user(
    name: str, locale: str, platform: str = "console", chosen: bool = False
) -> UserRef:
    """The person at this terminal (`chosen`: they named the language on the command line)."""
    return UserRef(
        platform,
        name,
        display_name=name,
        locale=locale,
        is_moderator=platform == "desk",
        locale_chosen=chosen,
    )


def chat_adapter(name: str, locale: str, chosen: bool = False) -> ConsoleAdapter:
    """`kefu chat`: a user talking to the bot."""
    return ConsoleAdapter(
        "console",
        console_user(name, locale, chosen=chosen),
        ChatRef("console", name, ChatKind.PRIVATE),
    )


def desk_adapter(name: str, locale: str = "") -> ConsoleAdapter:
    """`kefu desk`: a moderator working the queue (answered in `locale` where what is said is
    theirs alone)."""
    return ConsoleAdapter(
        "desk",
        console_user(name, locale, "desk"),
        ChatRef("desk", name, ChatKind.MODERATION),
        capabilities=DESK,
    )
