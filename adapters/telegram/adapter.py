"""TelegramAdapter: the Application's lifecycle inside Kefu's event loop, intake and delivery."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from telegram import Bot, Chat, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from adapters.telegram import groups
from adapters.telegram.commands import register_commands
from adapters.telegram.convert import PLATFORM, Context, album_key, convert
from adapters.telegram.errors import delivery_error
from adapters.telegram.intake import Albums
from adapters.telegram.polling import ALLOWED_UPDATES, Poller
from adapters.telegram.render import topic_name
from adapters.telegram.sender import Sender
from adapters.telegram.webhook import WebhookServer
from bot.config import Config, TelegramConfig
from bot.ports import EventSink, Rejected
from bot.texts import Texts
from bot.types import Attachment, Capabilities, ChatKind, ChatRef, Delivered, Outgoing

log = logging.getLogger(__name__)
GROUPS_NOTED = 100  # other groups named in the log, at most (a bot may be added anywhere)

ADMIN_TTL = 60.0  # seconds getChatAdministrators is trusted
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # Bot API: setWebhook secret_token
# Loggers that may print the token (URLs at DEBUG); httpx logs every URL at INFO.
_TOKEN_LOGGERS = ("httpx", "telegram.Bot", "telegram.ext.ExtBot", "telegram.ext.Application")


class _LogGuard(logging.Filter):
    """Masks the token in log records; demotes the rate limiter's expected 429 tracebacks."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops one."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: logging reports it itself
            return True
        if self._token in message:
            record.msg, record.args = message.replace(self._token, "<token>"), None
        if record.name.endswith("AIORateLimiter") and record.levelno >= logging.ERROR:
            # max_retries=0 on purpose: the outbox honours retry_after, this is no error.
            record.levelno, record.levelname, record.exc_info = logging.INFO, "INFO", None
        return True


def build_application(tg: TelegramConfig, token: str) -> Application[Any, Any, Any, Any, Any, Any]:
    """The Application: our own update loop (no Updater), base URLs and rate limiter as set."""
    builder = ApplicationBuilder().token(token).updater(None)
    if tg.base_url:
        builder = builder.base_url(tg.base_url)
    if tg.base_file_url:
        builder = builder.base_file_url(tg.base_file_url)
    if tg.rate_limit:
        # The bot's 30 requests a second for every call. Each chat's and group's budget is
        # the outbox's to keep (bot.flood): it waits for a send's slot before the send, which
        # lets a ticket's relays be packed meanwhile, and keeps admin lookups out of the
        # queue of sends. 429s are not retried inside PTB: they reach the outbox as
        # RetryLater(retry_after).
        builder = builder.rate_limiter(AIORateLimiter(group_max_rate=0, max_retries=0))
    return builder.build()


class AdminCache:
    """The moderator group's administrators, fetched with getChatAdministrators every 60 s."""

    def __init__(self, bot: Bot, chat_id: int, ttl: float = ADMIN_TTL) -> None:
        self._bot, self._chat_id, self._ttl = bot, chat_id, ttl
        self._ids: frozenset[int] | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def is_admin(self, user_id: int) -> bool:
        """Whether the user administers the group (a stale list is used if Telegram fails)."""
        async with self._lock:
            if self._ids is None or time.monotonic() - self._at > self._ttl:
                await self._refresh()
        return self._ids is not None and user_id in self._ids

    async def _refresh(self) -> None:
        try:
            admins = await self._bot.get_chat_administrators(self._chat_id)
        except TelegramError:
            if self._ids is None:
                raise  # no answer at all: the update is retried rather than misjudged
            log.warning("getChatAdministrators failed; using the list from before")
            return
        self._ids = frozenset(m.user.id for m in admins)
        self._at = time.monotonic()


