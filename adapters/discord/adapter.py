"""The Discord adapter: a discord.py Client run inside Kefu's own event loop."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import discord

from adapters.discord import channels
from adapters.discord.commands import build_tree, sync_if_changed
from adapters.discord.delivery import SEND_ERRORS, Delivery, translate
from adapters.discord.pending import SETTLE_AFTER, PendingInteractions
from adapters.discord.render import (
    FILES_PER_UPLOAD_MAX,
    MODAL_INPUTS_MAX,
    MODAL_LABEL_MAX,
    MODAL_TITLE_MAX,
    PLACEHOLDER_MAX,
    TEXT_INPUT_MAX,
    Words,
)
from adapters.discord.router import Router, Settings
from adapters.discord.views import KefuButton, KefuSelect
from bot.config import Config
from bot.ports import EventSink, Rejected, RetryLater
from bot.texts import Texts
from bot.types import (
    Attachment,
    Capabilities,
    ChatKind,
    ChatRef,
    Delivered,
    ModalField,
    ModalLimits,
    ModalSpec,
    Outgoing,
)

log = logging.getLogger(__name__)

PLATFORM = "discord"
THREAD_NAME_MAX = 100  # Discord: a channel or thread name holds at most 100 characters
THREAD_ARCHIVE_MINUTES = 10080  # a week: tickets can wait over a weekend
READY_WAIT = 10.0  # seconds send() waits for the login before asking the outbox to retry
GUILD_READY_TIMEOUT = 2.0  # discord.py's default wait for GUILD_CREATE after READY
MODALS_KEPT = 500
CDN_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})
INTENTS_HELP = (
    "Discord refused the connection (close code 4014, disallowed intents): enable "
    '"Message Content Intent" under Bot → Privileged Gateway Intents in the Discord '
    "Developer Portal. Kefu needs it to relay moderators' messages from ticket threads."
)


class DiscordStartError(RuntimeError):
    """The bot cannot start: a missing token, a rejected token or a missing intent."""


def _id(value: str, key: str) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise DiscordStartError(f"[discord] {key} must be a numeric Discord id, got {value!r}")
    return int(value)


def _channel_roles(config: Config) -> dict[int, int | None]:
    """Every route's moderator channel and who moderates it (rights follow the channel)."""
    default = _id(config.discord.moderator_role_id, "moderator_role_id")
    roles: dict[int, int | None] = {}
    for route in config.routes:
        if route.discord_channel:
            channel = _id(route.discord_channel, "[[route]] discord_channel")
            role = _id(route.discord_role, "[[route]] discord_role") or default
            if channel is not None:
                roles.setdefault(channel, role)
    main = _id(config.discord.moderator_channel_id, "moderator_channel_id")
    if main is not None:
        roles.setdefault(main, default)
    return roles


def _first_channel(config: Config) -> int | None:
    roles = _channel_roles(config)
    return next(iter(roles), None)


def intents() -> discord.Intents:
    """Guilds, guild and DM messages, and the privileged message content."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.dm_messages = True
    wanted.message_content = True
    return wanted


class KefuClient(discord.Client):
    """discord.py's Client wired to Kefu's router."""

    def __init__(
        self, router: Router | None = None, texts: Texts | None = None, **options: Any
    ) -> None:
        super().__init__(
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            chunk_guilds_at_startup=False,
            **options,
        )
        self.kefu_buttons: Router | None = router
        self.kefu_texts = texts or Texts()
        self.kefu_ready = asyncio.Event()
        self.kefu_stamp: Path | None = None
        self.tree: discord.app_commands.CommandTree[Any] | None = None

    async def setup_hook(self) -> None:
        """Register the persistent buttons and menus; sync slash commands if they changed."""
        self.add_dynamic_items(KefuButton, KefuSelect)
        router = self.kefu_buttons
        if router is None or self.kefu_stamp is None:
            return
        self.tree = build_tree(self, router, router.settings.guild_id, self.kefu_texts)
        try:
            await sync_if_changed(
                self.tree, self.application_id, router.settings.guild_id, self.kefu_stamp
            )
        except discord.HTTPException as exc:
            # the commands Discord already has keep working; the next start tries again
            log.warning("could not sync slash commands (%s %s)", exc.status, exc.code)

    async def on_ready(self) -> None:
        """The gateway session is up and the guild is cached."""
        log.info("connected to Discord as %s", self.user)
        if not self.kefu_ready.is_set() and self.kefu_buttons is not None:
            channels.check(self, self.kefu_buttons.settings.roles)
        self.kefu_ready.set()

    async def on_message(self, message: discord.Message) -> None:
        """Every message the bot can see."""
        if self.kefu_buttons is not None:
            await self.kefu_buttons.on_message(message)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        """An edit of a message this process saw (discord.py keeps recent ones)."""
        if self.kefu_buttons is not None:
            await self.kefu_buttons.on_message_edit(before, after)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Modal submissions (buttons and commands are dispatched by discord.py)."""
        if interaction.type is discord.InteractionType.modal_submit and self.kefu_buttons:
            await self.kefu_buttons.on_modal(interaction)


