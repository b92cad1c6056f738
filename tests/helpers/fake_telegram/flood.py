"""Telegram's flood control, as the fake enforces it when a test asks (it is off by default).

The Bot API FAQ: "In a group, bots are not able to send more than 20 messages per minute";
about 30 messages a second in all; "avoid sending more than one message per second" in a
chat. The fake holds the limits a test sets as exact sliding windows: a message-sending
request that would be the N+1th in any window of W seconds (to one group; to one private
chat; in all) is answered 429 "Too Many Requests: retry after X", with parameters.retry_after,
before it acts. Each sending request counts once (an album too). Windows and counts are
settable so that a test runs Telegram's minute on a scaled clock; retry_after is then in
fractions of a second (Telegram's own is whole seconds, as `whole_seconds` keeps it).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from tests.helpers.fake_telegram.wire import ApiError

SENDS = frozenset({"sendmessage", "sendphoto", "senddocument", "sendmediagroup", "copymessage"})


@dataclass(frozen=True)
class Limit:
    """At most `messages` sending requests in any `window` seconds."""

    messages: int
    window: float


@dataclass
class Refusal:
    """One request answered 429."""

    method: str
    chat_id: int
    retry_after: float
    at: float


@dataclass
class FloodControl:
    """The limits in force and the sends they count (see the module's docstring)."""

    group: Limit | None = None  # per group or supergroup (every topic together)
    chat: Limit | None = None  # per private chat
    overall: Limit | None = None  # every chat together
    whole_seconds: bool = True
    refused: list[Refusal] = field(default_factory=list)
    _sent: defaultdict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def check(self, method: str, params: dict[str, Any]) -> None:
        """Count a sending request, or raise the 429 it gets past a limit."""
        if method.lower() not in SENDS:
            return
        try:
            chat_id = int(params.get("chat_id") or 0)
        except ValueError:
            return  # an @username: the method answers it
        now = time.monotonic()
        scoped = [("all", self.overall), (f"chat:{chat_id}", self._chat_limit(chat_id))]
        limits = [(key, limit) for key, limit in scoped if limit is not None]
        wait = max((self._wait(key, limit, now) for key, limit in limits), default=0.0)
        if wait > 0:
            retry = float(math.ceil(wait)) if self.whole_seconds else math.ceil(wait * 100) / 100
            self.refused.append(Refusal(method, chat_id, retry, now))
            retry_after: int | float = int(retry) if self.whole_seconds else retry
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for key, _ in limits:
            self._sent[key].append(now)

    def _chat_limit(self, chat_id: int) -> Limit | None:
        return self.group if chat_id < 0 else self.chat

    def _wait(self, key: str, limit: Limit, now: float) -> float:
        """Seconds until one more send under `key` keeps `limit` (0: it may go now)."""
        sent = self._sent[key]
        while sent and sent[0] <= now - limit.window:
            sent.popleft()
        if len(sent) < limit.messages:
            return 0.0
        return sent[-limit.messages] + limit.window - now