class TelegramAdapter:
    """Kefu on Telegram: implements bot.ports Adapter and ModerationSurface."""

    platform = PLATFORM
    capabilities = Capabilities()  # no modal dialogs; a forum topic per ticket

    def __init__(
        self,
        config: Config,
        *,
        album_delay: float = 1.0,
        poll_timeout: int = 30,
        admin_ttl: float = ADMIN_TTL,
        texts: Texts | None = None,
    ) -> None:
        self._config = config
        self._texts = texts or Texts()
        self._tg = config.telegram
        groups = [c.id for c in config.route_table().all_chats() if c.platform == PLATFORM]
        self._mod_chats = tuple(int(g) for g in groups)  # every route's groups, in order
        self._groups_noted: set[int] = set()  # other groups whose id the log has named
        self._album_delay, self._poll_timeout, self._admin_ttl = (
            album_delay,
            poll_timeout,
            admin_ttl,
        )
        self._stack = AsyncExitStack()
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._sender: Sender | None = None
        self._admins: dict[int, AdminCache] = {}  # rights are per group: each its own list
        self._albums: Albums | None = None
        self._poller: Poller | None = None
        self._sink: EventSink | None = None
        self.webhook_port: int | None = None  # the bound port once the webhook receiver runs
        # Only one getUpdates caller per bot (Telegram answers the others 409 Conflict); a
        # webhook reaches every process behind its address.
        self.intake_lease = "telegram:getUpdates" if self._tg.mode == "polling" else ""

    @property
    def bot(self) -> Bot:
        """The initialized Bot (after `async with`)."""
        if self._app is None:
            raise RuntimeError("use `async with adapter:` first")
        bot: Bot = self._app.bot
        return bot

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> TelegramAdapter:
        token = self._config.token(self._tg.token_env)
        if not token:
            raise RuntimeError(f"no bot token: set the environment variable {self._tg.token_env}")
        self._check_webhook_config()
        guard = _LogGuard(token)
        logging.getLogger("httpx").setLevel(logging.WARNING)
        for name in (*_TOKEN_LOGGERS, "telegram.ext.AIORateLimiter"):
            logging.getLogger(name).addFilter(guard)
            self._stack.callback(logging.getLogger(name).removeFilter, guard)
        try:
            self._app = await self._stack.enter_async_context(build_application(self._tg, token))
            bot = self._app.bot
            self._sender = Sender(bot)
            self._admins = {g: AdminCache(bot, g, self._admin_ttl) for g in self._mod_chats}
            await register_commands(bot, self._mod_chats, self._texts)
            await groups.check(bot, self._mod_chats)
            if self._tg.mode == "polling":
                await bot.delete_webhook(drop_pending_updates=False)
        except BaseException:
            await self._stack.aclose()
            raise
        log.info("telegram: signed in as @%s", bot.username)
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._poller is not None:
                await asyncio.wait_for(self._poller.confirm(), 5.0)
        except TimeoutError:
            log.warning("could not confirm the last updates; they will be delivered again")
        finally:
            await self._stack.aclose()

    def _check_webhook_config(self) -> None:
        if self._tg.mode != "webhook":
            return
        secret = self._config.token(self._tg.secret_token_env)
        if not self._tg.webhook_url:
            raise RuntimeError("[telegram] mode = webhook needs webhook_url")
        if not _SECRET.fullmatch(secret):
            raise RuntimeError(
                f"webhook mode needs a secret token (1-256 of A-Z a-z 0-9 _ -) in the "
                f"environment variable {self._tg.secret_token_env}"
            )

    # ------------------------------------------------------------------ intake

    async def run(self, sink: EventSink) -> None:
        """Receive updates until cancelled; each goes to `sink` before it is confirmed."""
        self._sink = sink
        self._albums = Albums(sink, self._album_delay)
        try:
            if self._tg.mode == "webhook":
                await self._run_webhook()
            else:
                self._poller = Poller(self.bot, self._take, timeout=self._poll_timeout)
                await self._poller.run()
        finally:
            await self._albums.close()

    async def standby(self) -> None:
        """Sends need nothing more than the Bot set up on entry: wait until cancelled."""
        await asyncio.Event().wait()

    async def _run_webhook(self) -> None:
        secret = self._config.token(self._tg.secret_token_env)
        path = urlsplit(self._tg.webhook_url).path or "/"
        server = WebhookServer(self._tg.listen, self._tg.port, path, secret, self._take_json)
        async with server:
            self.webhook_port = server.port
            await self.bot.set_webhook(
                url=self._tg.webhook_url,
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
            await asyncio.Event().wait()  # serve until cancelled

    async def _take_json(self, data: dict[str, Any]) -> None:
        """A webhook update: answered 200 only once handed over (albums: once flushed)."""
        update = Update.de_json(data, self.bot)
        pending = await self._take(update)
        if pending is not None:
            await pending

    async def _take(self, update: Update) -> asyncio.Future[None] | None:
        """Hand one update to the sink; an album part returns the future of its album."""
        if update.callback_query is not None:
            await self._answer(update.callback_query.id)
        ctx = await self._context(update)
        try:
            event = convert(update, ctx)
        except Exception:  # a shape we cannot read must not block the updates behind it
            log.exception("update %d could not be read; skipped", update.update_id)
            return None
        if event is None:
            self._note_unknown_group(update)
        if event is None or self._sink is None or self._albums is None:
            return None
        chat = f"{event.chat.id}:{event.chat.thread_id}"
        key = album_key(update)
        if key is not None:
            return self._albums.add(key, chat, event)
        await self._albums.flush_chat(chat)
        await self._sink(event)
        return None

    def _note_unknown_group(self, update: Update) -> None:
        """Say once, in the log, the id of a group the bot is in that is not the moderator
        group: setting up, that is how to learn `moderator_chat_id`."""
        chat = update.effective_chat
        if chat is None or chat.type == Chat.PRIVATE or chat.id in self._mod_chats:
            return
        if chat.id in self._groups_noted or len(self._groups_noted) >= GROUPS_NOTED:
            return
        self._groups_noted.add(chat.id)
        log.warning(
            "a message in the group %r (id %d), which is not a moderator group: Kefu ignores "
            "it. To make it the moderators' forum group, set [telegram] moderator_chat_id = %d",
            chat.title or "", chat.id, chat.id,
        )  # fmt: skip

    async def _answer(self, query_id: str) -> None:
        # "CallbackQueries need to be answered, even if no notification to the user is
        # needed" (PTB): at once, before the work, or the client shows a spinner.
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as exc:  # too old (e.g. redelivered after a restart): fine
            log.info("callback query not answered: %s", exc.message)

    async def _context(self, update: Update) -> Context:
        bot = self.bot
        user, chat = update.effective_user, update.effective_chat
        is_moderator = False
        if user is not None and chat is not None and chat.id in self._admins:
            if not self._tg.admins_only:
                is_moderator = True  # every member of that moderator group
            else:  # an administrator of this group: rights follow the group
                is_moderator = await self._admins[chat.id].is_admin(user.id)
        return Context(bot.id, bot.username, frozenset(self._mod_chats), is_moderator)

    # ------------------------------------------------------------------ delivery

    async def send(self, out: Outgoing) -> Delivered:
        """Deliver one reply; raises RetryLater, Unreachable, ThreadGone or Rejected."""
        if self._sender is None:
            raise RuntimeError("use `async with adapter:` first")
        return await self._sender.send(out)

    async def fetch_attachment(self, attachment: Attachment, max_bytes: int) -> bytes:
        """The file's bytes through getFile; ValueError when larger than `max_bytes`."""
        _check_size(attachment.size, max_bytes)
        try:
            file = await self.bot.get_file(attachment.ref)
            _check_size(file.file_size, max_bytes)
            data = bytes(await file.download_as_bytearray())
        except BadRequest as exc:  # invalid file id, or over the 20 MB download limit
            raise Rejected("file not available from Telegram") from exc
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        _check_size(len(data), max_bytes)
        return data

    def moderation_chat(self) -> ChatRef | None:
        """The first configured forum supergroup."""
        if not self._mod_chats:
            return None
        return ChatRef(PLATFORM, str(self._mod_chats[0]), ChatKind.MODERATION)

    async def open_thread(self, chat: ChatRef, title: str) -> str:
        """createForumTopic in the moderator group; returns the topic's message_thread_id."""
        try:
            topic = await self.bot.create_forum_topic(chat_id=int(chat.id), name=topic_name(title))
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        return str(topic.message_thread_id)


def _check_size(size: int | None, max_bytes: int) -> None:
    if size is not None and size > max_bytes:
        raise ValueError(f"file of {size} bytes is over the limit of {max_bytes}")
