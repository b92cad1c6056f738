"""Suite-wide rules: no test reaches the network outside loopback (STYLE rule 11), and no
test is timed (hypothesis's per-example deadline is off: speed is measured in benchmarks/)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator

import pytest
from hypothesis import settings

from tests.helpers.pg import TestDatabases, test_server

# A slow example on a busy machine is not a failure: the suite asserts behaviour, not time.
settings.register_profile("kefu", deadline=None)
settings.load_profile("kefu")


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
    """A test that opens a connection outside loopback fails (PTB's OfflineRequest idea)."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(real: Callable[..., object]) -> Callable[..., object]:
        def call(sock: socket.socket, address: object) -> object:
            assert _loopback(address), f"a test tried to reach {address!r}: the network is off"
            return real(sock, address)

        return call

    monkeypatch.setattr(socket.socket, "connect", guarded(connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(connect_ex))


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[TestDatabases]:
    """A PostgreSQL server for the whole session (KEFU_TEST_POSTGRES_DSN's, or an embedded one
    started now), handing out a fresh database per test."""
    with test_server() as databases:
        yield databases


@pytest.fixture
def pg_url(pg_databases: TestDatabases) -> str:
    """The URL of a fresh, migrated PostgreSQL database for this test."""
    return pg_databases.fresh()
