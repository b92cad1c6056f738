"""Outbox items, made in one place: where a reply goes, its idempotency key, its payload.

A reply goes to a chat (a user's private chat, the chat an event came from) or into a ticket's
topic on a moderator surface, resolved and opened at delivery (`to_ticket`). The payload is
the Reply serialised by hand (dataclasses.asdict is 50x slower) and rebuilt by the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.storage.records import OutboxItem
from bot.types import (
    Button,
    ChatKind,
    ChatRef,
    Look,
    MessageRef,
    ModalField,
    ModalSpec,
    OutFile,
    Reply,
)


def to_chat(
    chat: ChatRef, reply: Reply, key: str, now: float, ticket_id: int | None = None
) -> OutboxItem:
    """A delivery into a chat (and thread) as it is named."""
    return OutboxItem(
        platform=chat.platform,
        chat_id=chat.id,
        payload=reply_to_payload(reply),
        key=key,
        thread=chat.thread_id,
        chat_kind=chat.kind,
        ticket_id=ticket_id,
        created_at=now,
    )


def to_ticket_topic(
    surface: ChatRef,
    ticket_id: int,
    reply: Reply,
    key: str,
    now: float,
    *,
    card: bool = False,
    pack: bool = False,
) -> OutboxItem:
    """A delivery into the ticket's topic or thread on a moderator surface.

    `card` marks the ticket's card: a topic opened for it needs no other card first. `pack`
    lets it be joined with the packable deliveries queued behind it (a user's relayed words);
    a reply with files, buttons or an edit is never packed: photos go as photos.
    """
    packable = pack and not (reply.files or reply.buttons or reply.edit or reply.close_thread)
    return OutboxItem(
        platform=surface.platform,
        chat_id=surface.id,
        payload=reply_to_payload(reply),
        key=key,
        chat_kind=ChatKind.MODERATION,
        ticket_id=ticket_id,
        to_ticket=True,
        card=card,
        pack=packable,
        created_at=now,
    )


PACK_ITEMS = 50  # deliveries joined into one message at most
PACK_CHARS = 1900  # a packed message's length at most: under Discord's 2,000 (Telegram: 4,096)
PACK_LINE = 12  # what each joined delivery adds: its time ("[HH:MM:SS] ") and a line break


def pack_run(head: OutboxItem, behind: Sequence[OutboxItem], now: float) -> list[OutboxItem]:
    """The deliveries queued behind `head` that may join it in one message: the consecutive
    packable ones that are due by `now`, while the message stays one message long (PACK_CHARS).
    None when the head itself is not packable."""
    if not head.pack:
        return []
    used = len(str(head.payload.get("text", ""))) + PACK_LINE
    run: list[OutboxItem] = []
    for item in behind[: PACK_ITEMS - 1]:
        used += len(str(item.payload.get("text", ""))) + PACK_LINE
        if not item.pack or item.next_at > now or used > PACK_CHARS:
            break
        run.append(item)
    return run


def _button_payload(b: Button) -> dict[str, Any]:
    data: dict[str, Any] = {"label": b.label, "data": b.data}
    if b.look is not Look.PLAIN:
        data["look"] = b.look.value
    if b.modal is not None:
        data["modal"] = {
            "form_id": b.modal.form_id,
            "title": b.modal.title,
            "fields": [
                {
                    "id": f.id,
                    "label": f.label,
                    "long": f.long,
                    "required": f.required,
                    "max_length": f.max_length,
                    "placeholder": f.placeholder,
                    "max_files": f.max_files,
                }
                for f in b.modal.fields
            ],
        }
    return data


def reply_to_payload(reply: Reply) -> dict[str, Any]:
    """Serialise a Reply to JSON-ready data."""
    data: dict[str, Any] = {
        "text": reply.text,
        "buttons": [[_button_payload(b) for b in row] for row in reply.buttons],
        "files": [
            {"path": f.path, "name": f.name, "mime": f.mime, "sha256": f.sha256}
            for f in reply.files
        ],
        "title": reply.title,
        "silent": reply.silent,
    }
    if reply.close_thread:
        data["close_thread"] = True
    if reply.edit is not None:
        chat = reply.edit.chat
        data["edit"] = {
            "chat": {
                "platform": chat.platform,
                "id": chat.id,
                "kind": chat.kind.value,
                "thread_id": chat.thread_id,
            },
            "id": reply.edit.id,
        }
    return data


_LOOKS = {look.value: look for look in Look}  # a dict lookup: Look(value) costs ~10x as much


def _button(raw: Mapping[str, Any]) -> Button:
    modal = raw.get("modal")
    spec = None
    if modal:
        fields = tuple(ModalField(**f) for f in modal["fields"])
        spec = ModalSpec(modal["form_id"], modal["title"], fields)
    return Button(raw["label"], raw["data"], spec, _LOOKS[raw.get("look", "plain")])


def payload_to_reply(data: Mapping[str, Any]) -> Reply:
    """Rebuild a Reply from its serialised form."""
    edit = None
    if data.get("edit"):
        chat = dict(data["edit"]["chat"])
        chat["kind"] = ChatKind(chat["kind"])
        edit = MessageRef(ChatRef(**chat), data["edit"]["id"])
    return Reply(
        text=data["text"],
        buttons=tuple(tuple(_button(b) for b in row) for row in data.get("buttons", ())),
        files=tuple(OutFile(**f) for f in data.get("files", ())),
        title=data.get("title", ""),
        edit=edit,
        silent=bool(data.get("silent", False)),
        close_thread=bool(data.get("close_thread", False)),
    )
