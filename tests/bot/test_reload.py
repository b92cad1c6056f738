"""Editing the content folder while Kefu runs: picked up without a restart, or kept when bad."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from bot.app import content_stamp, open_runtime, reload_content
from bot.config import BotConfig, Config, KnowledgeConfig
from knowledge.loader import default_content_path


def _config(tmp_path: Path) -> Config:
    content = tmp_path / "content"
    shutil.copytree(default_content_path(), content)
    return Config(bot=BotConfig(data_dir=tmp_path / "data"), knowledge=KnowledgeConfig(content))


def _retitle(content: Path, article: str, lang: str, title: str) -> None:
    path = content / "articles" / lang / f"{article}.md"
    text = path.read_text(encoding="utf-8")
    old = next(line for line in text.splitlines() if line.startswith("title:"))
    path.write_text(text.replace(old, f"title: {title}", 1), encoding="utf-8")


async def test_an_edited_article_is_served_after_a_reload(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert config.knowledge.path is not None
    async with open_runtime(config, []) as rt:
        before = content_stamp(config)
        _retitle(config.knowledge.path, "account-banned", "en", "Zebra quokka suspension")
        assert content_stamp(config) != before
        assert rt.services.kb.article("account-banned", "en").title != "Zebra quokka suspension"
        assert await reload_content(rt)
        assert rt.services.kb.article("account-banned", "en").title == "Zebra quokka suspension"
        hits = rt.services.index.search("zebra quokka", lang="en").hits
        assert hits and hits[0].id == "account-banned"


async def test_invalid_content_keeps_the_old_index_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _config(tmp_path)
    assert config.knowledge.path is not None
    async with open_runtime(config, []) as rt:
        old_kb, old_index = rt.services.kb, rt.services.index
        (config.knowledge.path / "categories.toml").write_text("[[category]\n", encoding="utf-8")
        with caplog.at_level(logging.ERROR, logger="bot.app"):
            assert not await reload_content(rt)
        assert rt.services.kb is old_kb and rt.services.index is old_index
        assert "categories.toml" in caplog.text and "previous version" in caplog.text
