"""The fake Bot API server itself: the HTTP app and its routing, the file server, webhook
delivery, and the wait that tests and long polls share.

FakeTelegram puts together the state (state.py), the method handlers (methods.py), what tests
inject and read (updates.py) and the faults (faults.py). Requests go: token check → the
method's handler (unknown methods answer 404 and are recorded in `unknown`) → a hold() gate →
a fault, before or after the method acts → the answer; an exception inside the fake answers 500
and is recorded in `errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from tests.helpers.fake_telegram.faults import ACTS_FIRST, Fault, FaultInjection
from tests.helpers.fake_telegram.flood import FloodControl
from tests.helpers.fake_telegram.methods import BotApiMethods
from tests.helpers.fake_telegram.state import Call, Chat, Sent
from tests.helpers.fake_telegram.updates import PeopleAndUpdates
from tests.helpers.fake_telegram.wire import ApiError, answer, read_params
from tests.helpers.loopback import serve

TOKEN = "123:TEST"
MODERATOR_CHAT_ID = -100123
BOT_USERNAME = "kefu_test_bot"
METHODS = (
    "getMe", "getUpdates", "deleteWebhook", "setWebhook", "getWebhookInfo", "setMyCommands",
    "sendMessage", "editMessageText", "editMessageCaption", "editMessageReplyMarkup",
    "answerCallbackQuery", "sendPhoto", "sendDocument", "sendMediaGroup", "copyMessage",
    "getFile", "createForumTopic", "getChat", "getChatAdministrators", "getChatMember",
    "deleteMessage",
    "sendChatAction", "closeForumTopic",
)  # fmt: skip


class FakeTelegram(BotApiMethods, PeopleAndUpdates, FaultInjection):
    """The fake Bot API server; use `async with FakeTelegram() as fake:`."""

    def __init__(
        self,
        token: str = TOKEN,
        moderator_chat_id: int = MODERATOR_CHAT_ID,
        bot_username: str = BOT_USERNAME,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.moderator_chat_id = moderator_chat_id
        self.chats: dict[int, Chat] = {}
        self.messages: dict[tuple[int, int], Sent] = {}
        self.sent: list[Sent] = []
        self.calls: list[Call] = []
        self.unknown: list[str] = []
        self.errors: list[str] = []  # exceptions inside the fake itself (answered 500)
        self.url_uploads: list[str] = []
        self.updates: list[dict[str, Any]] = []
        self.pushed: dict[int, dict[str, Any]] = {}  # every update by id, also once confirmed
        self.confirmed_offset = 0
        self.callbacks: dict[str, dict[str, Any]] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status)
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id → (file_path, bytes)
        self.faults: dict[str, deque[Fault]] = {}
        self.flood = FloodControl()  # Telegram's flood limits, none until a test sets them
        self.port = 0
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(700_000_001)
        self._poll_generation = 0
        self._event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._holds: dict[str, asyncio.Event] = {}
        self._hold_acts: dict[str, bool] = {}
        self.held: list[Call] = []  # requests waiting at a hold() gate
        self.polls_waiting = 0  # getUpdates calls currently long-polling
        group = Chat(moderator_chat_id, "supergroup", "Kefu moderators", forum=True)
        group.members[self.bot_id] = "administrator"
        self.chats[moderator_chat_id] = group
        self._handlers: dict[str, Callable[..., Any]] = {
            name.lower(): getattr(self, f"_m_{name}") for name in METHODS
        }

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner, self.port = await serve(app, access_log=None, shutdown_timeout=0.1)
        self._pusher = asyncio.create_task(self._push_webhook())
        return self

    async def __aexit__(self, *exc: object) -> None:
        tasks = [t for t in (self._pusher, *self._in_flight.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """For ApplicationBuilder.base_url / [telegram] base_url."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For ApplicationBuilder.base_file_url / [telegram] base_file_url."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    def bot_wire(self) -> dict[str, Any]:
        """The bot's own User object."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Kefu",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def _wait(self, seconds: float) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(seconds, 0))

    async def wait_for(self, predicate: Callable[[], Any], within: float = 5.0) -> Any:
        """Wait until `predicate()` is truthy (re-checked on every request); return its value."""
        deadline = time.monotonic() + within
        while True:
            value = predicate()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"condition not met within {within} s")
            await self._wait(min(left, 0.1))

    # ---------------------------------------------------------------- wire

    async def _api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return answer(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        handler = self._handlers.get(method.lower())
        if handler is None:
            self.unknown.append(method)
            return answer(ApiError(404, "Not Found"))
        params, files = await read_params(request)
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        dropped = await self._gate(request, call)
        if dropped is not None:
            return dropped
        fault = self._take_fault(method, params)
        if fault and fault.kind not in ACTS_FIRST:
            return await self._strike(request, fault)
        try:
            self.flood.check(method, params)
            result: Any = await handler(params, files)
        except ApiError as exc:
            response = answer(exc)
        except Exception as exc:  # a bug in the fake, or a request it cannot read
            self.errors.append(f"{method}: {exc!r}")
            response = answer(ApiError(500, "Internal Server Error"))
        else:
            response = web.json_response({"ok": True, "result": result})
        self._notify()
        if fault:
            return await self._strike(request, fault)
        return response

    # ---------------------------------------------------------------- the file server

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        for file_path, data in self.files.values():
            if file_path == path:
                return web.Response(body=data, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    # ---------------------------------------------------------------- webhook delivery

    async def _push_webhook(self) -> None:
        """Deliver pending updates to the webhook like Telegram: in parallel, retried."""
        async with ClientSession(timeout=ClientTimeout(total=30)) as session:
            while True:
                hook = self.webhook
                for update in list(self.updates) if hook else []:
                    uid = update["update_id"]
                    if uid in self._in_flight or len(self._in_flight) >= hook["max_connections"]:
                        continue
                    self._in_flight[uid] = asyncio.create_task(
                        self._deliver(session, hook, update)
                    )
                await self._wait(0.2)

    async def _deliver(
        self, session: ClientSession, hook: dict[str, Any], update: dict[str, Any]
    ) -> None:
        headers = {}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        uid = update["update_id"]
        try:
            async with session.post(hook["url"], json=update, headers=headers) as resp:
                status = resp.status
        except (ClientError, TimeoutError):
            status = 0
        self.webhook_deliveries.append((uid, status))
        if status == 200:
            self.updates = [u for u in self.updates if u["update_id"] != uid]
        else:
            await asyncio.sleep(0.3)  # Telegram retries failed deliveries after a while
        self._in_flight.pop(uid, None)
        self._notify()
