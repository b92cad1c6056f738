"""A fake Discord on loopback: the REST routes and gateway events Kefu's adapter uses.

The real discord.py is pointed at it by patching `discord.http.Route.BASE` (every REST call,
interaction callbacks and webhook follow-ups included) and
`discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY` (a plain Client never asks GET /gateway/bot).
Unknown endpoints answer 404 and are recorded, so a test can fail on them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import discord
import yarl
from aiohttp import web

API = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000
Handler = Callable[[web.Request, dict[str, Any]], Awaitable[web.StreamResponse]]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    """A JSON answer with the exact Content-Type discord.py checks for (no charset)."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error(status: int, code: int, message: str) -> web.Response:
    """A Discord error body."""
    return json_response({"message": message, "code": code}, status)


@dataclass
class Fault:
    """The next `times` calls of `method path` fail as `kind` (429, 500, 50007, 10003)."""

    method: str
    path: re.Pattern[str]
    times: int
    kind: str
    retry_after: float = 0.05


@dataclass
class Interaction:
    """What the bot did with one interaction: callback types, the original, follow-ups."""

    id: int
    token: str
    channel_id: int
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    original: dict[str, Any] | None = None
    original_deleted: bool = False
    followups: list[dict[str, Any]] = field(default_factory=list)

    @property
    def types(self) -> list[int]:
        """The callback types in order (5 deferred message, 6 deferred update, 9 modal...)."""
        return [c["type"] for c in self.callbacks]


