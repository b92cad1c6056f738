"""Discord's objects as the gateway and REST send them, and readers for message components."""

from __future__ import annotations

from typing import Any

NOW = "2025-01-01T00:00:00.000000+00:00"


def user_payload(uid: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    """A user object."""
    return {"id": str(uid), "username": name, "global_name": name, "discriminator": "0",
            "avatar": None, "bot": bot, "public_flags": 0}  # fmt: skip


def member_payload(user: dict[str, Any], roles: list[int]) -> dict[str, Any]:
    """A guild member object."""
    return {"user": user, "roles": [str(r) for r in roles], "joined_at": NOW, "deaf": False,
            "mute": False, "flags": 0, "nick": None, "avatar": None, "pending": False,
            "permissions": "2251799813685247"}  # fmt: skip


def channel_payload(cid: int, guild_id: int, name: str) -> dict[str, Any]:
    """A guild text channel."""
    return {"id": str(cid), "type": 0, "guild_id": str(guild_id), "name": name, "position": 0,
            "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None,
            "last_message_id": None, "rate_limit_per_user": 0}  # fmt: skip


def thread_payload(
    tid: int, guild_id: int, parent_id: int, owner_id: int, name: str, kind: int
) -> dict[str, Any]:
    """A thread channel (11 public, 12 private)."""
    meta = {"archived": False, "auto_archive_duration": 10080, "archive_timestamp": NOW,
            "locked": False, "invitable": False, "create_timestamp": NOW}  # fmt: skip
    return {"id": str(tid), "type": kind, "guild_id": str(guild_id), "parent_id": str(parent_id),
            "owner_id": str(owner_id), "name": name, "last_message_id": None,
            "rate_limit_per_user": 0, "message_count": 0, "member_count": 1, "flags": 0,
            "thread_metadata": meta}  # fmt: skip


def role_payload(rid: int, name: str, position: int, permissions: str) -> dict[str, Any]:
    """A role."""
    return {"id": str(rid), "name": name, "color": 0, "hoist": False, "position": position,
            "permissions": permissions, "managed": False, "mentionable": True,
            "flags": 0}  # fmt: skip


def guild_payload(
    gid: int,
    mod_role_id: int,
    members: list[dict[str, Any]],
    channels: list[dict[str, Any]],
    threads: list[dict[str, Any]],
    premium_tier: int,
    more_roles: dict[int, str] | None = None,
) -> dict[str, Any]:
    """A GUILD_CREATE payload with all members and member_count (and roles beyond the
    moderators', `more_roles`: id → name)."""
    roles = [role_payload(gid, "@everyone", 0, "1071698660929"),
             role_payload(mod_role_id, "moderators", 1, "1071698660929")]  # fmt: skip
    roles += [
        role_payload(rid, name, 2 + n, "1071698660929")
        for n, (rid, name) in enumerate((more_roles or {}).items())
    ]
    return {"id": str(gid), "name": "Kefu Test", "icon": None,
            "owner_id": members[0]["user"]["id"], "roles": roles, "emojis": [], "stickers": [],
            "features": [],
            "member_count": len(members), "members": members, "channels": channels,
            "threads": threads, "premium_tier": premium_tier, "large": False,
            "unavailable": False, "joined_at": NOW, "voice_states": [], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
            "afk_timeout": 300, "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "mfa_level": 0, "nsfw_level": 0,
            "preferred_locale": "en-US", "system_channel_flags": 0,
            "premium_subscription_count": 0, "description": None}  # fmt: skip


def attachment_payload(aid: int, name: str, size: int, url: str, mime: str) -> dict[str, Any]:
    """An attachment object pointing at the fake CDN."""
    return {"id": str(aid), "filename": name, "size": size, "url": url, "proxy_url": url,
            "content_type": mime}  # fmt: skip


def message_payload(
    mid: int, channel_id: int, author: dict[str, Any], content: str, **kw: Any
) -> dict[str, Any]:
    """A message object; keyword arguments add guild_id, member, embeds, components..."""
    message = {"id": str(mid), "channel_id": str(channel_id), "author": author,
               "content": content, "timestamp": NOW, "edited_timestamp": None, "tts": False,
               "mention_everyone": False, "mentions": [], "mention_roles": [],
               "attachments": [], "embeds": [], "components": [], "pinned": False, "type": 0,
               "flags": 0}  # fmt: skip
    for key, value in kw.items():
        if value is not None:
            message[key] = str(value) if key == "guild_id" else value
    return message


def find_button(message: dict[str, Any], label: str) -> dict[str, Any]:
    """The first button of a message whose label starts with `label`."""
    for row in message.get("components", []):
        for button in row.get("components", []):
            if (button.get("label") or "").startswith(label):
                return dict(button)
    raise AssertionError(f"no button {label!r} in message {message.get('content')!r}")


def buttons(message: dict[str, Any]) -> list[str]:
    """Every button label of a message, row by row (select menus are not buttons)."""
    return [
        b.get("label") or ""
        for r in message.get("components", [])
        for b in r["components"]
        if b.get("type", 2) == 2
    ]


def selects(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every select menu of a message, row by row."""
    return [
        c for r in message.get("components", []) for c in r["components"] if c.get("type") == 3
    ]


def options(message: dict[str, Any]) -> list[str]:
    """Every option label of every select menu of a message."""
    return [o["label"] for s in selects(message) for o in s.get("options", [])]


def find_option(message: dict[str, Any], label: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first select menu option whose label starts with `label`, and its menu."""
    for select in selects(message):
        for option in select.get("options", []):
            if option["label"].startswith(label):
                return dict(select), dict(option)
    raise AssertionError(f"no option {label!r} in message {message.get('content')!r}")
