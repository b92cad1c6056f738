"""A group's slots: the flood rules of a delivery and the in-process flood gate that keeps
them (SQLite: one process sends)."""

from __future__ import annotations

from bot.deliveries import reply_to_payload
from bot.flood import FloodRule, MemoryFloodGate, platform_limits
from bot.storage.records import OutboxItem
from bot.types import ChatKind, Reply

GROUP_ITEM = OutboxItem(
    "telegram", "-100", reply_to_payload(Reply("page")), "p", chat_kind=ChatKind.MODERATION
)


async def test_a_groups_slots_are_spread_evenly_and_private_chats_go_in_short_bursts() -> None:
    now = [100.0]
    gate = MemoryFloodGate(lambda: now[0])
    rules = platform_limits(GROUP_ITEM, {"telegram"}, group_limit=20, group_period=60.0)
    assert [round(await gate.reserve(rules), 2) for _ in range(3)] == [0.0, 3.06, 6.12]
    private = OutboxItem("telegram", "42", reply_to_payload(Reply("hi")), "p1")
    mine = platform_limits(private, {"telegram"})
    assert [await gate.reserve(mine) for _ in range(4)] == [0.0, 0.0, 0.0, 3.0]  # a burst
    now[0] += 10.0
    assert await gate.reserve(rules) == 0.0  # the slots of the past are spent
    assert platform_limits(GROUP_ITEM, set()) == []  # [telegram] rate_limit = false


async def test_the_memory_gate_keeps_a_sliding_window_per_key() -> None:
    now = [0.0]
    gate = MemoryFloodGate(lambda: now[0])
    rule = [FloodRule("telegram:chat:-1", 20, 60.0)]
    waits = [await gate.reserve(rule) for _ in range(25)]
    assert waits[:20] == [0.0] * 20
    assert waits[20:] == [60.0] * 5
    now[0] = 61.0  # the first 20 are a minute old: room for 15 beside the last 5
    assert [await gate.reserve(rule) for _ in range(16)] == [0.0] * 15 + [59.0]
