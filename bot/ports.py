"""Small Protocols the core needs from the outside world, and the errors adapters raise; and
the store's AccountStore role, named here for the web desk (adapters import no bot.storage)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from bot.storage.base import AccountStore
from bot.types import Attachment, Capabilities, ChatRef, Delivered, IncomingEvent, Outgoing

__all__ = [
    "AccountStore",
    "Adapter",
    "DeliveryError",
    "EventSink",
    "LeasedIntake",
    "Metrics",
    "ModerationSurface",
    "NoMetrics",
    "Rejected",
    "RetryLater",
    "ThreadGone",
    "Unreachable",
]

EventSink = Callable[[IncomingEvent], Awaitable[None]]
"""Where an adapter hands every inbound event; it returns once the event is durably handled."""


class DeliveryError(Exception):
    """A send failed. Adapters raise a subclass so the outbox knows what to do."""


class RetryLater(DeliveryError):
    """A passing failure (429, 5xx, timeout, reset): send again, after `retry_after` if given.

    `maybe_delivered` is true when the platform may have acted before failing (a timeout after
    the request was sent): the retry is then at-least-once and counted.
    """

    def __init__(
        self, reason: str, retry_after: float | None = None, *, maybe_delivered: bool = False
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered


class Unreachable(DeliveryError):
    """The recipient cannot be reached (blocked the bot, DMs closed, 403): do not retry."""


class ThreadGone(DeliveryError):
    """The ticket's topic or thread no longer exists: open a new one and send again."""


class Rejected(DeliveryError):
    """The platform refused the request as malformed (400): retrying will not help."""


class Adapter(Protocol):
    """A platform: receives events into the sink, sends replies, fetches attachment bytes."""

    platform: str
    capabilities: Capabilities

    async def run(self, sink: EventSink) -> None:
        """Receive events until cancelled; each goes to `sink` before it is acknowledged."""
        ...

    async def send(self, out: Outgoing) -> Delivered:
        """Deliver one reply; raise a DeliveryError subclass on failure."""
        ...

    async def fetch_attachment(self, attachment: Attachment, max_bytes: int) -> bytes:
        """The bytes of an attachment; raise ValueError when larger than `max_bytes`."""
        ...


@runtime_checkable
class ModerationSurface(Protocol):
    """An adapter that can page moderators: one topic or thread per ticket."""

    platform: str

    async def open_thread(self, chat: ChatRef, title: str) -> str:
        """Create a topic/thread in the moderator chat `chat` and return its id."""
        ...


class Metrics(Protocol):
    """Where the hub and the outbox report what they do (a Prometheus registry in the web
    adapter, or nothing). Labels are bounded: platform names and fixed kinds, never ids."""

    def event(self, platform: str, kind: str) -> None:
        """An inbound event of `kind` (text, button, command, form) arrived from `platform`."""
        ...

    def turn(self, seconds: float) -> None:
        """An event was handled (or failed) in `seconds`."""
        ...

    def delivery(self, platform: str, outcome: str) -> None:
        """A delivery to `platform` ended: "sent", "retry" or "dead"."""
        ...


class NoMetrics:
    """Metrics that go nowhere: the default when nothing collects them."""

    def event(self, platform: str, kind: str) -> None:
        """Ignored."""

    def turn(self, seconds: float) -> None:
        """Ignored."""

    def delivery(self, platform: str, outcome: str) -> None:
        """Ignored."""


@runtime_checkable
class LeasedIntake(Protocol):
    """An adapter of which one process of a deployment at a time may receive (Telegram's
    getUpdates, Discord's gateway), while every process may send."""

    platform: str
    intake_lease: str  # the lease `run` needs; "" when every process may receive (a webhook)

    async def standby(self) -> None:
        """Until cancelled: be able to send while another process receives."""
        ...
