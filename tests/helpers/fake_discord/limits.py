"""What Discord refuses: a subset of its documented component limits, checked on every payload
the bot sends (the fake answers 400 Invalid Form Body and records the problems)."""

from __future__ import annotations

from typing import Any


def payload_problems(body: dict[str, Any]) -> list[str]:
    """Why Discord would refuse the components of a message or interaction payload."""
    if body.get("type") == 9 and isinstance(body.get("data"), dict):
        return modal_problems(body["data"])
    data = body.get("data") if isinstance(body.get("data"), dict) else body
    components = data.get("components") if isinstance(data, dict) else None
    return message_problems(components) if isinstance(components, list) else []


def message_problems(rows: list[dict[str, Any]]) -> list[str]:
    """Action rows: at most 5; each 1-5 buttons or exactly one select; unique custom_ids."""
    problems = [] if len(rows) <= 5 else [f"{len(rows)} action rows"]
    ids: list[str] = []
    for row in rows:
        items = row.get("components", [])
        kinds = [c.get("type") for c in items]
        if row.get("type") != 1 or not 1 <= len(items) <= 5 or (3 in kinds and len(items) > 1):
            problems.append(f"bad action row {kinds}")
        for item in items:
            ids.append(item.get("custom_id", ""))
            problems += _select_problems(item) if item.get("type") == 3 else []
            if item.get("type") == 2 and len(item.get("label") or "") > 80:
                problems.append("button label over 80")
    problems += [f"custom_id {i!r}" for i in ids if not 1 <= len(i) <= 100]
    return problems + (["duplicate custom_id"] if len(set(ids)) < len(ids) else [])


def _select_problems(select: dict[str, Any]) -> list[str]:
    opts = select.get("options", [])
    values = [o.get("value", "") for o in opts]
    problems = [] if 1 <= len(opts) <= 25 else [f"{len(opts)} options"]
    problems += [f"option {o!r}" for o in opts if not 1 <= len(o.get("label", "")) <= 100]
    problems += [f"value {v!r}" for v in values if not 1 <= len(v) <= 100]
    problems += ["duplicate option value"] if len(set(values)) < len(values) else []
    low, high = select.get("min_values", 1), select.get("max_values", 1)
    problems += [] if 0 <= low <= high <= max(1, len(opts)) else ["min/max_values"]
    return problems + (
        ["placeholder over 150"] if len(select.get("placeholder") or "") > 150 else []
    )


def modal_problems(modal: dict[str, Any]) -> list[str]:
    """A modal: a title of 1-45, 1-5 labels, each wrapping a text input or a file upload."""
    rows = modal.get("components", [])
    problems = [] if 1 <= len(modal.get("title", "")) <= 45 else ["modal title"]
    problems += [] if 1 <= len(rows) <= 5 else [f"{len(rows)} modal components"]
    for given in rows:
        row = given
        if given.get("type") == 1:  # the deprecated form: a text input alone in an action row
            row = {"type": 18, "label": "-", "component": (given.get("components") or [{}])[0]}
        inner = row.get("component") or {}
        if row.get("type") != 18 or not 1 <= len(row.get("label", "")) <= 45:
            problems.append(f"bad modal label {row.get('type')}")
        if len(row.get("description") or "") > 100:
            problems.append("label description over 100")
        if inner.get("type") == 4:
            long = inner.get("max_length", 1) > 4000 or len(inner.get("placeholder") or "") > 100
            problems += ["text input limits"] if long else []
        elif inner.get("type") == 19:
            low, high = inner.get("min_values", 1), inner.get("max_values", 1)
            problems += [] if 0 <= low <= high and 1 <= high <= 10 else ["file upload limits"]
        else:
            problems.append(f"modal component type {inner.get('type')}")
    return problems
