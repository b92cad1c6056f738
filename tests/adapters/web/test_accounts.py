"""`kefu web add-user NAME --password-stdin`, `users`, `remove-user`: accounts in the store,
shared by every process (on PostgreSQL, every host) of a deployment with the session key; the
accounts file and key file of an older Kefu, imported once."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from adapters.web.accounts import (
    SECRET_FILE,
    USERS_FILE,
    AccountError,
    LocalAccounts,
    import_files,
)
from bot.cli import main
from bot.config import DB_NAME
from bot.storage import open_store
from bot.storage.postgres import PostgresStore
from bot.storage.sqlite import SqliteStore
from tests.adapters.web.conftest import PASSWORD, MakeWeb, sign_in
from tests.helpers.builders import toml_config
from tests.test_cli import code_under_test, kefu

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # the files' hashes


def test_add_list_and_remove_a_local_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(toml_config(tmp_path / "kefu.toml", tmp_path / "data"))
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert main(["web", "add-user", "amy", "--password-stdin", "--config", config]) == 0
    assert main(["web", "users", "--config", config]) == 0
    assert "amy" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["web", "add-user", "bob", "--password-stdin", "--config", config]) == 1
    assert "at least 8 characters" in capsys.readouterr().err

    async def check() -> None:
        store = await open_store(tmp_path / "data" / DB_NAME)
        try:
            accounts = LocalAccounts(store)
            assert await accounts.verify("amy", "a long password")
            assert not await accounts.verify("amy", "a long passwor")
            assert not await accounts.verify("bob", "a long password")  # the decoy's answer
            stored = await store.account_hash("amy")
            assert stored is not None and stored.startswith("$argon2id$")
            assert await store.account_names() == ["amy"]
        finally:
            await store.close()

    asyncio.run(check())
    assert not (tmp_path / "data" / USERS_FILE).exists()  # no file beside the store any more
    assert main(["web", "remove-user", "amy", "--config", config]) == 0
    assert main(["web", "remove-user", "amy", "--config", config]) == 1
    capsys.readouterr()
    assert main(["web", "users", "--config", config]) == 0
    assert "amy" not in capsys.readouterr().out


async def test_names_and_passwords_are_checked(make_web: MakeWeb) -> None:
    h = await make_web()
    with pytest.raises(AccountError):
        await h.web.accounts.add("amy smith", PASSWORD)
    with pytest.raises(AccountError):
        await h.web.accounts.add("amy", "short")
    assert await h.web.accounts.names() == []


def _old_files(data: Path, users: dict[str, str], secret: str = "") -> None:
    """What an older Kefu left in its data directory."""
    data.mkdir(parents=True, exist_ok=True)
    (data / USERS_FILE).write_text(json.dumps(users), encoding="utf-8")
    if secret:
        (data / SECRET_FILE).write_text(secret + "\n", encoding="utf-8")


async def test_the_old_accounts_file_is_imported_once_at_start(
    make_web: MakeWeb, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data0"  # the first harness's data directory
    _old_files(data, {"amy": FAST.hash(PASSWORD), "bob": FAST.hash("bob's password")}, "k" * 64)
    with caplog.at_level(logging.INFO, logger="adapters.web.accounts"):
        h = await make_web()
    assert await h.web.accounts.names() == ["amy", "bob"]
    assert await h.store.session_key("another", 1.0) == "k" * 64  # sessions stay valid
    assert not (data / USERS_FILE).exists() and not (data / SECRET_FILE).exists()
    assert json.loads((data / f"{USERS_FILE}.imported").read_text())["amy"].startswith("$argon2")
    assert (data / f"{SECRET_FILE}.imported").exists()
    assert "imported 2 web account(s)" in caplog.text
    async with h.client() as browser:
        await sign_in(browser)  # the password of the file signs in
    # Started again, nothing is imported twice (the renamed file is left alone).
    await h.web.app(h.hub.sink)
    assert await h.web.accounts.names() == ["amy", "bob"]


async def test_an_imported_file_does_not_overwrite_the_store(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second host's file (its own passwords, its own key) meets a store that has both
    already: the store's are kept, and the log says so."""
    config = toml_config(tmp_path / "kefu.toml", tmp_path / "data")
    monkeypatch.setattr("sys.stdin", io.StringIO("the store's password\n"))
    await asyncio.to_thread(
        main, ["web", "add-user", "amy", "--password-stdin", "--config", str(config)]
    )
    async with await SqliteStore.open(tmp_path / "data" / DB_NAME) as store:
        key = await store.session_key("the store's key", 1.0)
    _old_files(tmp_path / "data", {"amy": FAST.hash("the file's password")}, "the file's key")
    with caplog.at_level(logging.INFO):
        assert await asyncio.to_thread(main, ["web", "users", "--config", str(config)]) == 0
    assert "keeps their passwords, not those of " in caplog.text
    assert "web-users.json: amy" in caplog.text
    assert "must sign in again" in caplog.text
    async with await SqliteStore.open(tmp_path / "data" / DB_NAME) as store:
        accounts = LocalAccounts(store)
        assert await accounts.verify("amy", "the store's password")
        assert not await accounts.verify("amy", "the file's password")
        assert await store.session_key("new", 2.0) == key
    assert (tmp_path / "data" / f"{USERS_FILE}.imported").exists()


