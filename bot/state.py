"""Conversation state: an explicit Step and the data that step needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Step(StrEnum):
    """Where a user's conversation stands. An open ticket is not a step: it is looked up."""

    START = "start"  # never greeted
    MENU = "menu"  # browsing the category menu; data["category"]
    ARTICLE = "article"  # an article was shown; data["article"], awaiting Solved / Not solved
    CANDIDATES = "candidates"  # several titles offered; data["candidates"]
    FORM = "form"  # answering data["form"]["field"] of data["form"]["id"]
    REVIEW = "review"  # the form summary, awaiting Submit / Edit / Cancel
    OFFER = "offer"  # asked for a person; the category's form offered as the fast path
    FORGET = "forget"  # /forget awaiting confirmation


@dataclass(slots=True)
class Conversation:
    """One user's dialog state, saved after every event.

    `data` holds only JSON-serialisable values. `version` increases on every save.
    """

    user_key: str
    step: Step = Step.START
    data: dict[str, Any] = field(default_factory=dict)
    lang: str = ""
    version: int = 0
    updated_at: float = 0.0
