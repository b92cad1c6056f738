"""The `kefu` command: chat, desk, run, web, kb, tickets, stats, db."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from bot.cli import web
from bot.config import Config, ConfigError, load_config
from knowledge.loader import ContentError


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="TOML config file (default: $KEFU_CONFIG, else defaults)")
    p = argparse.ArgumentParser(
        prog="kefu", description="Kefu (客服): a support bot.", parents=[common]
    )
    sub = p.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", parents=[common], help="talk to the bot in this terminal")
    chat.add_argument("--lang", default="", help="zh-CN or en (default: from $LANG)")
    chat.add_argument("--name", default="", help="your user name (default: login name)")
    desk = sub.add_parser("desk", parents=[common], help="answer tickets in this terminal")
    desk.add_argument("--name", default="", help="moderator name (default: login name)")
    desk.add_argument(
        "--lang",
        default="",
        help="zh or en: the desk's own language (default: $LANG's, else "
        "[bot] default_lang); shared ticket history stays in the moderators' language",
    )
    sub.add_parser("run", parents=[common], help="serve the enabled platforms (Telegram, Discord)")
    kb = sub.add_parser("kb", parents=[common], help="help-center content")
    kbsub = kb.add_subparsers(dest="kb_command", required=True)
    check = kbsub.add_parser("check", parents=[common], help="validate a content folder")
    check.add_argument("--kb", help="content folder (default: the configured one)")
    search = kbsub.add_parser("search", parents=[common], help="search articles")
    search.add_argument("--kb", help="folder with articles/<lang>/*.md (default: configured)")
    search.add_argument("--json", action="store_true", help="one JSON line per query")
    search.add_argument("--limit", type=int, default=5, help="results per query (default 5)")
    search.add_argument("--stdin", action="store_true", help="read one query per input line")
    search.add_argument("--lang", default="", help="language of the titles shown")
    search.add_argument("query", nargs="*", help="the query (unless --stdin)")
    examples = kbsub.add_parser(
        "examples", parents=[common], help="queries moderators attached to articles (/teach)"
    )
    exsub = examples.add_subparsers(dest="examples_command", required=True)
    exsub.add_parser("export", parents=[common], help="every attached query as JSON lines")
    load = exsub.add_parser("import", parents=[common], help="attach queries from JSON lines")
    load.add_argument("file", help='a JSON-lines file of {"query", "article"} ("-" = stdin)')
    tickets = sub.add_parser(
        "tickets", parents=[common], help="list (the default), show or export tickets"
    )
    tickets.set_defaults(status=None, limit=50)  # `kefu tickets` alone lists them
    tsub = tickets.add_subparsers(dest="tickets_command")
    tlist = tsub.add_parser("list", parents=[common], help="tickets, newest first")
    tlist.add_argument("--status", choices=["open", "claimed", "closed"], action="append")
    tlist.add_argument("--limit", type=int, default=50)
    show = tsub.add_parser("show", parents=[common], help="one ticket with its messages")
    show.add_argument("id", type=int)
    tsub.add_parser("export", parents=[common], help="every ticket as JSON on stdout")
    sub.add_parser("stats", parents=[common], help="queue, response times, content gaps")
    db = sub.add_parser("db", parents=[common], help="the store: migrate, copy")
    dsub = db.add_subparsers(dest="db_command", required=True)
    mig = dsub.add_parser("migrate", parents=[common], help="bring the schema up to date")
    mig.add_argument("--url", default="", help="a store URL (default: [store] url)")
    cp = dsub.add_parser("copy", parents=[common], help="copy a deployment to an empty store")
    cp.add_argument(
        "--from", dest="source", required=True, help="sqlite:///PATH or postgresql://…"
    )
    cp.add_argument("--to", dest="target", required=True, help="sqlite:///PATH or postgresql://…")
    web.add_parser(sub, common)
    return p


def _logging(command: str) -> None:
    level = logging.INFO if command in ("run", "web") else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs request URLs at INFO, and Telegram URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("jieba").setLevel(logging.WARNING)
    # discord.py logs interaction webhook URLs (short-lived tokens) and message bodies at DEBUG.
    logging.getLogger("discord").setLevel(logging.INFO)
    logging.getLogger("telegram").setLevel(logging.INFO)


def _dispatch(args: argparse.Namespace, config: Config) -> int:
    from bot.cli import admin, terminal

    if args.command == "chat":
        return asyncio.run(terminal.chat(config, args.lang, args.name))
    if args.command == "desk":
        return asyncio.run(terminal.desk(config, args.name, args.lang))
    if args.command == "run":
        return asyncio.run(terminal.run(config))
    if args.command == "kb" and args.kb_command == "examples":
        return asyncio.run(admin.examples(config, args))
    if args.command == "kb":
        return admin.kb(config, args)
    if args.command == "tickets":
        return asyncio.run(admin.tickets(config, args))
    if args.command == "db":
        from bot.cli import db

        if args.db_command == "migrate":
            return asyncio.run(db.migrate(config, args.url))
        return asyncio.run(db.copy(config, args.source, args.target))
    if args.command == "web":
        return web.main(config, args)
    return asyncio.run(admin.stats(config))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the command; returns the exit code."""
    args = _parser().parse_args(argv)
    _logging(args.command)
    try:
        config = load_config(args.config)
        return _dispatch(args, config)
    except ConfigError as exc:
        print(f"kefu: configuration error: {exc}", file=sys.stderr)
        return 2
    except ContentError as exc:
        print("kefu: help-center content is invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `kefu tickets export | head`: the reader had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 141
