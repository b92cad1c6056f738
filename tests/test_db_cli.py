"""`kefu db migrate` and `kefu db copy`, and the other commands on PostgreSQL, in subprocesses:
a deployment made on SQLite (a form with a screenshot, a desk's answer, a web desk account)
moves to PostgreSQL, where `kefu tickets`, `kefu stats`, `kefu desk`, `kefu chat` and
`kefu web users` carry on, and back to SQLite."""

from __future__ import annotations

import re
from pathlib import Path

from bot.storage.base import Store
from bot.storage.postgres import PostgresStore
from bot.storage.sqlite import SqliteStore
from tests.helpers.builders import png, toml_config
from tests.helpers.fakes import shared_knowledge
from tests.helpers.pg import TestDatabases
from tests.test_cli import Done, form_script, kefu


async def _everything(store: Store) -> tuple[object, ...]:
    tickets = await store.list_tickets(limit=100)
    return (
        tickets,
        [await store.messages(t.id) for t in tickets],
        await store.outbox_items(limit=1000),
        await store.get_user("console:alice"),
        await store.load_conversation("console:alice"),
        await store.list_snippets(),
        await store.top_misses(),
        await store.queue(),
        await store.account_names(),
        await store.account_hash("amy"),
        await store.session_key("a key made now", 0.0),
        await store.moderator_names(["desk:bob", "desk:carol"]),
    )


def _sqlite_deployment(work: Path) -> Path:
    """A ticket filed by the form on SQLite and answered at the desk; the config's path."""
    config = toml_config(work / "sqlite.toml", work / "data")
    image = work / "screenshot.png"
    image.write_bytes(png(6, 6))
    lines, _ = form_script(shared_knowledge()[0], image)
    filed = kefu("chat", "--name", "alice", "--lang", "en", config=config, cwd=work,
                 stdin="\n".join(lines) + "\n")  # fmt: skip
    assert filed.code == 0, filed.err
    desk = "/open 1\n/claim\nWe restored your account.\n/snippet-add hi Hello\n"
    answered = kefu("desk", "--name", "bob", config=config, cwd=work, stdin=desk)
    assert answered.code == 0, answered.err
    account = kefu("web", "add-user", "amy", "--password-stdin", config=config, cwd=work,
                   stdin="amy's long password\n")  # fmt: skip
    assert account.code == 0, account.err
    return config


def _counts_match(done: Done, moderators: int) -> None:
    assert done.code == 0, done.out + done.err
    assert "counts match" in done.out
    assert "MISMATCH" not in done.out
    for table in ("tickets", "ticket_messages", "outbox", "seen_events", "files"):
        assert table in done.out
    # the web desk's account and the key its sessions are signed with, counted like the rest
    assert re.search(r"^web_accounts +1 → +1$", done.out, re.MULTILINE), done.out
    assert re.search(r"^web_keys +1 → +1$", done.out, re.MULTILINE), done.out
    # the desk's moderators who acted: their names move with the tickets they handled
    counted = rf"^moderators +{moderators} → +{moderators}$"
    assert re.search(counted, done.out, re.MULTILINE), done.out


async def test_a_sqlite_deployment_moves_to_postgresql_and_back(
    tmp_path: Path, pg_databases: TestDatabases
) -> None:
    work, pg = tmp_path, pg_databases.fresh()
    _sqlite_deployment(work)
    async with await SqliteStore.open(work / "data" / "kefu.sqlite3") as made:
        key = await made.session_key("the session key", 1.0)  # as `kefu web` makes it
    sqlite_url = f"sqlite:///{work / 'data' / 'kefu.sqlite3'}"
    _counts_match(kefu("db", "copy", "--from", sqlite_url, "--to", pg, cwd=work), 1)  # bob
    shared = toml_config(
        work / "pg.toml",
        work / "data",
        f'[store]\nurl = "{pg}"\nfiles = "{work / "data" / "files"}"\n',
    )
    show = kefu("tickets", "show", "1", config=shared, cwd=work)
    stats = kefu("stats", config=shared, cwd=work)
    desk = kefu("desk", "--name", "carol", config=shared, cwd=work, stdin="/open 1\n/snippets\n")
    chat = kefu(
        "chat", "--name", "alice", "--lang", "en", config=shared, cwd=work, stdin="/status\n"
    )
    assert show.code == 0 and "We restored your account." in show.out, show.err
    assert stats.code == 0 and "queue: 1 open" in stats.out, stats.err
    assert desk.code == 0 and "We restored your account." in desk.out, desk.err
    assert "hi" in desk.out
    assert chat.code == 0 and "#1" in chat.out, chat.err
    users = kefu("web", "users", config=shared, cwd=work)
    assert users.code == 0 and users.out.split() == ["amy"], users.out + users.err
    back = f"sqlite:///{work / 'back.sqlite3'}"
    _counts_match(kefu("db", "copy", "--from", pg, "--to", back, cwd=work), 2)  # and carol
    again = kefu("db", "copy", "--from", sqlite_url, "--to", pg, cwd=work)
    assert again.code == 1 and "already holds" in again.err
    async with (
        await PostgresStore.open(pg) as there,
        await SqliteStore.open(work / "back.sqlite3") as returned,
    ):
        assert await _everything(returned) == await _everything(there)
        names = {"desk:bob": "bob", "desk:carol": "carol"}
        assert await returned.moderator_names(list(names)) == names
        assert await there.session_key("another", 2.0) == key  # sessions stay valid
        # ticket numbers go on after the copied ones, on both sides
        assert await returned.next_ticket_id() > 1
        assert await there.next_ticket_id() > 1


def test_db_migrate_brings_an_empty_database_up_to_date(
    tmp_path: Path, pg_databases: TestDatabases
) -> None:
    empty = pg_databases.empty()
    done = kefu("db", "migrate", "--url", empty, cwd=tmp_path)
    assert done.code == 0, done.err
    assert "schema up to date" in done.out
    sqlite = kefu("db", "migrate", cwd=tmp_path)  # the default store: ./kefu-data
    assert sqlite.code == 0 and (tmp_path / "kefu-data" / "kefu.sqlite3").exists()
