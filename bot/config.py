"""Configuration: a TOML file, every key documented in config.example.toml.

`--config FILE` wins over the KEFU_CONFIG environment variable; with neither, defaults apply.
Tokens never live in the file: it names the environment variables that hold them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from bot.routes import ANY, Route, RouteConfig, RouteError, Routes, parse_route
from bot.texts import LANGS


class ConfigError(Exception):
    """An invalid configuration; the message names the key."""


@dataclass(frozen=True, slots=True)
class BotConfig:
    """[bot]: where data lives and how the bot behaves."""

    data_dir: Path = Path("./kefu-data")
    name: str = ""  # your app's or community's name, said in the greeting
    default_lang: str = "zh-CN"
    reopen_days: int = 7
    retention_days: int = 90  # closed tickets' attachments are deleted after this; 0 = never
    log_days: int = 3  # delivered messages and seen event ids are forgotten after this; 0 = never
    user_rate_limit: int = 20  # messages a minute per user before one polite notice
    max_attachments_per_ticket: int = 30
    max_image_bytes: int = 8 * 1024 * 1024
    # words that mean frustration here, on top of the built-in ones (knowledge/lexicon/
    # intents.toml): the bot offers a person at once
    angry_words_zh: tuple[str, ...] = ()
    angry_words_en: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KnowledgeConfig:
    """[knowledge]: the help center folder (None = the bundled one)."""

    path: Path | None = None


@dataclass(frozen=True, slots=True)
class HandoffConfig:
    """[handoff]: service levels and staffed hours."""

    sla_minutes: int = 30
    hours: str = ""  # e.g. "Mon-Fri 09:00-18:00"; empty = always staffed
    timezone: str = "UTC"
    moderator_names: bool = False  # show the moderator's name on relayed replies


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    """[telegram]: the Telegram adapter."""

    enabled: bool = False
    token_env: str = "KEFU_TELEGRAM_TOKEN"
    mode: str = "polling"  # polling | webhook
    moderator_chat_id: str = ""
    admins_only: bool = True
    base_url: str = ""
    base_file_url: str = ""
    webhook_url: str = ""
    listen: str = "127.0.0.1"
    port: int = 8443
    secret_token_env: str = "KEFU_TELEGRAM_SECRET"
    rate_limit: bool = True
    # Telegram lets a bot send 20 messages a minute into one group; Kefu spreads them evenly.
    # Only tests (a scaled clock) and a changed Telegram have a reason to set them.
    group_limit: int = 20
    group_period: float = 60.0


@dataclass(frozen=True, slots=True)
class DiscordConfig:
    """[discord]: the Discord adapter."""

    enabled: bool = False
    token_env: str = "KEFU_DISCORD_TOKEN"
    guild_id: str = ""
    moderator_channel_id: str = ""
    moderator_role_id: str = ""


SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")
DB_NAME = "kefu.sqlite3"


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """[store]: where Kefu keeps its records (and its attachments)."""

    url: str = ""  # "" or sqlite:///PATH: SQLite; postgresql://…: several processes share it
    password_env: str = ""  # environment variable with the PostgreSQL password, if any
    files: str = ""  # directory of the attachments; default <data_dir>/files

    @property
    def postgres(self) -> bool:
        """Whether the store is a PostgreSQL database."""
        return self.url.startswith(POSTGRES_PREFIXES)


@dataclass(frozen=True, slots=True)
class WebConfig:
    """[web]: the web desk, reports and /metrics (`kefu web`, or inside `kefu run`)."""

    enabled: bool = False  # serve it inside `kefu run` too
    listen: str = "127.0.0.1"
    port: int = 8080
    metrics_token_env: str = ""  # names the env var of a bearer token for /metrics ("" = open)
    session_hours: int = 12  # a sign-in lasts this long
    public_url: str = ""  # the address browsers use, e.g. "https://desk.example.com"
    discord_client_id: str = ""  # Discord OAuth2 sign-in (with the secret below)
    discord_client_secret_env: str = "KEFU_DISCORD_CLIENT_SECRET"
    discord_api_url: str = "https://discord.com/api/v10"
    discord_authorize_url: str = "https://discord.com/oauth2/authorize"


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration."""

    bot: BotConfig = field(default_factory=BotConfig)
    knowledge: KnowledgeConfig = field(default_factory=KnowledgeConfig)
    handoff: HandoffConfig = field(default_factory=HandoffConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    web: WebConfig = field(default_factory=WebConfig)
    routes: tuple[RouteConfig, ...] = ()  # [[route]] tables, in order
    source: str = ""  # the file it came from, "" for defaults

    def token(self, env_name: str) -> str:
        """The secret held in environment variable `env_name` ("" when unset)."""
        return os.environ.get(env_name, "")

    def sqlite_path(self) -> Path:
        """The SQLite file: `[store] url = "sqlite:///PATH"` (relative to the working directory;
        four slashes for an absolute path), else `<data_dir>/kefu.sqlite3`."""
        if self.store.url.startswith(SQLITE_PREFIX):
            return Path(self.store.url.removeprefix(SQLITE_PREFIX))
        return self.bot.data_dir / DB_NAME

    def files_dir(self) -> Path:
        """Where attachments are stored: `[store] files`, else `<data_dir>/files`."""
        return Path(self.store.files) if self.store.files else self.bot.data_dir / "files"

    def platforms(self) -> tuple[str, ...]:
        """The platforms that are enabled."""
        enabled = (("telegram", self.telegram.enabled), ("discord", self.discord.enabled))
        return tuple(name for name, on in enabled if on)

    def default_route(self) -> RouteConfig | None:
        """The [telegram] and [discord] moderator chats as the route of last resort."""
        group, channel = self.telegram.moderator_chat_id, self.discord.moderator_channel_id
        if not group and not channel:
            return None
        telegram = (group,) if group else ()
        return RouteConfig(ANY, telegram, channel, self.discord.moderator_role_id)

    def route_table(self) -> Routes:
        """The routes a ticket may take (with no [[route]], the default serves everything)."""
        return Routes.of(self.routes, self.default_route(), self.platforms())


_SECTIONS: dict[str, type[Any]] = {
    "bot": BotConfig,
    "knowledge": KnowledgeConfig,
    "handoff": HandoffConfig,
    "telegram": TelegramConfig,
    "discord": DiscordConfig,
    "web": WebConfig,
    "store": StoreConfig,
}
_ID_KEYS = {
    "moderator_chat_id",
    "guild_id",
    "moderator_channel_id",
    "moderator_role_id",
    "discord_client_id",
}
PLATFORMS = ("telegram", "discord")  # the [sections] of the platforms Kefu serves


def _is_id(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | str)


def _is_count(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int) and v >= 0


def _is_seconds(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | float) and v > 0


def _is_words(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(w, str) for w in v)


# (does this rule apply to the key's default?, is the value valid?, convert, what it must be)
_RULES: list[
    tuple[Callable[[str, Any], bool], Callable[[Any], bool], Callable[[Any], Any], str]
] = [
    (lambda k, _d: k in _ID_KEYS, _is_id, str, "an integer or a string id"),
    (lambda _k, d: isinstance(d, bool), lambda v: isinstance(v, bool), bool, "true or false"),
    (lambda _k, d: isinstance(d, int), _is_count, int, "a non-negative integer"),
    (lambda _k, d: isinstance(d, float), _is_seconds, float, "a positive number"),
    (lambda _k, d: isinstance(d, tuple), _is_words, tuple, "a list of strings"),
    (
        lambda k, d: isinstance(d, Path) or k == "path",
        lambda v: isinstance(v, str) and bool(v),
        Path,
        "a path",
    ),
    (lambda _k, _d: True, lambda v: isinstance(v, str), str, "a string"),
]


def _coerce(section: str, key: str, value: Any, default: Any) -> Any:
    """Check one value against its default's type; platform ids may be int or str."""
    for applies, valid, convert, must in _RULES:
        if applies(key, default):
            if not valid(value):
                raise ConfigError(f"[{section}] {key} must be {must}")
            return convert(value)
    return value


def _section(name: str, raw: Any) -> Any:
    cls = _SECTIONS[name]
    if not isinstance(raw, dict):
        raise ConfigError(f"[{name}] must be a table")
    defaults = cls()
    known = {f.name for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"[{name}] {key}: unknown key (see config.example.toml)")
        values[key] = _coerce(name, key, value, getattr(defaults, key))
    return cls(**values)


def parse_store_url(url: str) -> None:
    """Check a store URL: "" (the default SQLite file), sqlite:///PATH or postgresql://…"""
    if url and not url.startswith((SQLITE_PREFIX, *POSTGRES_PREFIXES)):
        raise ConfigError('[store] url must be "sqlite:///PATH" or "postgresql://…"')
    if url.startswith(SQLITE_PREFIX) and not url.removeprefix(SQLITE_PREFIX):
        raise ConfigError('[store] url "sqlite:///" needs a file path after it')


def _validate(cfg: Config) -> None:
    parse_store_url(cfg.store.url)
    if cfg.telegram.mode not in ("polling", "webhook"):
        raise ConfigError('[telegram] mode must be "polling" or "webhook"')
    if cfg.telegram.group_limit < 1:
        raise ConfigError("[telegram] group_limit must be at least 1")
    if cfg.bot.default_lang not in LANGS:
        raise ConfigError(f"[bot] default_lang must be one of {', '.join(LANGS)}")
    routed = {p: any(dict(Route.of(r, (p,)).chats) for r in cfg.routes) for p in PLATFORMS}
    if cfg.telegram.enabled and not (cfg.telegram.moderator_chat_id or routed["telegram"]):
        raise ConfigError(
            "[telegram] moderator_chat_id (or a [[route]] with telegram groups) is required: "
            "the id of the moderators' forum group, like -1001234567890 (README, 'Prepare the "
            "moderator group', says how to find it)"
        )
    if cfg.discord.enabled and not (cfg.discord.moderator_channel_id or routed["discord"]):
        raise ConfigError(
            "[discord] moderator_channel_id (or a [[route]] with a discord_channel) is required"
        )


def parse_config(text: str, source: str = "") -> Config:
    """Parse TOML text into a Config; raises ConfigError naming the bad key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source or 'config'}: invalid TOML: {exc}") from exc
    unknown = set(raw) - set(_SECTIONS) - {"route"}
    if unknown:
        raise ConfigError(f"[{sorted(unknown)[0]}]: unknown section (see config.example.toml)")
    parts = {name: _section(name, raw[name]) for name in _SECTIONS if name in raw}
    tables = raw.get("route", [])
    if not isinstance(tables, list):
        raise ConfigError("[[route]] must be an array of tables: write [[route]], not [route]")
    try:
        routes = tuple(parse_route(table, n) for n, table in enumerate(tables, 1))
    except RouteError as exc:
        raise ConfigError(str(exc)) from exc
    cfg = Config(**parts, routes=routes, source=source)
    _validate(cfg)
    return cfg


def load_config(path: str | None = None) -> Config:
    """Load `path`, else $KEFU_CONFIG, else defaults. Relative paths: the working directory."""
    chosen = path or os.environ.get("KEFU_CONFIG", "")
    if not chosen:
        return Config()
    file = Path(chosen)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc.strerror}") from exc
    return parse_config(text, str(file))