async def test_processes_starting_together_import_the_files_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`kefu run` and `kefu web` on one data directory, started together: the same accounts
    and key end up in the store, one process renames the files, and no clash is reported."""
    data = tmp_path / "data"
    _old_files(data, {"amy": FAST.hash(PASSWORD)}, "the file's key")
    async with (
        await SqliteStore.open(tmp_path / "kefu.sqlite3") as one,
        await SqliteStore.open(tmp_path / "kefu.sqlite3") as other,
    ):
        with caplog.at_level(logging.INFO):
            await asyncio.gather(import_files(data, one, 1.0), import_files(data, other, 1.0))
        assert await other.account_names() == ["amy"]
        assert await one.session_key("new", 2.0) == "the file's key"
    assert sorted(p.name for p in data.iterdir()) == [
        f"{SECRET_FILE}.imported",
        f"{USERS_FILE}.imported",
    ]
    assert "keeps their passwords" not in caplog.text
    assert "must sign in again" not in caplog.text


async def test_an_unreadable_accounts_file_stops_the_start_and_stays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = toml_config(tmp_path / "kefu.toml", tmp_path / "data")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / USERS_FILE).write_text("{not json", encoding="utf-8")
    assert await asyncio.to_thread(main, ["web", "users", "--config", str(config)]) == 1
    assert "cannot import the accounts" in capsys.readouterr().err
    assert (tmp_path / "data" / USERS_FILE).exists()


async def test_accounts_and_sessions_are_shared_by_hosts_on_one_postgresql_database(
    make_web: MakeWeb, pg_url: str, tmp_path: Path
) -> None:
    """`kefu web add-user` on one host; the web desks of two others (their own data
    directories, their own connections) let the account in, accept each other's sessions,
    and let it in no more once `remove-user` ran."""
    host_a = toml_config(tmp_path / "a.toml", tmp_path / "host-a", f'[store]\nurl = "{pg_url}"\n')
    added = await asyncio.to_thread(
        kefu, "web", "add-user", "amy", "--password-stdin", config=host_a, stdin=PASSWORD + "\n",
        cwd=tmp_path,
    )  # fmt: skip
    assert added.code == 0, added.err
    host_b = await make_web(store={"url": pg_url})
    host_c = await make_web(store={"url": pg_url})
    assert isinstance(host_b.store, PostgresStore)
    assert host_b.data_dir != host_c.data_dir
    async with host_b.client() as on_b, host_c.client() as on_c:
        await sign_in(on_b)
        on_c.cookies = on_b.cookies  # the same browser, behind a load balancer
        assert (await on_c.get("/queue")).status_code == 200
        removed = await asyncio.to_thread(
            kefu, "web", "remove-user", "amy", config=host_a, cwd=tmp_path
        )
        assert removed.code == 0, removed.err
        assert (await on_b.get("/queue")).status_code == 303  # signed out at once
        assert (await on_c.get("/queue")).status_code == 303
    listed = await asyncio.to_thread(kefu, "web", "users", config=host_a, cwd=tmp_path)
    assert listed.code == 0 and "amy" not in listed.out


def test_kefu_web_serves_on_the_port_given_on_the_command_line(tmp_path: Path) -> None:
    """`kefu web --port N` (what people try first) serves there instead of [web] port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = toml_config(tmp_path / "kefu.toml", tmp_path / "data")
    env = code_under_test({k: v for k, v in os.environ.items() if k != "KEFU_CONFIG"})
    command = [sys.executable, "-m", "bot", "web", "--listen", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "web.log"
    with log.open("wb") as err:
        server = subprocess.Popen([*command, "--config", str(config)], cwd=tmp_path, env=env,
                                  stderr=err)  # fmt: skip
    try:
        status = 0
        for _ in range(200):  # the process starts within seconds; polled, never timed
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    break
                time.sleep(0.1)
        assert status == 200, log.read_text(encoding="utf-8")
    finally:
        server.terminate()
        server.wait(timeout=30)
