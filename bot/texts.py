"""Every user-facing string, from bot/locales/<lang>.toml, with English as the fallback."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

LANGS = ("zh-CN", "en")  # the languages Kefu speaks: its catalogs (bot/locales/<lang>.toml)
LANG_NAMES = {"zh-CN": "中文", "en": "English"}  # how each is offered, in itself


class Texts:
    """The string catalogs, loaded once and checked to hold the same keys."""

    def __init__(self) -> None:
        self._catalogs: dict[str, dict[str, str]] = {}
        for lang in LANGS:
            raw = resources.files("bot").joinpath(f"locales/{lang}.toml").read_text("utf-8")
            self._catalogs[lang] = tomllib.loads(raw)
        missing = set(self._catalogs["en"]) ^ set(self._catalogs["zh-CN"])
        if missing:
            raise RuntimeError(f"locale catalogs differ in keys: {sorted(missing)}")

    def __call__(self, lang: str, key: str, /, **values: Any) -> str:
        """The string `key` in `lang` (falling back to English), formatted with `values`."""
        catalog = self._catalogs.get(lang) or self._catalogs["en"]
        template = catalog.get(key) or self._catalogs["en"][key]
        return template.format(**values) if values else template

    def keys(self) -> set[str]:
        """Every key of the catalogs."""
        return set(self._catalogs["en"])

    def both(self, key: str, /, sep: str = " · ", **values: Any) -> str:
        """The string in every language, English first, joined: for a reader whose language is
        not known ("Talk to a person / 人工客服")."""
        order = sorted(LANGS, key=lambda lang: lang != "en")
        return sep.join(self(lang, key, **values) for lang in order)


def normalize_lang(locale: str) -> str:
    """Map a platform locale ("zh-hans", "zh_CN.UTF-8", "en-US") to one of LANGS, or ""."""
    low = locale.lower().replace("_", "-")
    for lang in LANGS:
        if low.startswith(lang.lower().split("-")[0]):
            return lang
    return ""
