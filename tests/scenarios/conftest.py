"""Scenario fixtures: a harness per test on the real runtime, the help center built once."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers.fakes import Harness, MakeHarness, harness


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """A harness on a SqliteStore in tmp_path (the store a deployment runs on)."""
    async with harness(tmp_path / "data") as opened:
        yield opened


@pytest.fixture
def make_harness(tmp_path: Path) -> MakeHarness:
    """Open a harness with another store or settings: `async with make_harness(...) as h`."""
    return functools.partial(harness, tmp_path / "data-custom")


@pytest.fixture(params=["en", "zh-CN"])
def lang(request: pytest.FixtureRequest) -> str:
    """Both languages."""
    return str(request.param)
