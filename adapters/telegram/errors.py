"""python-telegram-bot errors → bot.ports delivery errors, so the outbox knows what to do."""

from __future__ import annotations

import datetime as dt
import warnings

import httpx
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from bot.ports import DeliveryError, Rejected, RetryLater, ThreadGone, Unreachable

# Bot API descriptions (lower case) that mean the forum topic is gone.
THREAD_GONE = ("message thread not found", "topic_deleted", "topic_id_invalid", "topic deleted")
# 400s that mean the chat cannot be reached at all (retrying will not help).
UNREACHABLE = (
    "chat not found",
    "user not found",
    "peer_id_invalid",
    "user is deactivated",
    "bot was kicked",
    "not enough rights to send",
    "have no rights to send",
    "chat_write_forbidden",
)
# httpx exceptions raised before the request left this machine (nothing was sent): PTB's
# HTTPXRequest raises its NetworkError or TimedOut `from` them.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after in seconds, whether PTB gives an int or a timedelta."""
    with warnings.catch_warnings():
        # PTB 22.2+ warns that the attribute becomes a timedelta; both forms are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def maybe_sent(exc: TelegramError) -> bool:
    """Whether Telegram may have acted on a request that failed in transport."""
    cause = exc.__cause__
    if cause is None or isinstance(cause, TelegramError):
        return False  # an HTTP error status came back: Telegram answered, it did not act
    # A read timeout, a reset or "server disconnected" came after the request went out.
    return not isinstance(cause, _NOT_SENT) and "was *not* sent" not in exc.message


def _bad_request(exc: BadRequest) -> DeliveryError:
    text = exc.message.lower()
    if any(s in text for s in THREAD_GONE):
        return ThreadGone(exc.message)
    if any(s in text for s in UNREACHABLE):
        return Unreachable(exc.message)
    return Rejected(exc.message)


def delivery_error(exc: TelegramError) -> DeliveryError:
    """The ports error for a failed Bot API call."""
    if isinstance(exc, RetryAfter):
        return RetryLater("telegram flood control (429)", retry_after_seconds(exc))
    if isinstance(exc, ChatMigrated):
        return Unreachable(f"group became supergroup {exc.new_chat_id}: update the config")
    if isinstance(exc, Forbidden):
        return Unreachable(exc.message)
    if isinstance(exc, BadRequest):
        return _bad_request(exc)
    if isinstance(exc, TimedOut | NetworkError | Conflict | InvalidToken):
        return RetryLater(exc.message, maybe_delivered=maybe_sent(exc))
    return Rejected(exc.message)
