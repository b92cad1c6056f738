"""Scenario fixtures: a harness per test on the real runtime, the help center built once."""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.helpers.fakes import Harness, MakeHarness, harness


def _loopback(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # a Unix socket
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scenario that reaches for the network outside loopback fails (STYLE rule 11)."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(real: Callable[..., object]) -> Callable[..., object]:
        def call(sock: socket.socket, address: object) -> object:
            assert _loopback(address), f"a scenario tried to reach {address!r}"
            return real(sock, address)

        return call

    monkeypatch.setattr(socket.socket, "connect", guarded(connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(connect_ex))


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """A harness on a SqliteStore in tmp_path (the store a deployment runs on)."""
    async with harness(tmp_path / "data") as opened:
        yield opened


@pytest.fixture
def make_harness(tmp_path: Path) -> MakeHarness:
    """Open a harness with another store or settings: `async with make_harness(...) as h`."""
    return functools.partial(harness, tmp_path / "data-custom")


@pytest.fixture(params=["en", "zh-CN"])
def lang(request: pytest.FixtureRequest) -> str:
    """Both languages."""
    return str(request.param)
