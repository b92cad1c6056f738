"""Configuration: defaults, a valid file, errors that name the key, --config over KEFU_CONFIG."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]


def test_defaults() -> None:
    cfg = Config()
    assert cfg.bot.data_dir == Path("./kefu-data")
    assert cfg.bot.default_lang == "zh-CN"
    assert cfg.knowledge.path is None
    assert not cfg.telegram.enabled and not cfg.discord.enabled
    assert cfg.telegram.token_env == "KEFU_TELEGRAM_TOKEN"
    assert cfg.discord.token_env == "KEFU_DISCORD_TOKEN"
    assert cfg.telegram.mode == "polling"
    assert cfg.telegram.admins_only is True
    assert cfg.handoff.sla_minutes > 0


def test_no_config_at_all_means_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEFU_CONFIG", raising=False)
    assert load_config(None) == Config()


def test_a_valid_file(tmp_path: Path) -> None:
    text = """
[bot]
data_dir = "/srv/kefu"
default_lang = "en"
reopen_days = 3
angry_words_en = ["grr"]

[knowledge]
path = "my-help-center"

[handoff]
sla_minutes = 15
hours = "Mon-Fri 09:00-18:00"
timezone = "Asia/Shanghai"

[telegram]
enabled = true
moderator_chat_id = -1001234567890
mode = "webhook"
base_url = "http://localhost:8081/bot"
base_file_url = "http://localhost:8081/file/bot"
port = 8444

[discord]
enabled = true
guild_id = 123456789012345678
moderator_channel_id = "223456789012345678"
moderator_role_id = 323456789012345678
"""
    cfg = parse_config(text, "kefu.toml")
    assert cfg.bot.data_dir == Path("/srv/kefu")
    assert cfg.bot.reopen_days == 3
    assert cfg.bot.angry_words_en == ("grr",)
    assert cfg.knowledge.path == Path("my-help-center")
    assert cfg.handoff.timezone == "Asia/Shanghai"
    assert cfg.telegram.moderator_chat_id == "-1001234567890"
    assert cfg.telegram.base_url == "http://localhost:8081/bot"
    assert cfg.telegram.port == 8444
    assert cfg.discord.guild_id == "123456789012345678"
    assert cfg.discord.moderator_channel_id == "223456789012345678"
    assert cfg.discord.moderator_role_id == "323456789012345678"
    assert cfg.source == "kefu.toml"


def test_the_example_config_parses_and_documents_every_key() -> None:
    example = ROOT / "config.example.toml"
    cfg = parse_config(example.read_text(encoding="utf-8"), str(example))
    assert cfg.bot.default_lang == "zh-CN"
    raw = tomllib.loads(example.read_text(encoding="utf-8"))
    for section in ("bot", "knowledge", "handoff", "telegram", "discord", "store"):
        documented = set(raw.get(section, {}))
        text = example.read_text(encoding="utf-8")
        for f in fields(getattr(cfg, section)):
            assert f.name in documented or f"{f.name} =" in text, f"[{section}] {f.name}"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[bot]\ndata_dri = 'x'\n", "[bot] data_dri"),
        ("[telegram]\ntokn_env = 'X'\n", "[telegram] tokn_env"),
        ("[bots]\ndata_dir = 'x'\n", "[bots]"),
        ("[bot]\nreopen_days = 'seven'\n", "[bot] reopen_days"),
        ("[bot]\nreopen_days = -1\n", "[bot] reopen_days"),
        ("[bot]\nreopen_days = true\n", "[bot] reopen_days"),
        ("[telegram]\nenabled = 'yes'\n", "[telegram] enabled"),
        ("[bot]\nangry_words_zh = '垃圾'\n", "[bot] angry_words_zh"),
        ("[bot]\nangry_words_en = [1, 2]\n", "[bot] angry_words_en"),
        ("[bot]\ndata_dir = 5\n", "[bot] data_dir"),
        ("[bot]\ndata_dir = ''\n", "[bot] data_dir"),
        ("[telegram]\nmoderator_chat_id = 1.5\n", "[telegram] moderator_chat_id"),
        ("[discord]\nguild_id = true\n", "[discord] guild_id"),
        ("[telegram]\nmode = 'push'\n", "[telegram] mode"),
        ("[bot]\ndefault_lang = 'fr'\n", "[bot] default_lang"),
        ("[telegram]\nenabled = true\n", "[telegram] moderator_chat_id"),
        ("[discord]\nenabled = true\n", "[discord] moderator_channel_id"),
        ("bot = 3\n", "[bot]"),
        ("[store]\nurl = 'mysql://x'\n", "[store] url"),
        ("[store]\nurl = 'sqlite:///'\n", "[store] url"),
        ("[store]\npool = 3\n", "[store] pool"),
        ("[telegram]\ngroup_limit = 0\n", "[telegram] group_limit"),
        ("[telegram]\ngroup_period = 0\n", "[telegram] group_period"),
        ("[telegram]\ngroup_period = 'a minute'\n", "[telegram] group_period"),
    ],
)
def test_errors_name_the_key(text: str, names: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert names in str(err.value)


def test_a_groups_budget_may_be_scaled_for_a_test_clock() -> None:
    assert (Config().telegram.group_limit, Config().telegram.group_period) == (20, 60.0)
    cfg = parse_config("[telegram]\ngroup_limit = 20\ngroup_period = 6\n")
    assert (cfg.telegram.group_limit, cfg.telegram.group_period) == (20, 6.0)
    assert parse_config("[telegram]\ngroup_period = 0.5\n").telegram.group_period == 0.5


def test_invalid_toml_names_the_file() -> None:
    with pytest.raises(ConfigError, match=r"kefu\.toml.*invalid TOML"):
        parse_config("[bot\n", "kefu.toml")


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(str(tmp_path / "nope.toml"))


@pytest.mark.parametrize("value", ["-1001234567890", -1001234567890])
def test_ids_may_be_integers_or_strings(value: object) -> None:
    literal = f'"{value}"' if isinstance(value, str) else str(value)
    cfg = parse_config(f"[telegram]\nenabled = true\nmoderator_chat_id = {literal}\n")
    assert cfg.telegram.moderator_chat_id == "-1001234567890"


def _write(path: Path, data_dir: str) -> Path:
    path.write_text(f'[bot]\ndata_dir = "{data_dir}"\n', encoding="utf-8")
    return path


def test_kefu_config_is_read_when_there_is_no_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = _write(tmp_path / "env.toml", "from-env")
    monkeypatch.setenv("KEFU_CONFIG", str(env_file))
    assert load_config(None).bot.data_dir == Path("from-env")


def test_the_flag_wins_over_kefu_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = _write(tmp_path / "env.toml", "from-env")
    flag_file = _write(tmp_path / "flag.toml", "from-flag")
    monkeypatch.setenv("KEFU_CONFIG", str(env_file))
    assert load_config(str(flag_file)).bot.data_dir == Path("from-flag")


def test_relative_config_paths_are_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    _write(tmp_path / "etc" / "kefu.toml", "rel-data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEFU_CONFIG", raising=False)
    cfg = load_config("etc/kefu.toml")
    assert cfg.bot.data_dir == Path("rel-data")
    assert cfg.bot.data_dir.resolve() == tmp_path / "rel-data"


def test_tokens_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = parse_config("[telegram]\ntoken_env = 'MY_TOKEN'\n")
    monkeypatch.setenv("MY_TOKEN", "123:abc")
    assert cfg.token(cfg.telegram.token_env) == "123:abc"
    monkeypatch.delenv("MY_TOKEN")
    assert cfg.token(cfg.telegram.token_env) == ""


def test_the_store_is_sqlite_unless_a_postgresql_url_is_given() -> None:
    default = Config()
    assert not default.store.postgres
    assert default.sqlite_path() == Path("./kefu-data/kefu.sqlite3")
    assert default.files_dir() == Path("./kefu-data/files")
    chosen = parse_config('[store]\nurl = "sqlite:///var/kefu.db"\nfiles = "/srv/kefu-files"\n')
    assert chosen.sqlite_path() == Path("var/kefu.db")
    assert chosen.files_dir() == Path("/srv/kefu-files")
    socket = "postgresql://kefu@/kefu?host=/run/postgresql"
    shared = parse_config(f'[store]\nurl = "{socket}"\npassword_env = "KEFU_PG_PASSWORD"\n')
    assert shared.store.postgres and shared.store.url == socket
    assert shared.store.password_env == "KEFU_PG_PASSWORD"


ROUTES = """
[telegram]
enabled = true
moderator_chat_id = -1000

