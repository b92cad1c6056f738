"""send(): one Outgoing → Discord messages, with platform errors mapped to the core's."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import discord

from adapters.discord.pending import Pending, PendingInteractions
from adapters.discord.render import Part, Words, render
from bot.ports import DeliveryError, Rejected, RetryLater, ThreadGone, Unreachable
from bot.types import ChatKind, Delivered, OutFile, Outgoing

log = logging.getLogger(__name__)

NONCE_MAX = 25  # Discord: a message nonce holds at most 25 characters
CANNOT_DM = 50007  # Discord: cannot send messages to this user
UNKNOWN_CHANNEL = 10003  # Discord: unknown channel
UNKNOWN_MESSAGE = 10008  # Discord: unknown message
DM_UPLOAD_LIMIT = discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES  # 10 MiB outside boosted guilds


def nonce(key: str, index: int) -> str | None:
    """A message nonce derived from the Outgoing key, so a retried send is not shown twice."""
    if not key:
        return None
    return hashlib.blake2s(f"{key}#{index}".encode()).hexdigest()[:NONCE_MAX]


def translate(exc: Exception, *, thread: bool) -> DeliveryError:
    """Map a discord.py/aiohttp failure to what the outbox should do about it."""
    if isinstance(exc, discord.RateLimited):
        return RetryLater("rate limited", exc.retry_after)
    if isinstance(exc, discord.NotFound) and exc.code == UNKNOWN_CHANNEL and thread:
        return ThreadGone(f"ticket thread is gone ({exc.code})")
    if isinstance(exc, discord.Forbidden | discord.NotFound):
        return Unreachable(f"{exc.status} {exc.code}: {exc.text}")
    if isinstance(exc, discord.HTTPException):
        if exc.status == 429 or exc.status >= 500:
            return RetryLater(f"HTTP {exc.status}", maybe_delivered=exc.status >= 500)
        return Rejected(f"HTTP {exc.status} {exc.code}: {exc.text}")
    # a network failure or timeout: the request may have been applied; the nonce dedupes it
    return RetryLater(f"{type(exc).__name__}: {exc}", maybe_delivered=True)


SEND_ERRORS = (discord.HTTPException, aiohttp.ClientError, OSError, asyncio.TimeoutError)


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


async def load_files(files: Sequence[OutFile], limit: int) -> list[discord.File]:
    """Read stored files for upload; raises Rejected when one is above the upload limit."""
    out: list[discord.File] = []
    for f in files:
        try:
            data = await asyncio.to_thread(_read, f.path)
        except OSError as exc:
            raise Rejected(f"cannot read file {f.name!r}: {exc.strerror}") from exc
        if len(data) > limit:
            raise Rejected(
                f"file {f.name!r} is {len(data) / 1048576:.1f} MB, above Discord's upload "
                f"limit of {limit / 1048576:.0f} MB here"
            )
        out.append(discord.File(io.BytesIO(data), filename=f.name or "file"))
    return out


class Delivery:
    """Sends replies to DM channels and ticket threads; remembers the modal forms it sent."""

    def __init__(
        self,
        client: discord.Client,
        pending: PendingInteractions,
        *,
        guild_id: int | None,
        role_id: int | None,
        on_modals: Any = None,
        words: Words,
    ) -> None:
        self.client = client
        self.words = words
        self.pending = pending
        self.guild_id = guild_id
        self.role_id = role_id
        # new ticket threads whose first message pings their channel's moderator role
        self.announce: dict[int, int | None] = {}
        self._on_modals = on_modals

    def upload_limit(self, kind: ChatKind) -> int:
        """The largest file Discord accepts in this chat."""
        guild = self.client.get_guild(self.guild_id) if self.guild_id else None
        if kind is ChatKind.MODERATION and guild is not None:
            return guild.filesize_limit
        return DM_UPLOAD_LIMIT

    async def send(self, out: Outgoing) -> Delivered:
        """Deliver one reply; raise a DeliveryError subclass on failure."""
        thread = out.to.kind is ChatKind.MODERATION
        target = int(out.to.thread_id or out.to.id)
        parts, limit = await self._prepare(out, target, thread=thread)
        if out.reply.edit is not None and await self._edit(out, parts[0]):
            return Delivered((out.reply.edit.id,))
        note = ""
        try:
            ids = await self._send_parts(target, parts, out.key, limit, thread=thread)
        except discord.Forbidden as exc:
            if exc.code != CANNOT_DM or thread:
                raise translate(exc, thread=thread) from exc
            ids = await self._to_interaction(target, parts, limit, exc)
            note = "dms_closed"  # shown ephemerally; the core notes it on the ticket
        except SEND_ERRORS as exc:
            raise translate(exc, thread=thread) from exc
        if thread:
            self.announce.pop(target, None)
            if out.reply.close_thread:
                await self._close_thread(target)
        return Delivered(tuple(ids), note)

    async def _close_thread(self, thread_id: int) -> None:
        """Archive and lock a ticket's thread after the note that says where it went (a move);
        the note arrived, so a thread that cannot be closed is logged, not retried."""
        try:
            await self.client.http.edit_channel(thread_id, archived=True, locked=True)
        except discord.HTTPException as exc:
            log.warning("thread %s could not be closed: %s %s", thread_id, exc.status, exc.code)

    async def _prepare(
        self, out: Outgoing, target: int, *, thread: bool
    ) -> tuple[list[Part], int]:
        """Render the reply and check its files before anything is sent."""
        parts = render(out.reply, self.words, mention=self._mention(target) if thread else "")
        limit = self.upload_limit(out.to.kind)
        for part in parts:
            if part.files:
                await load_files(part.files, limit)
            if part.modals and self._on_modals is not None:
                await self._on_modals(part.modals)
        return parts, limit

    def _mention(self, thread_id: int) -> str:
        role = self.announce.get(thread_id)
        return f"<@&{role}>" if role else ""

    async def _send_parts(
        self, target: int, parts: list[Part], key: str, limit: int, *, thread: bool
    ) -> list[str]:
        channel_type = (
            discord.ChannelType.private_thread if thread else discord.ChannelType.private
        )
        channel = self.client.get_partial_messageable(target, type=channel_type)
        role = self.announce.get(target) if thread else None
        try:
            ids = await self._post(channel, parts, key, limit, role)
        except discord.NotFound as exc:
            if thread or exc.code != UNKNOWN_CHANNEL:
                raise
            # the id may be a user id rather than a DM channel id: open the DM channel
            dm = await self.client.http.start_private_message(target)
            channel = self.client.get_partial_messageable(int(dm["id"]), type=channel_type)
            ids = await self._post(channel, parts, key, limit, None)
        if not thread:
            await self._settle(target)
        return ids

    async def _post(
        self,
        channel: discord.PartialMessageable,
        parts: list[Part],
        key: str,
        limit: int,
        role: int | None,
    ) -> list[str]:
        ids: list[str] = []
        for index, part in enumerate(parts):
            kwargs = part.kwargs()
            mentions = discord.AllowedMentions.none()
            if part.ping and role:
                # only the thread's moderator role may ping, and only from the ticket card
                mentions.roles = [discord.Object(role)]
            files = await load_files(part.files, limit) if part.files else None
            message = await channel.send(
                **kwargs, files=files, nonce=nonce(key, index), allowed_mentions=mentions
            )
            ids.append(str(message.id))
        return ids

    async def _settle(self, target: int) -> None:
        pending = self.pending.find(target)
        if pending is not None and not pending.settled:
            await self.pending.settle(pending)

    async def _to_interaction(
        self, target: int, parts: list[Part], limit: int, exc: discord.Forbidden
    ) -> list[str]:
        """DMs closed: answer the user's pending interaction ephemerally, else give up."""
        pending = self.pending.find(target)
        if pending is None:
            raise Unreachable(f"cannot DM this user ({exc.code})") from exc
        try:
            return await self._followups(pending, parts, limit)
        except SEND_ERRORS as err:
            raise translate(err, thread=False) from err

    async def _followups(self, pending: Pending, parts: list[Part], limit: int) -> list[str]:
        ids: list[str] = []
        interaction = pending.interaction
        for part in parts:
            files = await load_files(part.files, limit) if part.files else []
            kwargs = part.kwargs()
            if pending.thinking and not ids:
                # the first answer replaces the "thinking…" (or pointer) message
                message = await interaction.edit_original_response(**kwargs, attachments=files)
                pending.settled = True
            else:
                message = await interaction.followup.send(
                    **kwargs, files=files, ephemeral=True, wait=True
                )
            ids.append(str(message.id))
        return ids

    async def _edit(self, out: Outgoing, part: Part) -> bool:
        """Edit a message the bot sent before; False when it cannot (then a new one is sent)."""
        ref = out.reply.edit
        if ref is None:
            return False
        channel_id = int(ref.chat.thread_id or ref.chat.id)
        message = self.client.get_partial_messageable(channel_id).get_partial_message(int(ref.id))
        kwargs = part.kwargs()
        kwargs.setdefault("content", None)
        kwargs.setdefault("embed", None)
        kwargs.setdefault("view", None)
        try:
            await message.edit(**kwargs)
        except discord.NotFound:
            return False
        except discord.Forbidden as exc:
            log.debug("edit refused (%s); sending a new message", exc.code)
            return False
        except SEND_ERRORS as exc:
            raise translate(exc, thread=bool(ref.chat.thread_id)) from exc
        return True
