"""Discord across processes: two `kefu run` processes on one PostgreSQL database over the fake
Discord; one holds the gateway (a lease), the other stands by and sends over REST. SIGKILL the
holder: the standby connects to the gateway within 30 s and carries on the user's ticket."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from tests.helpers.fake_discord import FakeDiscord
from tests.reliability.cluster import REPO, Cluster, Node
from tests.reliability.conftest import DISCORD_TOKEN, DISCORD_TOKEN_ENV

GATEWAY = "discord:gateway"
TAKEOVER = 30.0


def discord_config(dc: FakeDiscord, tmp: Path, url: str) -> Path:
    """The deployment's config: the fake's guild, channel and role; the shared database."""
    config = tmp / "kefu.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{tmp / "data"}"\ndefault_lang = "en"\n'
        f'[discord]\nenabled = true\ntoken_env = "{DISCORD_TOKEN_ENV}"\n'
        f'guild_id = "{dc.guild_id}"\nmoderator_channel_id = "{dc.mod_channel_id}"\n'
        f'moderator_role_id = "{dc.mod_role_id}"\n'
        f'[store]\nurl = "{url}"\nfiles = "{tmp / "files"}"\n',
        encoding="utf-8",
    )
    return config


class DiscordCluster(Cluster):
    """Processes started with discord.py pointed at the fake."""

    base: str = ""

    async def start(self, config: Path) -> Node:
        """One `kefu run` over the fake Discord."""
        log = self.tmp / f"kefu-{len(self.nodes)}.log"
        env = {**os.environ, DISCORD_TOKEN_ENV: DISCORD_TOKEN, "KEFU_TEST_DISCORD_BASE": self.base}
        with log.open("ab") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.helpers.fake_discord.kefu_run", "--config",
                str(config), cwd=REPO, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=err,
            )  # fmt: skip
        node = Node(process, config, log)
        self.nodes.append(node)
        return node


async def replied(dc: FakeDiscord, channel: int, fragment: str, within: float = 30.0) -> None:
    """Wait for a bot message containing `fragment` in a channel."""
    deadline = time.monotonic() + within
    while not any(
        fragment in (m.get("content") or "") + str(m.get("embeds"))
        for m in dc.sent(channel)
        if int(m["author"]["id"]) == dc.app_id
    ):
        assert time.monotonic() < deadline, [m.get("content") for m in dc.sent(channel)]
        await asyncio.sleep(0.1)


async def test_the_gateway_lease_moves_to_a_standby_after_a_sigkill(
    dc: FakeDiscord, tmp_path: Path, pg_url: str
) -> None:
    config = discord_config(dc, tmp_path, pg_url)
    cluster = DiscordCluster(pg_url, tmp_path)
    cluster.base = dc.base
    alice = dc.alice  # type: ignore[attr-defined]
    dm = dc.dm_channel(int(alice["id"]))
    try:
        for _ in range(2):
            await cluster.start(config)
        deadline = time.monotonic() + 60
        # both up: one connected, the other found the lease held and stands by
        standby = f"lease {GATEWAY} is held by another process"
        while len(dc.identified) < 1 or not any(
            standby in n.log.read_text() for n in cluster.nodes
        ):
            assert time.monotonic() < deadline, cluster.logs()
            await asyncio.sleep(0.1)
        await dc.user_says(alice, "/human")
        await replied(dc, dm, "#1")
        holder = None
        while holder is None:
            holder = await cluster.holder(GATEWAY)
            await asyncio.sleep(0.1)
        assert len(dc.identified) == 1  # one gateway connection for the deployment
        died = await cluster.kill(holder)
        while len(dc.identified) < 2:
            assert time.monotonic() - died < TAKEOVER, cluster.logs()
            await asyncio.sleep(0.1)
        took = time.monotonic() - died
        await dc.user_says(alice, "still locked out")
        await replied(dc, dm, "#1")
        await asyncio.sleep(0.5)
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        await cluster.stop()
    print(f"gateway takeover {took:.1f} s")
    assert took <= TAKEOVER
    tickets = await cluster.query("SELECT count(*) FROM tickets")
    assert tickets == [(1,)]
    relayed = await cluster.query(
        "SELECT count(*) FROM ticket_messages WHERE text = 'still locked out'"
    )
    assert relayed == [(1,)]
