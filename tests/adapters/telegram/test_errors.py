"""python-telegram-bot errors → bot.ports delivery errors."""

from __future__ import annotations

import datetime as dt
import socket

import httpx
import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from adapters.telegram.errors import delivery_error, retry_after_seconds
from bot.ports import DeliveryError, Rejected, RetryLater, ThreadGone, Unreachable


def caused(exc: TelegramError, cause: Exception) -> TelegramError:
    """`exc` raised from `cause`, as PTB's HTTPXRequest does."""
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), Unreachable),
        (BadRequest("Bad Request: chat not found"), Unreachable),
        (ChatMigrated(-1001), Unreachable),
        (BadRequest("Bad Request: message thread not found"), ThreadGone),
        (BadRequest("Bad Request: TOPIC_DELETED"), ThreadGone),
        (BadRequest("Bad Request: TOPIC_ID_INVALID"), ThreadGone),
        (BadRequest("Bad Request: can't parse entities"), Rejected),
        (NetworkError("Bad Gateway"), RetryLater),
        (TimedOut(), RetryLater),
    ],
)
def test_mapping(error: TelegramError, kind: type[DeliveryError]) -> None:
    assert type(delivery_error(error)) is kind


@pytest.mark.parametrize(
    ("error", "maybe"),
    [
        # raised the way PTB's HTTPXRequest raises them: TimedOut or NetworkError from httpx's
        (caused(TimedOut(), httpx.ReadTimeout("read")), True),  # went out, no answer came
        (caused(TimedOut(), httpx.WriteTimeout("write")), True),  # part of it went out
        (caused(NetworkError("httpx.ReadError: "), httpx.ReadError("reset")), True),
        (caused(NetworkError("httpx.RemoteProtocolError: "), httpx.RemoteProtocolError("")), True),
        (caused(NetworkError("httpx.ConnectError: "), httpx.ConnectError("refused")), False),
        (caused(TimedOut(), httpx.ConnectTimeout("connect")), False),  # never connected
        (caused(TimedOut("Pool timeout: Request was *not* sent"), httpx.PoolTimeout("")), False),
        (TimedOut("Pool timeout: Request was *not* sent to Telegram."), False),
        (NetworkError("Bad Gateway"), False),  # an HTTP answer: Telegram did not act
    ],
    ids=["read", "write", "reset", "disconnected", "connect", "connect-timeout", "pool",
         "pool-no-cause", "http-status"],
)  # fmt: skip
def test_whether_telegram_may_have_acted_is_decided_by_the_httpx_type(
    error: TelegramError, maybe: bool
) -> None:
    mapped = delivery_error(error)
    assert isinstance(mapped, RetryLater)
    assert mapped.maybe_delivered is maybe


def test_the_decision_follows_the_httpx_type_not_the_name() -> None:
    class Refused(httpx.ConnectError):
        """A connect error under another name: still never sent."""

    class ConnectError(Exception):  # httpx's name, not httpx's type
        """Not httpx's: whether the request went out is unknown, so it may have acted."""

    refused = delivery_error(caused(NetworkError("x"), Refused("no")))
    impostor = delivery_error(caused(NetworkError("x"), ConnectError("no")))
    assert isinstance(refused, RetryLater) and not refused.maybe_delivered
    assert isinstance(impostor, RetryLater) and impostor.maybe_delivered


async def test_ptbs_own_connect_failure_is_never_sent() -> None:
    """The real SDK against a loopback port nobody listens on: an httpx.ConnectError cause."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request: refused
    request = HTTPXRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot123:TEST/getMe")
    finally:
        await request.shutdown()
    assert isinstance(raised.value.__cause__, httpx.ConnectError)
    mapped = delivery_error(raised.value)
    assert isinstance(mapped, RetryLater) and not mapped.maybe_delivered


def test_retry_after_in_seconds_as_int_or_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    error = RetryAfter(dt.timedelta(seconds=12))
    assert retry_after_seconds(error) == 12.0
    monkeypatch.delenv("PTB_TIMEDELTA")  # PTB 22's default: an int, with a deprecation warning
    assert retry_after_seconds(error) == 12.0
    mapped = delivery_error(error)
    assert isinstance(mapped, RetryLater)
    assert mapped.retry_after == 12.0
