"""`kefu run` in a subprocess with discord.py pointed at a fake Discord (the address in
KEFU_TEST_DISCORD_BASE), as the in-process tests point it with point_discord_py_at:
`python -m tests.helpers.fake_discord.kefu_run --config FILE`."""

from __future__ import annotations

import os
import sys

import discord
import yarl

from bot.cli import main
from tests.helpers.fake_discord.rest import API

if __name__ == "__main__":
    base = os.environ["KEFU_TEST_DISCORD_BASE"]
    discord.http.Route.BASE = base + API
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
        base.replace("http://", "ws://") + "/gateway"
    )
    sys.exit(main(["run", *sys.argv[1:]]))
