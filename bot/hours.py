"""Staffed hours such as "Mon-Fri 09:00-18:00" in a time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SPEC = re.compile(r"^\s*(\w{3})(?:-(\w{3}))?\s+(\d\d):(\d\d)-(\d\d):(\d\d)\s*$")


@dataclass(frozen=True, slots=True)
class Hours:
    """Days of the week (0 = Monday) and a daily window, in a zone."""

    days: frozenset[int]
    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str, zone: str) -> Hours | None:
        """Parse the spec; "" means always staffed (None). Raises ValueError when malformed."""
        if not spec.strip():
            return None
        m = _SPEC.match(spec.lower())
        if not m or m.group(1) not in DAYS or (m.group(2) and m.group(2) not in DAYS):
            raise ValueError(f"hours must look like 'Mon-Fri 09:00-18:00', not {spec!r}")
        first = DAYS.index(m.group(1))
        last = DAYS.index(m.group(2)) if m.group(2) else first
        days = {d % 7 for d in range(first, last + 1 if last >= first else last + 8)}
        start = time(int(m.group(3)), int(m.group(4)))
        end = time(int(m.group(5)), int(m.group(6)))
        return cls(frozenset(days), start, end, ZoneInfo(zone))

    def is_open(self, now: float) -> bool:
        """Whether staff are on at epoch time `now`."""
        local = datetime.fromtimestamp(now, UTC).astimezone(self.zone)
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_open(self, now: float) -> datetime:
        """The next start of a staffed window after `now`, in local time."""
        local = datetime.fromtimestamp(now, UTC).astimezone(self.zone)
        for ahead in range(8):
            day = (local + timedelta(days=ahead)).date()
            start = datetime.combine(day, self.start, self.zone)
            if day.weekday() in self.days and start > local:
                return start
        return local