class FakeDiscord:
    """A tiny Discord: one guild, a moderator channel, users, DMs, threads and a gateway."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self.app_id = self.snowflake()
        self.bot = user_payload(self.app_id, "kefu", bot=True)
        self.guild_id = self.snowflake()
        self.mod_role_id = self.snowflake()
        self.mod_channel_id = self.snowflake()
        self.general_id = self.snowflake()
        self.premium_tier = 0
        self.users: dict[int, dict[str, Any]] = {self.app_id: self.bot}
        self.roles: dict[int, list[int]] = {self.app_id: []}
        self.channels: dict[int, dict[str, Any]] = {}
        for cid, name in ((self.mod_channel_id, "moderators"), (self.general_id, "general")):
            self.channels[cid] = channel_payload(cid, self.guild_id, name)
        self.messages: dict[int, list[dict[str, Any]]] = {}
        self.dm_of: dict[int, int] = {}  # user id → DM channel id
        self.dms_closed: set[int] = set()
        self.thread_members: dict[int, set[int]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}  # "global" or guild id → commands
        self.interactions: dict[int, Interaction] = {}
        self.cdn: dict[str, tuple[bytes, str]] = {}
        self.requests: list[tuple[str, str]] = []
        self.unknown: list[tuple[str, str]] = []
        self.invalid: list[tuple[str, list[str]]] = []  # (path, problems) of refused payloads
        self.faults: list[Fault] = []
        self.identify_close_code: int | None = None
        self.locale = "en-US"  # the Discord client language of every user
        self.identified: list[dict[str, Any]] = []
        self._nonces: dict[tuple[int, str], dict[str, Any]] = {}
        self.mentions_allowed: dict[str, Any] = {}  # message id → its allowed_mentions
        self._sockets: list[web.WebSocketResponse] = []
        self._seq = 0
        self.connected = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base = ""

    # -- ids and people ----------------------------------------------------------------

    def snowflake(self) -> int:
        """A fresh id whose timestamp part is now (discord.py derives times from ids)."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._counter) & 0x3FFFFF)

    def add_user(self, name: str, *, moderator: bool = False) -> dict[str, Any]:
        """A guild member; moderators hold the moderator role."""
        user = user_payload(self.snowflake(), name)
        self.users[int(user["id"])] = user
        self.roles[int(user["id"])] = [self.mod_role_id] if moderator else []
        return user

    def member(self, user_id: int) -> dict[str, Any]:
        """The member payload of a user, with their roles."""
        return member_payload(self.users[user_id], self.roles.get(user_id, []))

    def guild(self) -> dict[str, Any]:
        """The GUILD_CREATE payload: every member, channel, active thread, the roles."""
        members = [self.member(uid) for uid in self.users]
        channels = [c for c in self.channels.values() if c["type"] == 0]
        threads = [c for c in self.channels.values() if c["type"] in (11, 12)]
        return guild_payload(
            self.guild_id, self.mod_role_id, members, channels, threads, self.premium_tier
        )

    def dm_channel(self, user_id: int) -> int:
        """The DM channel id between the bot and a user, created on first use."""
        if user_id not in self.dm_of:
            cid = self.snowflake()
            self.dm_of[user_id] = cid
            self.channels[cid] = {"id": str(cid), "type": 1, "recipients": [self.users[user_id]]}
        return self.dm_of[user_id]

    def add_file(self, name: str, data: bytes, content_type: str) -> dict[str, Any]:
        """Put bytes on the fake CDN and return the attachment payload that points there."""
        aid = self.snowflake()
        path = f"/cdn/attachments/{aid}/{name}"
        self.cdn[path] = (data, content_type)
        return attachment_payload(aid, name, len(data), self.base + path, content_type)

    def fetch(self, url: str) -> bytes:
        """The bytes behind an attachment URL of this fake."""
        return self.cdn[yarl.URL(url).path][0]

    def sent(self, channel_id: int | str) -> list[dict[str, Any]]:
        """Messages in a channel, oldest first."""
        return self.messages.get(int(channel_id), [])

    def threads(self) -> list[dict[str, Any]]:
        """Every thread created in the moderator channel."""
        return [c for c in self.channels.values() if c["type"] in (11, 12)]

    def fail(self, method: str, path: str, kind: str, times: int = 1, **kw: Any) -> None:
        """Make the next `times` calls matching `method` and the `path` regex fail."""
        self.faults.append(Fault(method, re.compile(path), times, kind, **kw))

    # -- server lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a loopback port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/{tail:.*}", self._cdn)
        app.router.add_route("*", API + "/{tail:.*}", self._api)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"

    @property
    def ws_url(self) -> str:
        """The gateway address, also sent as resume_gateway_url."""
        return self.base.replace("http://", "ws://") + "/gateway"

    async def stop(self) -> None:
        """Close sockets and the server."""
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- gateway -----------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}})
        async for msg in ws:
            payload = json.loads(msg.data)
            await self._on_op(ws, payload["op"], payload.get("d"))
        if ws in self._sockets:
            self._sockets.remove(ws)
        return ws

    async def _on_op(self, ws: web.WebSocketResponse, op: int, data: Any) -> None:
        if op == 1:
            await ws.send_json({"op": 11})
        elif op == 2:
            self.identified.append(data)
            if self.identify_close_code is not None:
                await ws.close(code=self.identify_close_code, message=b"Disallowed intent(s).")
                return
            self._sockets.append(ws)
            ready = {
                "v": 10,
                "user": self.bot,
                "guilds": [{"id": str(self.guild_id), "unavailable": True}],
                "session_id": "fake-session",
                "resume_gateway_url": self.ws_url,
                "application": {"id": str(self.app_id), "flags": 0},
                "private_channels": [],
            }
            await self._send(ws, "READY", ready)
            await self._send(ws, "GUILD_CREATE", self.guild())
            self.connected.set()
        elif op == 6:
            self._sockets.append(ws)
            await self._send(ws, "RESUMED", {})

    async def _send(self, ws: web.WebSocketResponse, event: str, data: Any) -> None:
        self._seq += 1
        await ws.send_json({"op": 0, "t": event, "s": self._seq, "d": data})

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH event to every connected client."""
        for ws in list(self._sockets):
            await self._send(ws, event, data)

    async def disconnect(self) -> None:
        """Drop every gateway connection (a restart of the bot follows in tests)."""
        self.connected.clear()
        for ws in list(self._sockets):
            self._sockets.remove(ws)
            await ws.close()

    # -- REST --------------------------------------------------------------------------

    async def _cdn(self, request: web.Request) -> web.Response:
        item = self.cdn.get(request.path)
        if item is None:
            return web.Response(status=404)
        return web.Response(body=item[0], headers={"Content-Type": item[1]})

    async def _api(self, request: web.Request) -> web.StreamResponse:
        path = request.path.removeprefix(API)
        self.requests.append((request.method, path))
        fault = self._fault(request.method, path)
        if fault is not None:
            return fault
        body = await _read_body(request)
        problems = payload_problems(body)
        if problems:
            # Discord refuses a component payload it cannot show: 400 Invalid Form Body
            self.invalid.append((path, problems))
            return error(400, 50035, "Invalid Form Body")
        for method, pattern, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if method == request.method and match:
                return await handler(request, {"_body": body, **match.groupdict()})
        self.unknown.append((request.method, path))
        return error(404, 0, "404: Not Found")

    def _fault(self, method: str, path: str) -> web.Response | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and fault.path.fullmatch(path):
                fault.times -= 1
                return _fault_response(fault)
        return None

    def _routes(self) -> list[tuple[str, str, Handler]]:
        n = r"(?P<%s>\d+)"
        tok = r"(?P<token>[^/]+)"
        return [
            ("GET", "/users/@me", self._me),
            ("GET", "/oauth2/applications/@me", self._application),
            ("GET", rf"/applications/{n % 'app'}(/guilds/{n % 'guild'})?/commands", self._cmds),
            ("PUT", rf"/applications/{n % 'app'}(/guilds/{n % 'guild'})?/commands", self._cmds),
            ("GET", rf"/channels/{n % 'channel'}", self._get_channel),
            ("POST", rf"/channels/{n % 'channel'}/messages", self._create_message),
            ("PATCH", rf"/channels/{n % 'channel'}/messages/{n % 'message'}", self._edit),
            ("POST", rf"/channels/{n % 'channel'}/threads", self._create_thread),
            ("PUT", rf"/channels/{n % 'channel'}/thread-members/{n % 'user'}", self._join),
            ("POST", "/users/@me/channels", self._open_dm),
            ("POST", rf"/interactions/{n % 'interaction'}/{tok}/callback", self._callback),
            ("POST", rf"/webhooks/{n % 'app'}/{tok}", self._followup),
            ("PATCH", rf"/webhooks/{n % 'app'}/{tok}/messages/@original", self._edit_original),
            ("DELETE", rf"/webhooks/{n % 'app'}/{tok}/messages/@original", self._del_original),
        ]

    # -- REST handlers (params: path groups and "_body") ---------------------------------

    async def _me(self, request: web.Request, p: dict[str, Any]) -> web.Response:
        return json_response(self.bot)

    async def _application(self, request: web.Request, p: dict[str, Any]) -> web.Response:
        owner = user_payload(self.snowflake(), "owner")
        return json_response({"id": str(self.app_id), "name": "Kefu", "description": "",
                              "icon": None, "bot_public": False, "bot_require_code_grant": False,
                              "owner": owner, "verify_key": "0" * 64, "flags": 0})  # fmt: skip

    async def _cmds(self, request: web.Request, p: dict[str, Any]) -> web.Response:
        key = p.get("guild") or "global"
        if request.method == "PUT":
            commands = p["_body"].get("_list", [])
            for c in commands:
                c.update(id=str(self.snowflake()), application_id=str(self.app_id), version="1")
                if key != "global":
                    c["guild_id"] = key
            self.commands[key] = commands
        return json_response(self.commands.get(key, []))

    async def _get_channel(self, request: web.Request, p: dict[str, Any]) -> web.Response:
        channel = self.channels.get(int(p["channel"]))
        return json_response(channel) if channel else error(404, 10003, "Unknown Channel")

    async def _create_message(self, request: web.Request, p: dict[str, Any]) -> web.Response:
        cid = int(p["channel"])
        channel = self.channels.get(cid)
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        recipients = channel.get("recipients", [])
        if recipients and int(recipients[0]["id"]) in self.dms_closed:
            return error(403, 50007, "Cannot send messages to this user")
        return json_response(self.post_message(cid, self.bot, p["_body"]))

    async def _edit(self, request: web.Request, p: dict[str, Any]) -> web.Response:
        for message in self.sent(p["channel"]):
            if message["id"] == p["message"]:
                _apply_edit(message, p["_body"])
                return json_response(message)
        return error(404, 10008, "Unknown Message")

    async def _create_thread(self, request: web.Request, p: dict[str, Any]) -> web.Response:
        body = p["_body"]
        thread = self.new_thread(int(p["channel"]), body["name"], body.get("type", 11))
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return json_response(thread, 201)

    async def _join(self, request: web.Request, p: dict[str, Any]) -> web.Response:
        tid = int(p["channel"])
        if tid not in self.channels:
            return error(404, 10003, "Unknown Channel")
        self.thread_members.setdefault(tid, set()).add(int(p["user"]))
        return web.Response(status=204)

    async def _open_dm(self, request: web.Request, p: dict[str, Any]) -> web.Response:
        uid = int(p["_body"]["recipient_id"])
        if uid not in self.users:
            return error(400, 50033, "Invalid Recipient(s)")
        channel = self.channels[self.dm_channel(uid)]
        return json_response({**channel, "last_message_id": None})

    async def _callback(self, request: web.Request, p: dict[str, Any]) -> web.Response:
        record = self.interactions.get(int(p["interaction"]))
        if record is None or record.token != p["token"]:
            return error(404, 10062, "Unknown interaction")
        if record.callbacks:
            return error(400, 40060, "Interaction has already been acknowledged.")
        body = p["_body"]
        record.callbacks.append(body)
        kind, data = body["type"], body.get("data") or {}
        resource: dict[str, Any] = {"type": kind}
        if kind in (4, 5):
            extra = {"_files": body.get("_files", []), **data}
            record.original = self._webhook_message(record, extra, loading=kind == 5)
            resource["message"] = record.original
        info = {"id": str(record.id), "type": 3, "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(data.get("flags", 0) & 64)}  # fmt: skip
        if record.original:
            info["response_message_id"] = record.original["id"]
        return json_response({"interaction": info, "resource": resource})

    def _by_token(self, token: str) -> Interaction | None:
        return next((i for i in self.interactions.values() if i.token == token), None)

    def _webhook_message(
        self, record: Interaction, body: dict[str, Any], *, loading: bool = False
    ) -> dict[str, Any]:
        flags = int(body.get("flags", 0)) | (128 if loading else 0)
        self_msg = self.post_message(record.channel_id, self.bot, body, flags=flags,
                                     webhook_id=str(self.app_id))  # fmt: skip
        self.messages[record.channel_id].remove(self_msg)  # interaction replies are not posts
        return self_msg

    async def _followup(self, request: web.Request, p: dict[str, Any]) -> web.Response:
        record = self._by_token(p["token"])
        if record is None:
            return error(404, 10015, "Unknown Webhook")
        message = self._webhook_message(record, p["_body"])
        record.followups.append(message)
        return json_response(message)

    async def _edit_original(self, request: web.Request, p: dict[str, Any]) -> web.Response:
        record = self._by_token(p["token"])
        if record is None or record.original is None or record.original_deleted:
            return error(404, 10008, "Unknown Message")
        _apply_edit(record.original, p["_body"], self)
        record.original["flags"] = int(record.original["flags"]) & ~128
        return json_response(record.original)

    async def _del_original(self, request: web.Request, p: dict[str, Any]) -> web.Response:
        record = self._by_token(p["token"])
        if record is None or record.original is None:
            return error(404, 10008, "Unknown Message")
        record.original_deleted = True
        return web.Response(status=204)

    # -- what tests inject -----------------------------------------------------------------

    async def user_says(
        self, user: dict[str, Any], content: str, files: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """A user's DM to the bot."""
        cid = self.dm_channel(int(user["id"]))
        message = message_payload(self.snowflake(), cid, user, content, attachments=files or [])
        self.messages.setdefault(cid, []).append(message)
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    async def member_says(
        self, user: dict[str, Any], channel_id: int, content: str,
        files: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A member's message in a guild channel or thread."""
        member = self.member(int(user["id"]))
        member = {k: v for k, v in member.items() if k != "user"}
        message = message_payload(self.snowflake(), channel_id, user, content,
                                  guild_id=self.guild_id, member=member,
                                  attachments=files or [])  # fmt: skip
        self.messages.setdefault(channel_id, []).append(message)
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    def _interaction(
        self, user: dict[str, Any], kind: int, data: dict[str, Any], channel_id: int,
        message: dict[str, Any] | None = None,
    ) -> tuple[Interaction, dict[str, Any]]:  # fmt: skip
        iid = self.snowflake()
        record = Interaction(iid, f"tok-{iid}", channel_id)
        self.interactions[iid] = record
        channel = self.channels[channel_id]
        payload: dict[str, Any] = {
            "id": str(iid), "application_id": str(self.app_id), "type": kind, "data": data,
            "channel_id": str(channel_id), "channel": channel, "token": record.token,
            "version": 1, "locale": self.locale, "app_permissions": "2251799813685247",
            "entitlements": [], "attachment_size_limit": 10485760,
        }  # fmt: skip
        if channel["type"] == 1:
            payload.update(user=user, context=1)
            payload["authorizing_integration_owners"] = {"0": str(self.guild_id)}
        else:
            payload.update(guild_id=str(self.guild_id), member=self.member(int(user["id"])))
            payload.update(guild_locale="en-US", context=0)
            payload["authorizing_integration_owners"] = {"0": str(self.guild_id)}
        if message is not None:
            payload["message"] = message
        return record, payload

    async def press(
        self, user: dict[str, Any], message: dict[str, Any], label: str
    ) -> Interaction:
        """Press the button labelled `label` (a prefix is enough) on a message."""
        button = find_button(message, label)
        data = {"custom_id": button["custom_id"], "component_type": 2}
        record, payload = self._interaction(user, 3, data, int(message["channel_id"]), message)
        await self.dispatch("INTERACTION_CREATE", payload)
        return record

    async def choose(
        self, user: dict[str, Any], message: dict[str, Any], label: str
    ) -> Interaction:
        """Choose the option labelled `label` (a prefix is enough) in a select menu."""
        select, option = find_option(message, label)
        return await self.select(user, message, select["custom_id"], [option["value"]])

    async def select(
        self, user: dict[str, Any], message: dict[str, Any], custom_id: str, values: list[str]
    ) -> Interaction:
        """A string select interaction (component_type 3) carrying `values`, as Discord sends
        it: no `resolved` for a string select."""
        data = {"custom_id": custom_id, "component_type": 3, "values": list(values)}
        record, payload = self._interaction(user, 3, data, int(message["channel_id"]), message)
        await self.dispatch("INTERACTION_CREATE", payload)
        return record

    async def slash(
        self, user: dict[str, Any], name: str, channel_id: int, **options: str
    ) -> Interaction:
        """Run a synced slash command in a channel."""
        key, command = self._command(name)
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1,
                                "options": [{"name": k, "type": 3, "value": v}
                                            for k, v in options.items()]}  # fmt: skip
        if key != "global":
            data["guild_id"] = key
        record, payload = self._interaction(user, 2, data, channel_id)
        await self.dispatch("INTERACTION_CREATE", payload)
        return record

    def _command(self, name: str) -> tuple[str, dict[str, Any]]:
        for key, commands in self.commands.items():
            for command in commands:
                if command["name"] == name:
                    return key, command
        raise AssertionError(f"/{name} was never synced")

    async def submit_modal(
        self,
        user: dict[str, Any],
        custom_id: str,
        values: dict[str, str],
        message: dict[str, Any],
        files: dict[str, list[dict[str, Any]]] | None = None,
    ) -> Interaction:
        """A modal submission as Discord sends it: text inputs and file uploads (type 19, the
        attachment ids in `values`) wrapped in labels, the attachments in `resolved`."""
        inputs: list[dict[str, Any]] = [
            {"type": 4, "custom_id": k, "value": v} for k, v in values.items()
        ]
        resolved: dict[str, Any] = {}
        for key, attached in (files or {}).items():
            inputs.append({"type": 19, "custom_id": key, "values": [a["id"] for a in attached]})
            resolved.update({a["id"]: {**a, "ephemeral": True} for a in attached})
        rows = [
            {"type": 18, "id": 2 * i + 1, "component": {**item, "id": 2 * i + 2}}
            for i, item in enumerate(inputs)
        ]
        data: dict[str, Any] = {"custom_id": custom_id, "components": rows}
        if resolved:
            data["resolved"] = {"attachments": resolved}
        new, payload = self._interaction(user, 5, data, int(message["channel_id"]), message)
        await self.dispatch("INTERACTION_CREATE", payload)
        return new

    # -- messages ------------------------------------------------------------------------

    def post_message(
        self, channel_id: int, author: dict[str, Any], body: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        """Store a message the bot sent (enforce_nonce returns an earlier twin)."""
        nonce = body.get("nonce")
        if nonce and body.get("enforce_nonce") and (channel_id, nonce) in self._nonces:
            return self._nonces[(channel_id, nonce)]
        channel = self.channels.get(channel_id, {})
        attachments = [self.add_file(n, d, t) for n, d, t in body.get("_files", [])]
        message = message_payload(
            self.snowflake(),
            channel_id,
            author,
            body.get("content") or "",
            guild_id=self.guild_id if channel.get("type") != 1 else None,
            embeds=body.get("embeds", []),
            components=body.get("components", []),
            attachments=attachments,
            nonce=nonce,
            **extra,
        )
        self.messages.setdefault(channel_id, []).append(message)
        self.mentions_allowed[message["id"]] = body.get("allowed_mentions")
        if nonce:
            self._nonces[(channel_id, nonce)] = message
        return message

    def new_thread(self, parent_id: int, name: str, kind: int) -> dict[str, Any]:
        """A thread in a guild channel, with the bot as its first member."""
        tid = self.snowflake()
        thread = thread_payload(tid, self.guild_id, parent_id, self.app_id, name, kind)
        self.channels[tid] = thread
        self.thread_members[tid] = {self.app_id}
        return thread

    def delete_thread(self, thread_id: int) -> None:
        """A moderator deleted a ticket's thread."""
        self.channels.pop(thread_id, None)


def _fault_response(fault: Fault) -> web.Response:
    if fault.kind == "429":
        body = {"message": "You are being rate limited.", "retry_after": fault.retry_after}
        headers = {"Via": "1.1 google", "Retry-After": str(fault.retry_after)}
        return json_response({**body, "global": False}, 429, headers)
    if fault.kind == "500":
        return json_response({"message": "Internal Server Error", "code": 0}, 500)
    if fault.kind == "50007":
        return error(403, 50007, "Cannot send messages to this user")
    if fault.kind == "10003":
        return error(404, 10003, "Unknown Channel")
    return error(400, 50035, "Invalid Form Body")


async def _read_body(request: web.Request) -> dict[str, Any]:
    """A JSON body, or a multipart one: payload_json plus files[n] (as `_files`)."""
    if request.content_type == "application/json":
        data = await request.json()
        return data if isinstance(data, dict) else {"_list": data}
    if not request.content_type.startswith("multipart/"):
        return {}
    body: dict[str, Any] = {"_files": []}
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, discord.http.aiohttp.BodyPartReader):
            continue
        raw = await part.read()
        if part.name == "payload_json":
            body.update(json.loads(raw))
        else:
            mime = _guess_mime(part.filename or "")
            body["_files"].append((part.filename or "file", bytes(raw), mime))
    return body


