"""The count of moderators at work is taken at most once a minute (bot.flows.staffing)."""

from __future__ import annotations

from bot.flows.staffing import ACTIVE_WINDOW, Staffing


class CountingStore:
    """Answers active_moderators with the next of `answers`, and remembers the calls."""

    def __init__(self, *answers: int) -> None:
        self.answers = list(answers)
        self.asked: list[float] = []

    async def active_moderators(self, since: float) -> int:
        self.asked.append(since)
        return self.answers.pop(0)


async def test_a_count_is_used_for_a_minute_then_taken_again() -> None:
    store, staffing = CountingStore(3, 0), Staffing()
    assert await staffing.active(store, 1000.0) == 3  # type: ignore[arg-type]
    assert await staffing.active(store, 1059.0) == 3  # type: ignore[arg-type]
    assert store.asked == [1000.0 - ACTIVE_WINDOW]
    assert await staffing.active(store, 1060.0) == 1  # type: ignore[arg-type]  # nobody: 1
    assert store.asked == [1000.0 - ACTIVE_WINDOW, 1060.0 - ACTIVE_WINDOW]


async def test_a_clock_that_went_back_counts_again() -> None:
    store, staffing = CountingStore(2, 5), Staffing()
    await staffing.active(store, 1000.0)  # type: ignore[arg-type]
    assert await staffing.active(store, 900.0) == 5  # type: ignore[arg-type]
