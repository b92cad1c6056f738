"""`kefu db migrate` and `kefu db copy --from URL --to URL`."""

from __future__ import annotations

import dataclasses
import sys
from typing import cast

from bot.app import open_store
from bot.config import Config, ConfigError, parse_store_url
from bot.storage.base import Store
from bot.storage.portable import NotEmpty, Portable, copy_store


def _at(config: Config, url: str) -> Config:
    """The configuration with its store at `url` (the password still from password_env)."""
    if not url:
        return config
    parse_store_url(url)
    return dataclasses.replace(config, store=dataclasses.replace(config.store, url=url))


async def migrate(config: Config, url: str) -> int:
    """Open the store, which applies the schema files it has not seen; say where it stands."""
    chosen = _at(config, url)
    store = await open_store(chosen)
    await store.close()
    where = chosen.store.url if chosen.store.postgres else str(chosen.sqlite_path())
    print(f"{_redacted(where)}: schema up to date")
    return 0


async def copy(config: Config, source_url: str, target_url: str) -> int:
    """Copy every table from one store into an empty other; print and check the counts."""
    if source_url == target_url:
        raise ConfigError("--from and --to name the same store")
    source = await open_store(_at(config, source_url))
    try:
        target = await open_store(_at(config, target_url))
        try:
            print(f"copying {_redacted(source_url)} → {_redacted(target_url)}")
            print(f"{'table':<20} {'from':>9}   {'to':>9}")
            counts = await copy_store(_portable(source), _portable(target), print)
        except NotEmpty as exc:
            print(f"kefu db copy: {exc}; copy into a new, empty store", file=sys.stderr)
            return 1
        finally:
            await target.close()
    finally:
        await source.close()
    bad = [name for name, before, after in counts if before != after]
    if bad:
        print(f"kefu db copy: counts differ in {', '.join(bad)}", file=sys.stderr)
        return 1
    print(f"copied {sum(before for _, before, _ in counts)} rows; counts match")
    return 0


def _portable(store: Store) -> Portable:
    """Both stores play the copy's role (SqlitePortable, PostgresPortable)."""
    return cast(Portable, store)


def _redacted(url: str) -> str:
    """A URL as printed: a password written into it (against the advice) is not shown."""
    head, at, tail = url.rpartition("@")
    if not at or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, user = head.partition("//")
    return f"{scheme}//{user.split(':', 1)[0]}:***@{tail}"
