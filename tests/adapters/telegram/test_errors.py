"""python-telegram-bot errors → bot.ports delivery errors."""

from __future__ import annotations

import datetime as dt

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

from adapters.telegram.errors import delivery_error, retry_after_seconds
from bot.ports import DeliveryError, Rejected, RetryLater, ThreadGone, Unreachable


class ConnectError(Exception):
    """Named like httpx's: the request never left."""


class ReadTimeout(Exception):
    """Named like httpx's: the request went out, no answer came."""


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


def test_timeout_after_sending_is_maybe_delivered() -> None:
    sent = delivery_error(caused(TimedOut(), ReadTimeout()))
    not_sent = delivery_error(caused(NetworkError("httpx.ConnectError: refused"), ConnectError()))
    pool = delivery_error(TimedOut("Pool timeout: Request was *not* sent to Telegram."))
    assert isinstance(sent, RetryLater)
    assert isinstance(not_sent, RetryLater)
    assert isinstance(pool, RetryLater)
    assert (sent.maybe_delivered, not_sent.maybe_delivered, pool.maybe_delivered) == (
        True,
        False,
        False,
    )


def test_retry_after_in_seconds_as_int_or_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    error = RetryAfter(dt.timedelta(seconds=12))
    assert retry_after_seconds(error) == 12.0
    monkeypatch.delenv("PTB_TIMEDELTA")  # PTB 22's default: an int, with a deprecation warning
    assert retry_after_seconds(error) == 12.0
    mapped = delivery_error(error)
    assert isinstance(mapped, RetryLater)
    assert mapped.retry_after == 12.0
