"""A fake Discord on loopback: the REST routes and gateway events Kefu's adapter uses.

The real discord.py is pointed at it by patching `discord.http.Route.BASE` (every REST call,
interaction callbacks and webhook follow-ups included) and
`discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY` (a plain Client never asks GET /gateway/bot).
Unknown endpoints answer 404 and are recorded, so a test can fail on them.

FakeDiscord (here: ids and people, the server's lifecycle, the gateway, stored messages) puts
together the REST side (rest.py) and what tests inject (inject.py); payloads.py builds Discord's
objects and reads components, limits.py knows what Discord refuses.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import discord
import yarl
from aiohttp import web

from tests.helpers.fake_discord.inject import Injection
from tests.helpers.fake_discord.payloads import (
    attachment_payload,
    channel_payload,
    guild_payload,
    member_payload,
    message_payload,
    thread_payload,
    user_payload,
)
from tests.helpers.fake_discord.rest import API, Fault, Interaction, RestRoutes
from tests.helpers.loopback import serve

DISCORD_EPOCH_MS = 1420070400000


class FakeDiscord(RestRoutes, Injection):
    """A tiny Discord: one guild, a moderator channel (more with `add_channel`, more roles with
    `add_role`), users, DMs, threads and a gateway."""

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
        self.more_roles: dict[int, str] = {}  # role id → name, beyond the moderators'
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

    def add_user(
        self, name: str, *, moderator: bool = False, roles: tuple[int, ...] = ()
    ) -> dict[str, Any]:
        """A guild member; moderators hold the moderator role, and anyone the `roles` given."""
        user = user_payload(self.snowflake(), name)
        self.users[int(user["id"])] = user
        self.roles[int(user["id"])] = [*([self.mod_role_id] if moderator else []), *roles]
        return user

    def add_role(self, name: str) -> int:
        """Another role of the guild (before the bot connects)."""
        role = self.snowflake()
        self.more_roles[role] = name
        return role

    def add_channel(self, name: str) -> int:
        """Another text channel of the guild (before the bot connects)."""
        channel = self.snowflake()
        self.channels[channel] = channel_payload(channel, self.guild_id, name)
        return channel

    def member(self, user_id: int) -> dict[str, Any]:
        """The member payload of a user, with their roles."""
        return member_payload(self.users[user_id], self.roles.get(user_id, []))

    def guild(self) -> dict[str, Any]:
        """The GUILD_CREATE payload: every member, channel, active thread, the roles."""
        members = [self.member(uid) for uid in self.users]
        channels = [c for c in self.channels.values() if c["type"] == 0]
        threads = [c for c in self.channels.values() if c["type"] in (11, 12)]
        return guild_payload(
            self.guild_id,
            self.mod_role_id,
            members,
            channels,
            threads,
            self.premium_tier,
            self.more_roles,
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
        self._runner, port = await serve(app)
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


def point_discord_py_at(fake: FakeDiscord) -> tuple[str, yarl.URL]:
    """Patch discord.py's REST base and gateway; returns the old values to restore."""
    old = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    discord.http.Route.BASE = fake.base + API
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.ws_url)
    return old


def restore_discord_py(old: tuple[str, yarl.URL]) -> None:
    """Undo point_discord_py_at."""
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old


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
