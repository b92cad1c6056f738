"""`kefu kb`, `kefu tickets` and `kefu stats`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.app import kb_key, load_kb, open_store
from bot.config import Config
from bot.routes import SurfaceBacklog
from bot.storage.base import Store
from bot.storage.records import OutboxStatus, TaughtExample, TicketStatus
from knowledge.examples import Example, examples_jsonl, parse_examples_jsonl
from knowledge.loader import (
    check_content,
    content_warnings,
    default_content_path,
    load_articles,
    load_synonyms,
)
from knowledge.search import SearchIndex, search_jsonl


def kb(config: Config, args: argparse.Namespace) -> int:
    """Validate or search help-center content."""
    root = Path(args.kb) if args.kb else (config.knowledge.path or default_content_path())
    if args.kb_command == "check":
        problems = check_content(root)
        for problem in problems:
            print(problem)
        warnings = content_warnings(root)
        for warning in warnings:
            print(warning)
        if not problems:
            print(f"{root}: ok" + (f" ({len(warnings)} warnings)" if warnings else ""))
        return 1 if problems else 0
    # Only articles/ is needed; synonyms.toml beside them extends the lexicon when present.
    index = SearchIndex.build(load_articles(root), load_synonyms(root))
    lines = sys.stdin if args.stdin else [" ".join(args.query)]
    if args.json:
        for line in search_jsonl(index, (ln.rstrip("\n") for ln in lines), args.limit):
            print(line, flush=True)
        return 0
    for query in lines:
        result = index.search(query.strip(), lang=args.lang or None, limit=args.limit)
        flag = "confident" if result.confident else "not confident"
        print(f"{query.strip()!r}: {flag}")
        for hit in result.hits:
            print(f"  {hit.score:.3f}  {hit.id}  {hit.title}")
    return 0


async def _open(config: Config) -> Store:
    return await open_store(config)


def _row(t: Any) -> str:
    opened = time.strftime("%Y-%m-%d %H:%M", time.localtime(t.created_at))
    return (
        f"#{t.id:<5} {t.status.value:<8} P{t.priority} {opened}  {t.platform:<9} "
        f"{t.category or '-':<24} {t.user_name or t.user_key}"
    )


async def tickets(config: Config, args: argparse.Namespace) -> int:
    """List, show or export tickets."""
    store = await _open(config)
    try:
        if args.tickets_command in ("list", None):
            statuses = [TicketStatus(s) for s in args.status or []]
            listed = await store.list_tickets(statuses, args.limit)
            for t in listed:
                print(_row(t))
            if not listed:  # said where a script does not read it: an empty list is no error
                which = f" ({', '.join(s.value for s in statuses)})" if statuses else ""
                print(f"no tickets{which}", file=sys.stderr)
            return 0
        if args.tickets_command == "show":
            ticket = await store.get_ticket(args.id)
            if ticket is None:
                print(f"no ticket #{args.id}", file=sys.stderr)
                return 1
            print(_row(ticket))
            for label, answer in ticket.answers:
                print(f"  {label}: {answer}")
            for m in await store.messages(ticket.id):
                print(f"  [{m.author.value}] {m.author_name or m.author_id}: {m.text}")
            return 0
        out = []
        for t in await store.list_tickets((), limit=1_000_000):
            item = asdict(t)
            item["messages"] = [asdict(m) for m in await store.messages(t.id)]
            out.append(item)
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2, default=str)
        print()
        return 0
    finally:
        await store.close()


def print_backlog(told: SurfaceBacklog, now: float) -> None:
    """Each moderator surface's backlog and its oldest's age, then the users' chats."""
    for chat, n, oldest in told.surfaces:
        age = "" if oldest is None else f", the oldest for {now - oldest:.0f} s"
        print(f"  {chat.platform} {chat.id} (moderators): {n} waiting{age}")
    if told.others_oldest is not None:
        print(
            f"  users' chats: {told.others} waiting in {told.other_chats} chats, "
            f"the oldest for {now - told.others_oldest:.0f} s"
        )


async def stats(config: Config) -> int:
    """Queue, response times, the worst articles and the queries that found nothing."""
    store = await _open(config)
    try:
        queue = await store.queue()
        samples = await store.recent_first_responses(20)
        print(
            f"queue: {len(queue)} open ({sum(t.status == TicketStatus.OPEN for t in queue)}"
            " waiting)"
        )
        if samples:
            median = sorted(samples)[len(samples) // 2]
            print(f"first response: median {median / 60:.1f} min over {len(samples)} tickets")
        dead = await store.outbox_items([OutboxStatus.DEAD], limit=1000)
        print(f"dead deliveries: {len(dead)}")
        waiting = await store.backlog()
        print(f"waiting to be sent: {sum(n for _, _, n, _ in waiting)}")
        print_backlog(config.route_table().backlog(waiting), time.time())
        print("articles with the worst solve rate (solved / not solved):")
        for article_id, solved, unsolved in await store.article_stats(10):
            print(f"  {article_id}: {solved} / {unsolved}")
        print("most frequent queries that found nothing:")
        for query, count in await store.top_misses(10):
            print(f"  {count:>4}  {query}")
        return 0
    finally:
        await store.close()


async def examples(config: Config, args: argparse.Namespace) -> int:
    """Export or import the queries moderators attached to articles (for this help center)."""
    key = kb_key(config)
    store = await _open(config)
    try:
        if args.examples_command == "export":
            taught = await store.examples(key)
            for line in examples_jsonl(Example(e.query, e.article_id) for e in taught):
                print(line)
            return 0
        text = await asyncio.to_thread(_read, args.file)
        try:
            parsed = parse_examples_jsonl(text.splitlines())
        except ValueError as exc:
            print(f"kefu: {exc}", file=sys.stderr)
            return 2
        known = load_kb(config)
        added = 0
        for example in parsed:
            if known.article(example.article_id, config.bot.default_lang) is None:
                print(f"kefu: no article {example.article_id!r}; skipped", file=sys.stderr)
                continue
            record = TaughtExample(example.query, example.article_id, key, "import", time.time())
            added += await store.add_example(record)
        print(f"{added} attached, {len(parsed) - added} skipped or known already")
        return 0
    finally:
        await store.close()


def _read(name: str) -> str:
    """A file's text, or standard input's for "-"."""
    return sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