_FIELD_KEYS = tuple(f.name for f in dataclasses.fields(ModalField))


def _spec_to_json(spec: ModalSpec) -> dict[str, Any]:
    fields = [{key: getattr(f, key) for key in _FIELD_KEYS} for f in spec.fields]
    return {"form_id": spec.form_id, "title": spec.title, "fields": fields}


def _spec_from_json(raw: dict[str, Any]) -> ModalSpec:
    # keys this core's ModalField does not know (written by a newer one) are left out
    fields = tuple(
        ModalField(**{k: v for k, v in f.items() if k in _FIELD_KEYS}) for f in raw["fields"]
    )
    return ModalSpec(raw["form_id"], raw["title"], fields)


class DiscordAdapter:
    """Users in DMs and a server, moderators in private ticket threads."""

    platform = PLATFORM
    capabilities = Capabilities(
        modals=ModalLimits(
            max_inputs=MODAL_INPUTS_MAX,
            max_label=MODAL_LABEL_MAX,
            max_title=MODAL_TITLE_MAX,
            max_placeholder=PLACEHOLDER_MAX,
            max_text=TEXT_INPUT_MAX,
            max_files=FILES_PER_UPLOAD_MAX,
        )
    )

    def __init__(
        self,
        config: Config,
        *,
        guild_ready_timeout: float = GUILD_READY_TIMEOUT,
        settle_after: float = SETTLE_AFTER,
        texts: Texts | None = None,
    ) -> None:
        d = config.discord
        self.config = config
        self.texts = texts or Texts()
        words = Words.of(self.texts)
        self.settings = Settings(
            guild_id=_id(d.guild_id, "guild_id"),
            mod_channel_id=_first_channel(config),
            role_id=_id(d.moderator_role_id, "moderator_role_id"),
            roles=_channel_roles(config),
            max_image_bytes=config.bot.max_image_bytes,
        )
        self.client = KefuClient(texts=self.texts, guild_ready_timeout=guild_ready_timeout)
        self.pending = PendingInteractions(settle_after)
        self.modals: dict[str, ModalSpec] = {}
        self.router = Router(self.client, self.settings, self.pending, self.modals, self.texts)
        self.client.kefu_buttons = self.router
        self.client.kefu_stamp = self._state_dir / "commands.sha256"
        # One gateway connection per bot (a lease in the store); sends go over REST from any
        # process once logged in.
        self.intake_lease = "discord:gateway"
        self._login_lock = asyncio.Lock()
        self._logged_in = asyncio.Event()
        self.delivery = Delivery(
            self.client,
            self.pending,
            guild_id=self.settings.guild_id,
            role_id=self.settings.role_id,
            on_modals=self._remember_modals,
            words=words,
        )

    @property
    def _state_dir(self) -> Path:
        return Path(self.config.bot.data_dir) / "discord"

    async def __aenter__(self) -> DiscordAdapter:
        await asyncio.to_thread(self._load_modals)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.pending.aclose()
        if not self.client.is_closed():
            await self.client.close()

    def _token(self) -> str:
        token = self.config.token(self.config.discord.token_env)
        if not token:
            raise DiscordStartError(
                f"set the bot token in the {self.config.discord.token_env} environment variable"
            )
        return token

    async def _login(self) -> None:
        """Log in over REST once (also registers buttons and syncs commands: setup_hook)."""
        async with self._login_lock:
            if self._logged_in.is_set():
                return
            try:
                await self.client.__aenter__()
                await self.client.login(self._token())
            except discord.LoginFailure as exc:
                raise DiscordStartError(
                    f"Discord rejected the token in {self.config.discord.token_env}"
                ) from exc
            self._logged_in.set()

    async def standby(self) -> None:
        """Log in over REST and wait: this process sends while another holds the gateway."""
        await self._login()
        await asyncio.Event().wait()

    async def run(self, sink: EventSink) -> None:
        """Connect to the gateway and receive events until cancelled; raises DiscordStartError
        on bad setup."""
        await self._login()
        self.router.sink = sink
        try:
            await self.client.connect()
        except discord.PrivilegedIntentsRequired as exc:
            raise DiscordStartError(INTENTS_HELP) from exc
        finally:
            self.router.sink = None
            self.client.kefu_ready.clear()
            ws = self.client.ws
            if ws is not None and ws.open:  # the lease moved on: leave the gateway to its holder
                await asyncio.shield(ws.close(code=1000))

    async def _wait_ready(self) -> None:
        """Sends need a REST login, not the gateway (another process may hold it)."""
        try:
            await asyncio.wait_for(self._logged_in.wait(), READY_WAIT)
        except TimeoutError as exc:
            raise RetryLater("not logged in to Discord yet", 5.0) from exc

    async def send(self, out: Outgoing) -> Delivered:
        """Deliver one reply to a DM channel (or user id) or a ticket thread."""
        await self._wait_ready()
        return await self.delivery.send(out)

    async def fetch_attachment(self, attachment: Attachment, max_bytes: int) -> bytes:
        """The bytes of a file a user sent; ValueError when too large or no longer there."""
        if attachment.size is not None and attachment.size > max_bytes:
            raise ValueError(f"attachment is {attachment.size} bytes, above {max_bytes}")
        if not _is_cdn(attachment.ref):
            raise ValueError("attachment is not on Discord's CDN")
        await self._wait_ready()
        try:
            data = await self.client.http.get_from_cdn(attachment.ref)
        except (discord.NotFound, discord.Forbidden) as exc:
            raise ValueError(f"attachment no longer available ({exc.status})") from exc
        if len(data) > max_bytes:
            raise ValueError(f"attachment is {len(data)} bytes, above {max_bytes}")
        return data

    def moderation_chat(self) -> ChatRef | None:
        """The configured moderator channel."""
        if self.settings.mod_channel_id is None:
            return None
        return ChatRef(PLATFORM, str(self.settings.mod_channel_id), ChatKind.MODERATION)

    async def open_thread(self, chat: ChatRef, title: str) -> str:
        """A private thread for one ticket; its first message will mention the moderator role."""
        await self._wait_ready()
        channel_id = int(chat.id)
        try:
            channel = self.client.get_channel(channel_id) or await self.client.fetch_channel(
                channel_id
            )
            if not isinstance(channel, discord.TextChannel):
                raise Rejected(f"moderator channel {channel_id} is not a text channel")
            thread = await channel.create_thread(
                name=title[:THREAD_NAME_MAX] or "ticket",
                type=discord.ChannelType.private_thread,
                invitable=False,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except SEND_ERRORS as exc:
            raise translate(exc, thread=False) from exc
        self.delivery.announce[thread.id] = self.settings.role_for(chat)
        return str(thread.id)

    # -- modal forms survive restarts --------------------------------------------------------

    def _load_modals(self) -> None:
        path = self._state_dir / "modals.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            self.modals.update({k: _spec_from_json(v) for k, v in raw.items()})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.debug("no stored modal forms: %s", exc)

    async def _remember_modals(self, modals: dict[str, ModalSpec]) -> None:
        if all(self.modals.get(k) == v for k, v in modals.items()):
            return
        self.modals.update(modals)
        for key in list(self.modals)[: max(0, len(self.modals) - MODALS_KEPT)]:
            del self.modals[key]
        snapshot = {k: _spec_to_json(v) for k, v in self.modals.items()}
        await asyncio.to_thread(self._store_modals, snapshot)

    def _store_modals(self, snapshot: dict[str, Any]) -> None:
        path = self._state_dir / "modals.json"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(snapshot, ensure_ascii=False), encoding="utf-8")
        except OSError as exc:
            log.warning("cannot store modal forms in %s: %s", path, exc.strerror)


def _is_cdn(url: str) -> bool:
    """Only Discord's CDN (or the API host, as in tests) is fetched: the ref is not trusted."""
    parts = urlsplit(url)
    api = urlsplit(discord.http.Route.BASE)
    if parts.scheme == "https" and parts.hostname in CDN_HOSTS:
        return True
    return (parts.scheme, parts.netloc) == (api.scheme, api.netloc)
