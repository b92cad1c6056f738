"""Scenario fixtures: a harness per test on the real runtime, the help center built once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from tests.helpers.fakes import Harness, StoreKind, harness

MakeHarness = Callable[..., AbstractAsyncContextManager[Harness]]


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """A harness on a SqliteStore in tmp_path (the store a deployment runs on)."""
    async with harness(tmp_path / "data") as opened:
        yield opened


@pytest.fixture
def make_harness(tmp_path: Path) -> MakeHarness:
    """Open a harness with another store or [bot] settings: `async with make_harness(...)`."""

    def make(
        store_kind: StoreKind = "sqlite", **bot: object
    ) -> AbstractAsyncContextManager[Harness]:
        return harness(tmp_path / f"data-{store_kind}", store_kind, **bot)

    return make


@pytest.fixture(params=["en", "zh-CN"])
def lang(request: pytest.FixtureRequest) -> str:
    """Both languages."""
    return str(request.param)
