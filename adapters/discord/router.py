"""Inbound: messages, buttons and menu choices, slash commands and modal forms → the sink.

Every interaction is acknowledged at once (Discord allows 3 seconds): a modal when the button
opens one, an ephemeral refusal when a non-moderator presses a moderator button, otherwise a
deferral; only then does the event go to the sink.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import discord

from adapters.discord import convert
from adapters.discord.pending import PendingInteractions
from adapters.discord.render import FORM_PREFIX, Words, build_modal, panel_view
from bot.actions import claims, moderator_only
from bot.texts import Texts
from bot.types import ButtonPressed, ChatKind, ChatRef, IncomingEvent, MessageRef, ModalSpec

log = logging.getLogger(__name__)

MODERATOR_COMMANDS = frozenset({"claim", "close", "reopen", "block", "snippet", "note"})
_MESSAGE_TYPES = (discord.MessageType.default, discord.MessageType.reply)

Sink = Callable[[IncomingEvent], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Settings:
    """The ids and limits the adapter works with."""

    guild_id: int | None
    max_image_bytes: int
    mod_channel_id: int | None  # the first moderator channel (of the first route)
    role_id: int | None  # [discord] moderator_role_id: moderators where a route names none
    roles: dict[int, int | None] = field(default_factory=dict)  # moderator channel → its role

    def role_for(self, chat: ChatRef | None) -> int | None:
        """Who moderates where: a route's channel has its own role (rights follow the
        channel); elsewhere the default role."""
        if chat is not None and chat.kind is ChatKind.MODERATION and chat.id.isdigit():
            return self.roles.get(int(chat.id), self.role_id)
        return self.role_id


class Router:
    """Turns gateway events into the core's events, acknowledging interactions first."""

    def __init__(
        self,
        client: discord.Client,
        settings: Settings,
        pending: PendingInteractions,
        modals: dict[str, ModalSpec],
        texts: Texts,
    ) -> None:
        self.client = client
        self.settings = settings
        self.pending = pending
        self.modals = modals
        self.texts = texts
        self.words = Words.of(texts)
        # said privately at once, before the core (which would only repeat it in public)
        self.refused = texts.both("mod_only")
        self.not_here = texts.both("not_in_ticket")
        self.sink: Sink | None = None
        self._parents: dict[int, int | None] = {}
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    # -- where things happen -------------------------------------------------------------

    async def _parent_of(self, channel_id: int, channel: Any) -> int | None:
        """The parent channel of a thread (None for a channel), cached after one lookup."""
        if isinstance(channel, discord.Thread):
            return channel.parent_id
        if isinstance(channel, discord.abc.GuildChannel):
            return None
        if channel_id not in self._parents:
            try:
                fetched = await self.client.fetch_channel(channel_id)
            except discord.HTTPException:
                return None
            self._parents[channel_id] = getattr(fetched, "parent_id", None)
        return self._parents[channel_id]

    async def _where(self, channel_id: int, guild_id: int | None, channel: Any) -> ChatRef | None:
        s = self.settings
        if guild_id is not None and (s.guild_id and guild_id != s.guild_id):
            return None
        parent = None
        if guild_id is not None and channel_id not in s.roles:
            parent = await self._parent_of(channel_id, channel)
        return convert.locate(channel_id, guild_id, s.roles.keys(), parent)

    async def _dm_chat(self, interaction: discord.Interaction) -> ChatRef:
        """The user's DM context, opening the DM channel for an interaction in a guild."""
        if interaction.guild_id is None and interaction.channel_id is not None:
            return convert.dm_chat(interaction.channel_id)
        dm = await interaction.user.create_dm()
        return convert.dm_chat(dm.id)

    def _user(self, interaction: discord.Interaction, where: ChatRef | None = None) -> Any:
        return convert.user_ref(
            interaction.user, self.settings.role_for(where), str(interaction.locale.value)
        )

    # -- delivery to the core ------------------------------------------------------------

    async def _submit(self, user_id: int, event: IncomingEvent) -> None:
        """Hand one event to the core, one at a time per user so their order is kept."""
        lock = self._locks.get(user_id)
        if lock is None:
            lock = self._locks[user_id] = asyncio.Lock()
        async with lock:
            if self.sink is None:
                log.warning("event %s dropped: the adapter is not running", event.event_id)
                return
            try:
                await self.sink(event)
            except Exception:
                log.exception("the core failed on event %s", event.event_id)

    # -- messages ------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        """A DM to the bot, or a message in the moderator channel or a ticket thread."""
        if message.author.bot or message.type not in _MESSAGE_TYPES:
            return
        guild_id = message.guild.id if message.guild is not None else None
        chat = await self._where(message.channel.id, guild_id, message.channel)
        if chat is None:
            return
        s = self.settings
        event = convert.message_event(message, chat, s.role_for(chat), s.max_image_bytes)
        await self._submit(message.author.id, event)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        """An edited DM, or a moderator's edited message in a ticket thread: its new text for
        the other side. Link previews and pins are edits too: only a changed text counts."""
        if after.author.bot or before.content == after.content:
            return
        guild_id = after.guild.id if after.guild is not None else None
        chat = await self._where(after.channel.id, guild_id, after.channel)
        if chat is None:
            return
        event = convert.edit_event(after, chat, self.settings.role_for(chat))
        if event is not None:
            await self._submit(after.author.id, event)

    # -- buttons -------------------------------------------------------------------------

    async def on_button(self, interaction: discord.Interaction, data: str, modal: bool) -> None:
        """A button press or menu choice: open its modal, refuse, or defer and pass it on.

        `data` is client data: the core unpacks it and checks it belongs to the presser.
        """
        spec = self.modals.get(data) if modal else None
        if spec is not None:
            form = build_modal(spec)
            form.stop()  # answers are read in on_modal, so discord.py need not keep it
            await interaction.response.send_modal(form)
            return
        where = await self._where(
            interaction.channel_id or 0, interaction.guild_id, interaction.channel
        )
        user = self._user(interaction, where)
        moderation = where is not None and where.kind is ChatKind.MODERATION
        if moderator_only(data) and not user.is_moderator:
            await interaction.response.send_message(self.refused, ephemeral=True)
            self._after(interaction)
            return
        if moderation:
            await interaction.response.defer()
        chat = where if moderation and where is not None else await self._private(interaction)
        message = None
        if interaction.message is not None and (moderation or interaction.guild_id is None):
            message = MessageRef(chat, str(interaction.message.id))
        event = ButtonPressed(user, chat, f"i:{interaction.id}", data, message)
        if claims(data) and user.is_moderator and chat.thread_id:
            await self._join_thread(int(chat.thread_id), interaction.user.id)
        await self._submit(interaction.user.id, event)
        self._after(interaction)

    async def _private(self, interaction: discord.Interaction) -> ChatRef:
        """Defer an interaction answered in the user's DMs and remember it as pending."""
        in_guild = interaction.guild_id is not None
        is_command = interaction.type is discord.InteractionType.application_command
        thinking = in_guild or is_command
        if not interaction.response.is_done():
            await interaction.response.defer(ephemeral=in_guild, thinking=thinking)
        else:
            thinking = False
        chat = await self._dm_chat(interaction)
        self.pending.add(interaction, int(chat.id), thinking=thinking)
        return chat

    def _after(self, interaction: discord.Interaction) -> None:
        """Once the core has the event: clear a leftover "thinking…" after a grace period."""
        self.pending.prune()
        for_user = self.pending.find(interaction.user.id)
        if for_user is not None and for_user.interaction is interaction:
            self.pending.settle_later(for_user)

    async def _join_thread(self, thread_id: int, user_id: int) -> None:
        """Add a claiming moderator to the ticket's private thread."""
        try:
            await self.client.http.add_user_to_thread(thread_id, user_id)
        except discord.HTTPException as exc:
            log.warning("could not add moderator to thread %s: %s", thread_id, exc.code)

    # -- slash commands ------------------------------------------------------------------

    async def on_command(self, interaction: discord.Interaction, name: str, args: str) -> None:
        """A slash command: user commands in the DM context, moderator ones in a thread."""
        user = self._user(interaction)
        if name not in MODERATOR_COMMANDS:
            chat = await self._private(interaction)
            event = convert.command_event(user, chat, interaction.id, name, args)
            await self._submit(interaction.user.id, event)
            self._after(interaction)
            return
        where = await self._where(
            interaction.channel_id or 0, interaction.guild_id, interaction.channel
        )
        if where is None or where.kind is not ChatKind.MODERATION:
            await interaction.response.send_message(self.not_here, ephemeral=True)
            return
        user = self._user(interaction, where)  # rights follow the channel
        if not user.is_moderator:
            await interaction.response.send_message(self.refused, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        if name == "claim" and user.is_moderator and where.thread_id:
            await self._join_thread(int(where.thread_id), interaction.user.id)
        event = convert.command_event(user, where, interaction.id, name, args)
        await self._submit(interaction.user.id, event)
        if user.is_moderator:
            await _quietly(interaction.delete_original_response())

    async def on_panel(self, interaction: discord.Interaction) -> None:
        """/support-panel: a moderator posts the persistent panel in this channel."""
        if not convert.is_moderator(interaction.user, self.settings.role_id):
            await interaction.response.send_message(self.refused, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        channel = interaction.channel
        failed = self.texts.both("panel_failed", error="-")
        if not isinstance(channel, discord.abc.Messageable):
            await interaction.edit_original_response(content=failed)
            return
        try:
            await channel.send(self.words.panel, view=panel_view(self.words))
        except discord.HTTPException as exc:
            failed = self.texts.both("panel_failed", error=exc)
            await interaction.edit_original_response(content=failed)
            return
        await interaction.edit_original_response(content=self.texts.both("panel_posted"))

    # -- modal forms ---------------------------------------------------------------------

    async def on_modal(self, interaction: discord.Interaction) -> None:
        """A submitted modal form → FormSubmitted in the user's DM context."""
        custom_id = interaction.custom_id or ""
        if not custom_id.startswith(FORM_PREFIX):
            return
        user = self._user(interaction)
        chat = await self._private(interaction)
        data: dict[str, Any] = dict(interaction.data or {})
        form_id = custom_id.removeprefix(FORM_PREFIX)
        # screenshots uploaded in the modal: parsed like message attachments; the core
        # fetches them, checks them by content and stores them by hash
        files = convert.modal_files(data, interaction._state, self.settings.max_image_bytes)
        event = convert.form_event(user, chat, interaction.id, form_id, data, files)
        await self._submit(interaction.user.id, event)
        self._after(interaction)


async def _quietly(coro: Awaitable[Any]) -> None:
    try:
        await coro
    except discord.HTTPException as exc:
        log.debug("ignored: %s", exc)
