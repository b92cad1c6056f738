"""A per-user sliding-window message counter: over the limit, one polite notice a window."""

from __future__ import annotations

from collections import deque

WINDOW = 60.0


class RateLimiter:
    """Counts messages per key in the last minute; nothing is dropped, only noticed."""

    def __init__(self, per_minute: int, max_keys: int = 100_000) -> None:
        self._limit = per_minute
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._noticed: dict[str, float] = {}

    def hit(self, key: str, now: float) -> bool:
        """Count one message; True exactly once per window when the limit is passed."""
        if self._limit <= 0:
            return False
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= WINDOW:
            hits.popleft()
        hits.append(now)
        if len(self._hits) > self._max_keys:
            self._forget_idle(now)
        if len(hits) <= self._limit or now - self._noticed.get(key, -WINDOW) < WINDOW:
            return False
        self._noticed[key] = now
        return True

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or now - h[-1] >= WINDOW]:
            del self._hits[key]
            self._noticed.pop(key, None)
