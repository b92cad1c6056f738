"""The fake Discord's REST side: its routes, their handlers, injected faults, request bodies.

Every call is recorded in `requests`; a queued fault answers first; a component payload Discord
would refuse answers 400 (recorded in `invalid`); an endpoint the fake lacks answers 404
(recorded in `unknown`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import discord
from aiohttp import web

from tests.helpers.fake_discord.limits import payload_problems
from tests.helpers.fake_discord.payloads import NOW, user_payload

API = "/api/v10"
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


class RestRoutes:
    """The REST half of FakeDiscord (its state is made in FakeDiscord.__init__)."""

    app_id: int
    bot: dict[str, Any]
    users: dict[int, dict[str, Any]]
    channels: dict[int, dict[str, Any]]
    messages: dict[int, list[dict[str, Any]]]
    dms_closed: set[int]
    thread_members: dict[int, set[int]]
    commands: dict[str, list[dict[str, Any]]]
    interactions: dict[int, Interaction]
    cdn: dict[str, tuple[bytes, str]]
    requests: list[tuple[str, str]]
    unknown: list[tuple[str, str]]
    invalid: list[tuple[str, list[str]]]
    faults: list[Fault]
    snowflake: Callable[[], int]
    sent: Callable[[int | str], list[dict[str, Any]]]
    dm_channel: Callable[[int], int]
    dispatch: Callable[[str, dict[str, Any]], Awaitable[None]]
    post_message: Callable[..., dict[str, Any]]
    new_thread: Callable[[int, str, int], dict[str, Any]]

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
            ("PATCH", rf"/channels/{n % 'channel'}", self._edit_channel),
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

    async def _edit_channel(self, request: web.Request, p: dict[str, Any]) -> web.Response:
        channel = self.channels.get(int(p["channel"]))
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        meta = channel.setdefault("thread_metadata", {})
        for key in ("archived", "locked"):
            if key in p["_body"]:
                meta[key] = bool(p["_body"][key])
        return json_response(channel)

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


def _apply_edit(message: dict[str, Any], body: dict[str, Any], fake: Any = None) -> None:
    for key in ("content", "embeds", "components"):
        if key in body:
            message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
    if fake is not None and body.get("_files"):
        message["attachments"] = [fake.add_file(n, d, t) for n, d, t in body["_files"]]
    message["edited_timestamp"] = NOW
