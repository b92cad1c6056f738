"""`kefu web`: serve the web desk; `kefu web add-user NAME` and `remove-user NAME`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from bot.app import MissingExtra, run_web
from bot.config import Config


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """`kefu web [add-user NAME [--password-stdin] | remove-user NAME | users]`."""
    web = sub.add_parser("web", parents=[common], help="the web desk, reports and /metrics")
    wsub = web.add_subparsers(dest="web_command")
    add = wsub.add_parser("add-user", parents=[common], help="create or reset a local account")
    add.add_argument("name")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    remove = wsub.add_parser("remove-user", parents=[common], help="delete a local account")
    remove.add_argument("name")
    wsub.add_parser("users", parents=[common], help="list the local accounts")


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
            asyncio.run(run_web(config))
            return 0
        from adapters.web.accounts import AccountError, LocalAccounts
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
    accounts = LocalAccounts(config.bot.data_dir)
    if args.web_command == "users":
        for name in accounts.names():
            print(name)
        return 0
    if args.web_command == "remove-user":
        if not accounts.remove(args.name):
            print(f"kefu web: no account {args.name!r}", file=sys.stderr)
            return 1
        print(f"removed {args.name}")
        return 0
    try:
        accounts.add(args.name, _password(args.password_stdin))
    except (AccountError, ValueError) as exc:
        print(f"kefu web: {exc}", file=sys.stderr)
        return 1
    print(f"account {args.name} saved")
    return 0
