"""Routes: which moderators a ticket goes to, by its category.

`[[route]]` tables in the config, the first matching one wins:

    [[route]]
    category = "commerce/"          # a category prefix; "*" matches every ticket
    telegram = [-1001111111111]     # one or more forum supergroups
    discord_channel = 123456789     # optional: the channel for its private threads
    discord_role = 987654321        # optional: who moderates there
    priority = 1                    # optional: added to the ticket's priority

With no routes, the [telegram] moderator_chat_id and [discord] moderator_channel_id serve
everything (a route "*" of their own), so single-group configs work as before; they also serve
a ticket no route matches. A route with several Telegram groups gives each new ticket the one
with the most free budget (Telegram lets a bot send 20 messages a minute into one group); a
ticket keeps its groups for its life (`Ticket.surfaces`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.types import ChatKind, ChatRef

ANY = "*"
ROUTE_KEYS = frozenset({"category", "telegram", "discord_channel", "discord_role", "priority"})


class RouteError(ValueError):
    """A [[route]] table that is not valid; the message names the key."""


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """One [[route]] table."""

    category: str = ANY
    telegram: tuple[str, ...] = ()  # forum supergroups; a new ticket takes the least busy
    discord_channel: str = ""
    discord_role: str = ""
    priority: int = 0

    def matches(self, category: str) -> bool:
        """Whether a ticket of `category` takes this route (a prefix, on "/" boundaries)."""
        if self.category == ANY:
            return True
        prefix = self.category.rstrip("/")
        return category == prefix or category.startswith(prefix + "/")


def _id(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise RouteError(f"{where} must be an integer or a string id")
    return str(value).strip()


def parse_route(raw: Any, n: int) -> RouteConfig:
    """One [[route]] table, checked (n: its position, for the messages)."""
    where = f"[[route]] #{n}"
    if not isinstance(raw, dict):
        raise RouteError(f"{where} must be a table")
    unknown = sorted(set(raw) - ROUTE_KEYS)
    if unknown:
        raise RouteError(f"{where} {unknown[0]}: unknown key (see config.example.toml)")
    category = raw.get("category", ANY)
    if not isinstance(category, str) or not category.strip():
        raise RouteError(f'{where} category must be a category id prefix or "*"')
    groups = raw.get("telegram", [])
    groups = groups if isinstance(groups, list) else [groups]
    priority = raw.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise RouteError(f"{where} priority must be an integer")
    route = RouteConfig(
        category.strip(),
        tuple(_id(g, f"{where} telegram") for g in groups),
        _id(raw["discord_channel"], f"{where} discord_channel")
        if "discord_channel" in raw
        else "",
        _id(raw["discord_role"], f"{where} discord_role") if "discord_role" in raw else "",
        priority,
    )
    if not route.telegram and not route.discord_channel:
        raise RouteError(f"{where} needs telegram groups or a discord_channel")
    return route


@dataclass(frozen=True, slots=True)
class Route:
    """A route as the core uses it: its category prefix, its chats per platform."""

    category: str
    chats: tuple[tuple[str, tuple[str, ...]], ...]  # (platform, chat ids), in config order
    priority: int = 0

    def matches(self, category: str) -> bool:
        """Whether a ticket of `category` takes this route."""
        return RouteConfig(self.category).matches(category)

    @classmethod
    def of(cls, config: RouteConfig, platforms: Sequence[str]) -> Route:
        """A configured route, keeping only the enabled platforms."""
        chats = []
        if config.telegram and "telegram" in platforms:
            chats.append(("telegram", config.telegram))
        if config.discord_channel and "discord" in platforms:
            chats.append(("discord", (config.discord_channel,)))
        return cls(config.category, tuple(chats), config.priority)


@dataclass(frozen=True, slots=True)
class SurfaceBacklog:
    """What waits to be sent: per moderator surface (the chat, how many, the oldest's creation
    time or None), and in the users' chats together (how many, in how many chats, the oldest)."""

    surfaces: tuple[tuple[ChatRef, int, float | None], ...]
    others: int
    other_chats: int
    others_oldest: float | None


@dataclass(frozen=True, slots=True)
class Routes:
    """The effective routes: the configured ones, then the default (which may be empty)."""

    routes: tuple[Route, ...]
    default: Route | None

    @classmethod
    def of(
        cls, routes: Sequence[RouteConfig], default: RouteConfig | None, platforms: Sequence[str]
    ) -> Routes:
        """Routes of the config; only the enabled platforms (`platforms`) are paged."""
        kept = tuple(r for r in (Route.of(c, platforms) for c in routes) if r.chats)
        base = Route.of(default, platforms) if default is not None else None
        return cls(kept, base if base is not None and base.chats else None)

    @classmethod
    def fixed(cls, chats: Sequence[ChatRef]) -> Routes:
        """Every ticket to these moderator chats (tests, tools)."""
        grouped: dict[str, tuple[str, ...]] = {}
        for chat in chats:
            grouped[chat.platform] = (*grouped.get(chat.platform, ()), chat.id)
        return cls((), Route(ANY, tuple(grouped.items())) if grouped else None)

    def route_for(self, category: str) -> Route | None:
        """The first route matching the category, else the default (None: nobody to page)."""
        return next((r for r in self.routes if r.matches(category)), self.default)

    def all_chats(self) -> tuple[ChatRef, ...]:
        """Every moderator chat of every route (the desk and the web see all of them)."""
        seen: dict[tuple[str, str], ChatRef] = {}
        for route in (*self.routes, *([self.default] if self.default else [])):
            for platform, chats in route.chats:
                for chat in chats:
                    seen.setdefault((platform, chat), ChatRef(platform, chat, ChatKind.MODERATION))
        return tuple(seen.values())

    def backlog(self, waiting: Sequence[tuple[str, str, int, float]]) -> SurfaceBacklog:
        """What waits (OutboxStore.backlog) told per moderator surface, every surface of every
        route even when nothing waits for it, and the users' chats together."""
        found = {(platform, chat): (n, oldest) for platform, chat, n, oldest in waiting}
        surfaces = []
        for chat in self.all_chats():
            n, oldest = found.pop((chat.platform, chat.id), (0, None))
            surfaces.append((chat, n, oldest))
        rest = list(found.values())
        oldest_rest = min((oldest for _, oldest in rest), default=None)
        return SurfaceBacklog(tuple(surfaces), sum(n for n, _ in rest), len(rest), oldest_rest)

    @staticmethod
    def pick(route: Route, sent: Mapping[tuple[str, str], int]) -> tuple[ChatRef, ...]:
        """One chat per platform for a new ticket: the one that sent the least lately."""
        chosen = []
        for platform, chats in route.chats:
            best = min(chats, key=lambda chat: (sent.get((platform, chat), 0), chats.index(chat)))
            chosen.append(ChatRef(platform, best, ChatKind.MODERATION))
        return tuple(chosen)
