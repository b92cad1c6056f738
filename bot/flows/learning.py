"""The search learns from its own use: misses are kept, and a moderator attaches one to the
article that answers it (`/misses`, `/teach`); the index uses it at once, and every process
picks it up (bot.app's watcher)."""

from __future__ import annotations

from bot.flows.turn import Turn
from bot.storage.records import Miss, MissKind, TaughtExample
from bot.types import Reply

MISSES_SHOWN = 20
QUERY_SHOWN = 80  # characters of a missed query listed


def missed(turn: Turn, query: str, kind: MissKind, article_id: str = "") -> None:
    """Keep a query the help center did not answer, for a moderator to teach the search."""
    if query:
        turn.writes.misses.append(Miss(query, kind, article_id, turn.svc.kb_key, turn.now))


async def show_misses_command(turn: Turn, _args: str) -> None:
    """`/misses` as a moderator command."""
    await show_misses(turn)


async def show_misses(turn: Turn) -> None:
    """`/misses`: the latest queries the help center did not answer, not yet taught."""
    misses = await turn.svc.store.recent_misses(turn.svc.kb_key, MISSES_SHOWN)
    if not misses:
        turn.say(Reply(turn.mine("mod_misses_none")))
        return
    lines = [turn.mine("mod_misses_title", n=len(misses))]
    for miss in misses:
        shown = f" → {miss.article_id}" if miss.article_id else ""
        kind = turn.mine(f"miss_{miss.kind.value}")
        lines.append(f"{miss.id}: [{kind}] {miss.query[:QUERY_SHOWN]}{shown}")
    turn.say(Reply("\n".join(lines)))


async def teach(turn: Turn, args: str) -> None:
    """`/teach MISS_ID ARTICLE_ID` or `/teach ARTICLE_ID QUERY…`: attach a query to an article."""
    first, _, rest = args.strip().partition(" ")
    second, _, more = rest.strip().partition(" ")
    if first.isdigit() and second:
        miss = await turn.svc.store.get_miss(int(first))
        query, article_id = (miss.query if miss else ""), second
    else:
        query, article_id = rest.strip(), first
    article = turn.svc.kb.article(article_id, turn.svc.mod_lang) if article_id else None
    if not query or article is None or (more and first.isdigit()):
        turn.say(Reply(turn.mine("mod_teach_usage")))
        return
    example = TaughtExample(query, article.id, turn.svc.kb_key, turn.actor, turn.now)
    added = await turn.svc.store.add_example(example)
    turn.svc.teach(query, article.id)
    key = "mod_taught" if added else "mod_taught_already"
    turn.say(Reply(turn.mine(key, query=query[:QUERY_SHOWN], title=article.title)))