[discord]
enabled = true
moderator_channel_id = "55"
moderator_role_id = "66"

[[route]]
category = "commerce/"
telegram = [-1001, "-1002"]
discord_channel = 77
discord_role = 88
priority = 1

[[route]]
category = "account/security"
telegram = -1003
"""


def test_routes_are_read_in_order_and_the_default_comes_last() -> None:
    cfg = parse_config(ROUTES)
    table = cfg.route_table()
    first, second = table.routes
    assert first.chats == (("telegram", ("-1001", "-1002")), ("discord", ("77",)))
    assert first.priority == 1
    assert second.chats == (("telegram", ("-1003",)),)
    assert table.route_for("commerce/refunds") == first
    assert table.route_for("commerce") == first
    assert table.route_for("commercial") == table.default  # a prefix on "/" boundaries
    assert table.route_for("account/security") == second
    assert table.default is not None
    assert table.default.chats == (("telegram", ("-1000",)), ("discord", ("55",)))


def test_without_routes_the_single_group_serves_everything() -> None:
    cfg = parse_config("[telegram]\nenabled = true\nmoderator_chat_id = -1000\n")
    table = cfg.route_table()
    assert table.routes == ()
    assert table.route_for("anything/at-all") == table.default
    assert [c.id for c in table.all_chats()] == ["-1000"]


def test_routes_alone_are_enough_for_an_enabled_platform() -> None:
    cfg = parse_config("[telegram]\nenabled = true\n[[route]]\ncategory = '*'\ntelegram = [-1]\n")
    assert cfg.route_table().route_for("x") is not None


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[[route]]\ncategory = 'a/'\n", "needs telegram groups or a discord_channel"),
        ("[[route]]\ncategory = 'a/'\ntelegram = [true]\n", "telegram"),
        ("[[route]]\ncategory = ''\ntelegram = [1]\n", "category"),
        ("[[route]]\ntelegram = [1]\nprority = 1\n", "prority"),
        ("[[route]]\ntelegram = [1]\npriority = 'high'\n", "priority"),
        ("[route]\ntelegram = [1]\n", "[[route]]"),
    ],
)
def test_a_bad_route_names_what_is_wrong(text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        parse_config(text)
