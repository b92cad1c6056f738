"""A per-user sliding-window message counter: over the limit, one polite notice a window."""

from __future__ import annotations

from collections import deque

WINDOW = 60.0


class RateLimiter:
    """Counts messages per key in the last minute; nothing is dropped, only noticed.

    Keys idle for a whole window are swept out once a window, so what it holds is bounded by
    the people who wrote in the last two minutes, not by everyone who ever wrote.
    """

    def __init__(self, per_minute: int) -> None:
        self._limit = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._noticed: dict[str, float] = {}
        self._swept = 0.0

    def hit(self, key: str, now: float) -> bool:
        """Count one message; True exactly once per window when the limit is passed."""
        if self._limit <= 0:
            return False
        if now - self._swept >= WINDOW:
            self._sweep(now)
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        while hits and now - hits[0] >= WINDOW:
            hits.popleft()
        hits.append(now)
        if len(hits) <= self._limit or now - self._noticed.get(key, -WINDOW) < WINDOW:
            return False
        self._noticed[key] = now
        return True

    def _sweep(self, now: float) -> None:
        self._swept = now
        for key in [k for k, h in self._hits.items() if not h or now - h[-1] >= WINDOW]:
            del self._hits[key]
        for key in [k for k, at in self._noticed.items() if now - at >= WINDOW]:
            del self._noticed[key]

    def __len__(self) -> int:
        """How many keys it holds now."""
        return len(self._hits)
