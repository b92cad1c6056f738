"""`kefu web add-user NAME --password-stdin`, `users`, `remove-user`; the account file."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from adapters.web.accounts import LocalAccounts
from bot.cli import main
from tests.helpers.builders import toml_config


def test_add_list_and_remove_a_local_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(toml_config(tmp_path / "kefu.toml", tmp_path / "data"))
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert main(["web", "add-user", "amy", "--password-stdin", "--config", config]) == 0
    accounts = LocalAccounts(tmp_path / "data")
    assert accounts.verify("amy", "a long password")
    assert not accounts.verify("amy", "a long passwor")
    assert not accounts.verify("bob", "a long password")
    users_file = tmp_path / "data" / "web-users.json"
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    assert "a long password" not in users_file.read_text()
    assert main(["web", "users", "--config", config]) == 0
    assert "amy" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["web", "add-user", "bob", "--password-stdin", "--config", config]) == 1
    assert main(["web", "remove-user", "amy", "--config", config]) == 0
    assert main(["web", "remove-user", "amy", "--config", config]) == 1
    assert not LocalAccounts(tmp_path / "data").exists("amy")
