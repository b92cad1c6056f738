"""bot.memory: on glibc (Linux, where Kefu runs and this suite runs) the allocator's knobs
answer; without it both are no-ops."""

from __future__ import annotations

import pytest

from bot.memory import Allocator


def test_freed_memory_is_returned_and_arenas_are_limited() -> None:
    allocator = Allocator()
    garbage = [bytearray(64 * 1024) for _ in range(200)]  # ~13 MB, then freed
    del garbage
    assert allocator.limit_arenas() is True
    assert isinstance(allocator.trim(), bool)


def test_without_glibc_both_are_no_ops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.memory._libc", lambda: None)
    allocator = Allocator()
    assert allocator.limit_arenas() is False
    assert allocator.trim() is False
