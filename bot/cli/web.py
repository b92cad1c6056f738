"""`kefu web`: serve the web desk; `kefu web add-user NAME`, `remove-user NAME` and `users`,
in the configured store."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.app import MissingExtra, open_store, run_web
from bot.config import Config

if TYPE_CHECKING:
    from adapters.web.accounts import LocalAccounts


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """`kefu web [add-user NAME [--password-stdin] | remove-user NAME | users]`."""
    web = sub.add_parser(
        "web",
        parents=[common],
        help="the web desk, reports and /metrics",
        description="Serve the web desk on [web] listen:port of the config (default "
        "http://127.0.0.1:8080), or manage its local accounts.",
    )
    web.add_argument("--listen", help="the address to serve on (default: [web] listen)")
    web.add_argument("--port", type=int, help="the port to serve on (default: [web] port)")
    wsub = web.add_subparsers(dest="web_command")
    add = wsub.add_parser("add-user", parents=[common], help="create or reset a local account")
    add.add_argument("name")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    remove = wsub.add_parser("remove-user", parents=[common], help="delete a local account")
    remove.add_argument("name")
    wsub.add_parser("users", parents=[common], help="list the local accounts")


def _served_at(config: Config, listen: str | None, port: int | None) -> Config:
    """The config with the address given on the command line, if one was."""
    web = config.web
    if listen:
        web = replace(web, listen=listen)
    if port is not None:
        web = replace(web, port=port)
    return replace(config, web=web)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the passwords differ")
    return first


def main(config: Config, args: argparse.Namespace) -> int:
    """Run the `kefu web` command asked for."""
    try:
        if args.web_command is None:
            asyncio.run(run_web(_served_at(config, args.listen, args.port)))
            return 0
        return asyncio.run(_accounts(config, args))
    except MissingExtra as exc:
        print(f"kefu web: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        print(
            f"kefu web: the web desk's libraries are not installed ({exc.name}); install them"
            " with `make web`, or `.venv/bin/pip install -e '.[web]'`",
            file=sys.stderr,
        )
        return 2


async def _accounts(config: Config, args: argparse.Namespace) -> int:
    """`users`, `add-user`, `remove-user`: in the configured store (where every process of
    the deployment finds them), after importing an older Kefu's accounts file."""
    from adapters.web.accounts import AccountError, LocalAccounts, import_files

    store = await open_store(config)
    try:
        await import_files(config.bot.data_dir, store, time.time())
        return await _account_command(LocalAccounts(store), args)
    except AccountError as exc:
        print(f"kefu web: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.close()


async def _account_command(accounts: LocalAccounts, args: argparse.Namespace) -> int:
    if args.web_command == "users":
        for name in await accounts.names():
            print(name)
        return 0
    if args.web_command == "remove-user":
        if not await accounts.remove(args.name):
            print(f"kefu web: no account {args.name!r}", file=sys.stderr)
            return 1
        print(f"removed {args.name}")
        return 0
    try:
        password = _password(args.password_stdin)
    except ValueError as exc:
        print(f"kefu web: {exc}", file=sys.stderr)
        return 1
    await accounts.add(args.name, password)
    print(f"account {args.name} saved")
    return 0
