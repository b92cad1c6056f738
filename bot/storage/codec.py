"""What every store shares: its numbered schema files, and how texts are folded and encoded."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import orjson

_SCHEMA_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def schema_scripts(kind: str) -> list[tuple[int, str]]:
    """The numbered schema files of one store (`sqlite`, `postgres`): (version, SQL text)."""
    folder = resources.files("bot.storage").joinpath("schema", kind)
    scripts: dict[int, str] = {}
    for entry in folder.iterdir():
        match = _SCHEMA_NAME.match(entry.name)
        if match is None:
            continue
        version = int(match.group(1))
        if version in scripts:
            raise RuntimeError(f"two {kind} schema files share version {version}")
        scripts[version] = entry.read_text(encoding="utf-8")
    return sorted(scripts.items())


def schema_functions(kind: str) -> str:
    """The store's functions in their current form (schema/<kind>/functions.sql), or ""."""
    entry = resources.files("bot.storage").joinpath("schema", kind, "functions.sql")
    return entry.read_text(encoding="utf-8") if entry.is_file() else ""


def dump_json(value: object) -> str:
    """Compact JSON that keeps CJK readable in the database.

    orjson writes what the standard library writes (compact, UTF-8 kept) several times faster;
    what it refuses (keys that are not strings, integers beyond 64 bits, a lone surrogate, a
    str subclass) the standard library writes as before.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def load_json(text: str | bytes) -> Any:
    """A value from JSON text (orjson; the standard library for what only it reads, NaN)."""
    try:
        return orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError
        return json.loads(text)


def fold_query(query: str) -> str:
    """How search misses are grouped: lower case, whitespace runs collapsed, trimmed."""
    return " ".join(query.lower().split())
