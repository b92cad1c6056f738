"""A fake of the three Discord endpoints the web sign-in uses, on loopback: the OAuth2 token
exchange, /users/@me and the guild member (with its roles) read with the bot's token."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.helpers.loopback import serve

BOT_TOKEN = "discord-bot-token"
CLIENT_ID = "4242"
CLIENT_SECRET = "discord-client-secret"
GUILD = "900"
ROLE = "77"


class FakeDiscordOAuth:
    """Codes → users; users → roles. `async with` serves it on a free loopback port."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}  # code -> user id
        self.roles: dict[str, list[str]] = {}  # user id -> role ids (absent: not a member)
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeDiscordOAuth:
        app = web.Application()
        app.router.add_post("/api/oauth2/token", self._token)
        app.router.add_get("/api/users/@me", self._me)
        app.router.add_get("/api/guilds/{guild}/members/{user}", self._member)
        self._runner, self.port = await serve(app, access_log=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api(self) -> str:
        """For `[web] discord_api_url`."""
        return f"http://127.0.0.1:{self.port}/api"

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("client_secret") != CLIENT_SECRET or form.get("code") not in self.codes:
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response({"access_token": f"at-{form['code']}", "token_type": "Bearer"})

    async def _me(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        code = auth.removeprefix("Bearer at-")
        if code not in self.codes:
            return web.json_response({"message": "401: Unauthorized"}, status=401)
        user = self.codes[code]
        body: dict[str, Any] = {"id": user, "username": f"user{user}", "global_name": "Ann"}
        return web.json_response(body)

    async def _member(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bot {BOT_TOKEN}":
            return web.json_response({"message": "401: Unauthorized"}, status=401)
        user = request.match_info["user"]
        if request.match_info["guild"] != GUILD or user not in self.roles:
            return web.json_response({"message": "Unknown Member"}, status=404)
        return web.json_response({"user": {"id": user}, "roles": self.roles[user]})