def _guess_mime(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower()
    return {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif"}.get(
        ext, "application/octet-stream"
    )


def point_discord_py_at(fake: FakeDiscord) -> tuple[str, yarl.URL]:
    """Patch discord.py's REST base and gateway; returns the old values to restore."""
    old = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    discord.http.Route.BASE = fake.base + API
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.ws_url)
    return old


def restore_discord_py(old: tuple[str, yarl.URL]) -> None:
    """Undo point_discord_py_at."""
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old


# -- payloads ---------------------------------------------------------------------------------

NOW = "2025-01-01T00:00:00.000000+00:00"


def user_payload(uid: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    """A user object."""
    return {"id": str(uid), "username": name, "global_name": name, "discriminator": "0",
            "avatar": None, "bot": bot, "public_flags": 0}  # fmt: skip


def member_payload(user: dict[str, Any], roles: list[int]) -> dict[str, Any]:
    """A guild member object."""
    return {"user": user, "roles": [str(r) for r in roles], "joined_at": NOW, "deaf": False,
            "mute": False, "flags": 0, "nick": None, "avatar": None, "pending": False,
            "permissions": "2251799813685247"}  # fmt: skip


def channel_payload(cid: int, guild_id: int, name: str) -> dict[str, Any]:
    """A guild text channel."""
    return {"id": str(cid), "type": 0, "guild_id": str(guild_id), "name": name, "position": 0,
            "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None,
            "last_message_id": None, "rate_limit_per_user": 0}  # fmt: skip


def thread_payload(
    tid: int, guild_id: int, parent_id: int, owner_id: int, name: str, kind: int
) -> dict[str, Any]:
    """A thread channel (11 public, 12 private)."""
    meta = {"archived": False, "auto_archive_duration": 10080, "archive_timestamp": NOW,
            "locked": False, "invitable": False, "create_timestamp": NOW}  # fmt: skip
    return {"id": str(tid), "type": kind, "guild_id": str(guild_id), "parent_id": str(parent_id),
            "owner_id": str(owner_id), "name": name, "last_message_id": None,
            "rate_limit_per_user": 0, "message_count": 0, "member_count": 1, "flags": 0,
            "thread_metadata": meta}  # fmt: skip


def role_payload(rid: int, name: str, position: int, permissions: str) -> dict[str, Any]:
    """A role."""
    return {"id": str(rid), "name": name, "color": 0, "hoist": False, "position": position,
            "permissions": permissions, "managed": False, "mentionable": True,
            "flags": 0}  # fmt: skip


def guild_payload(
    gid: int,
    mod_role_id: int,
    members: list[dict[str, Any]],
    channels: list[dict[str, Any]],
    threads: list[dict[str, Any]],
    premium_tier: int,
) -> dict[str, Any]:
    """A GUILD_CREATE payload with all members and member_count."""
    roles = [role_payload(gid, "@everyone", 0, "1071698660929"),
             role_payload(mod_role_id, "moderators", 1, "1071698660929")]  # fmt: skip
    return {"id": str(gid), "name": "Kefu Test", "icon": None,
            "owner_id": members[0]["user"]["id"], "roles": roles, "emojis": [], "stickers": [],
            "features": [],
            "member_count": len(members), "members": members, "channels": channels,
            "threads": threads, "premium_tier": premium_tier, "large": False,
            "unavailable": False, "joined_at": NOW, "voice_states": [], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
            "afk_timeout": 300, "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "mfa_level": 0, "nsfw_level": 0,
            "preferred_locale": "en-US", "system_channel_flags": 0,
            "premium_subscription_count": 0, "description": None}  # fmt: skip


def attachment_payload(aid: int, name: str, size: int, url: str, mime: str) -> dict[str, Any]:
    """An attachment object pointing at the fake CDN."""
    return {"id": str(aid), "filename": name, "size": size, "url": url, "proxy_url": url,
            "content_type": mime}  # fmt: skip


def message_payload(
    mid: int, channel_id: int, author: dict[str, Any], content: str, **kw: Any
) -> dict[str, Any]:
    """A message object; keyword arguments add guild_id, member, embeds, components..."""
    message = {"id": str(mid), "channel_id": str(channel_id), "author": author,
               "content": content, "timestamp": NOW, "edited_timestamp": None, "tts": False,
               "mention_everyone": False, "mentions": [], "mention_roles": [],
               "attachments": [], "embeds": [], "components": [], "pinned": False, "type": 0,
               "flags": 0}  # fmt: skip
    for key, value in kw.items():
        if value is not None:
            message[key] = str(value) if key == "guild_id" else value
    return message


def find_button(message: dict[str, Any], label: str) -> dict[str, Any]:
    """The first button of a message whose label starts with `label`."""
    for row in message.get("components", []):
        for button in row.get("components", []):
            if (button.get("label") or "").startswith(label):
                return dict(button)
    raise AssertionError(f"no button {label!r} in message {message.get('content')!r}")


def buttons(message: dict[str, Any]) -> list[str]:
    """Every button label of a message, row by row (select menus are not buttons)."""
    return [
        b.get("label") or ""
        for r in message.get("components", [])
        for b in r["components"]
        if b.get("type", 2) == 2
    ]


def selects(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every select menu of a message, row by row."""
    return [
        c for r in message.get("components", []) for c in r["components"] if c.get("type") == 3
    ]


def options(message: dict[str, Any]) -> list[str]:
    """Every option label of every select menu of a message."""
    return [o["label"] for s in selects(message) for o in s.get("options", [])]


def find_option(message: dict[str, Any], label: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first select menu option whose label starts with `label`, and its menu."""
    for select in selects(message):
        for option in select.get("options", []):
            if option["label"].startswith(label):
                return dict(select), dict(option)
    raise AssertionError(f"no option {label!r} in message {message.get('content')!r}")


# -- what Discord refuses (a subset of its documented component limits) ------------------------


def payload_problems(body: dict[str, Any]) -> list[str]:
    """Why Discord would refuse the components of a message or interaction payload."""
    if body.get("type") == 9 and isinstance(body.get("data"), dict):
        return modal_problems(body["data"])
    data = body.get("data") if isinstance(body.get("data"), dict) else body
    components = data.get("components") if isinstance(data, dict) else None
    return message_problems(components) if isinstance(components, list) else []


def message_problems(rows: list[dict[str, Any]]) -> list[str]:
    """Action rows: at most 5; each 1-5 buttons or exactly one select; unique custom_ids."""
    problems = [] if len(rows) <= 5 else [f"{len(rows)} action rows"]
    ids: list[str] = []
    for row in rows:
        items = row.get("components", [])
        kinds = [c.get("type") for c in items]
        if row.get("type") != 1 or not 1 <= len(items) <= 5 or (3 in kinds and len(items) > 1):
            problems.append(f"bad action row {kinds}")
        for item in items:
            ids.append(item.get("custom_id", ""))
            problems += _select_problems(item) if item.get("type") == 3 else []
            if item.get("type") == 2 and len(item.get("label") or "") > 80:
                problems.append("button label over 80")
    problems += [f"custom_id {i!r}" for i in ids if not 1 <= len(i) <= 100]
    return problems + (["duplicate custom_id"] if len(set(ids)) < len(ids) else [])


def _select_problems(select: dict[str, Any]) -> list[str]:
    opts = select.get("options", [])
    values = [o.get("value", "") for o in opts]
    problems = [] if 1 <= len(opts) <= 25 else [f"{len(opts)} options"]
    problems += [f"option {o!r}" for o in opts if not 1 <= len(o.get("label", "")) <= 100]
    problems += [f"value {v!r}" for v in values if not 1 <= len(v) <= 100]
    problems += ["duplicate option value"] if len(set(values)) < len(values) else []
    low, high = select.get("min_values", 1), select.get("max_values", 1)
    problems += [] if 0 <= low <= high <= max(1, len(opts)) else ["min/max_values"]
    return problems + (
        ["placeholder over 150"] if len(select.get("placeholder") or "") > 150 else []
    )


def modal_problems(modal: dict[str, Any]) -> list[str]:
    """A modal: a title of 1-45, 1-5 labels, each wrapping a text input or a file upload."""
    rows = modal.get("components", [])
    problems = [] if 1 <= len(modal.get("title", "")) <= 45 else ["modal title"]
    problems += [] if 1 <= len(rows) <= 5 else [f"{len(rows)} modal components"]
    for given in rows:
        row = given
        if given.get("type") == 1:  # the deprecated form: a text input alone in an action row
            row = {"type": 18, "label": "-", "component": (given.get("components") or [{}])[0]}
        inner = row.get("component") or {}
        if row.get("type") != 18 or not 1 <= len(row.get("label", "")) <= 45:
            problems.append(f"bad modal label {row.get('type')}")
        if len(row.get("description") or "") > 100:
            problems.append("label description over 100")
        if inner.get("type") == 4:
            long = inner.get("max_length", 1) > 4000 or len(inner.get("placeholder") or "") > 100
            problems += ["text input limits"] if long else []
        elif inner.get("type") == 19:
            low, high = inner.get("min_values", 1), inner.get("max_values", 1)
            problems += [] if 0 <= low <= high and 1 <= high <= 10 else ["file upload limits"]
        else:
            problems.append(f"modal component type {inner.get('type')}")
    return problems


def _apply_edit(message: dict[str, Any], body: dict[str, Any], fake: Any = None) -> None:
    for key in ("content", "embeds", "components"):
        if key in body:
            message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
    if fake is not None and body.get("_files"):
        message["attachments"] = [fake.add_file(n, d, t) for n, d, t in body["_files"]]
    message["edited_timestamp"] = NOW


@asynccontextmanager
async def running_fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started fake with a user (alice), a moderator (mona) and a non-moderator (bob), with
    discord.py pointed at it; fails if the adapter called an endpoint the fake lacks."""
    server = FakeDiscord()
    server.alice = server.add_user("alice")  # type: ignore[attr-defined]
    server.mona = server.add_user("mona", moderator=True)  # type: ignore[attr-defined]
    server.bob = server.add_user("bob")  # type: ignore[attr-defined]
    await server.start()
    old = point_discord_py_at(server)
    try:
        yield server
    finally:
        restore_discord_py(old)
        await server.stop()
    assert not server.unknown, f"the adapter called endpoints the fake lacks: {server.unknown}"
    assert not server.invalid, f"Discord would have refused: {server.invalid}"
