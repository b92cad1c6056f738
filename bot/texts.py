"""Every user-facing string, from bot/locales/<lang>.toml, with English as the fallback."""

from __future__ import annotations

import functools
import re
import string
import tomllib
from importlib import resources
from typing import Any

LANGS = ("zh-CN", "en")  # the languages Kefu speaks: its catalogs (bot/locales/<lang>.toml)
LANG_NAMES = {"zh-CN": "中文", "en": "English"}  # how each is offered, in itself
LOG_PREFIX = "log_"  # the keys of the lines Kefu writes into a ticket's history ("claimed")


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

    def reread(self, line: str, lang: str) -> str:
        """A history line Kefu wrote ("已认领", "closed. duplicate"), in `lang` whichever
        language it was kept in (the moderators' at the time); any other text as it is."""
        for key, pattern in self._log_patterns():
            found = pattern.match(line)
            if found is not None:
                return self(lang, key, **found.groupdict()).strip()
        return line

    @functools.cache  # noqa: B019  # one Texts a process, never freed before exit
    def _log_patterns(self) -> list[tuple[str, re.Pattern[str]]]:
        """Each language's history lines as patterns, the most specific first."""
        found = []
        for catalog in self._catalogs.values():
            for key, template in catalog.items():
                if key.startswith(LOG_PREFIX):
                    found.append((key, _pattern(template)))
        return sorted(found, key=lambda kp: -len(kp[1].pattern))

    def both(self, key: str, /, sep: str = " · ", **values: Any) -> str:
        """The string in every language, English first, joined: for a reader whose language is
        not known ("Talk to a person / 人工客服")."""
        order = sorted(LANGS, key=lambda lang: lang != "en")
        return sep.join(self(lang, key, **values) for lang in order)


def _pattern(template: str) -> re.Pattern[str]:
    """A str.format template as an anchored pattern: its fields captured, its spaces optional
    (an empty last field was stripped off with the space before it)."""
    parts = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        parts.append(r"\s*".join(re.escape(word) for word in literal.split(" ")))
        if name:
            parts.append(f"(?P<{name}>.*?)")
    return re.compile(r"\A" + "".join(parts) + r"\Z", re.DOTALL)


def normalize_lang(locale: str) -> str:
    """Map a platform locale ("zh-hans", "zh_CN.UTF-8", "en-US") to one of LANGS, or ""."""
    low = locale.lower().replace("_", "-")
    for lang in LANGS:
        if low.startswith(lang.lower().split("-")[0]):
            return lang
    return ""
