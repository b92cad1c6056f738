"""Typed button actions packed into short strings, with a hard size guard.

Telegram's callback_data holds at most 64 bytes and Discord's custom_id 100 characters, so a
packed action is ASCII `kefu:<verb>:<arg>...` and never carries a label (Chinese labels would
blow the limit). A packed action is data from the client: `unpack` rejects anything malformed,
and the engine checks it belongs to the person who pressed it.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "kefu"
MAX_BYTES = 64  # Telegram Bot API: callback_data is 1-64 bytes
_ARG = re.compile(r"^[A-Za-z0-9_.\-/]{0,48}$")


class Verb(StrEnum):
    """Every action a button can carry."""

    MENU = "m"  # open the menu at category arg0 ("" = top)
    BACK = "b"  # back to the parent of category arg0
    ARTICLE = "a"  # show article arg0
    SOLVED = "y"  # article arg0 solved it
    UNSOLVED = "n"  # article arg0 did not
    HUMAN = "h"  # talk to a person
    FORM = "f"  # start the form of category arg0
    HANDOFF_NOW = "hn"  # skip the offered form, hand off at once
    CHOICE = "c"  # choose option arg1 for field arg0
    SKIP = "s"  # skip optional field arg0
    DONE_IMAGES = "di"  # no more images for field arg0
    EDIT = "e"  # edit field arg0 at review
    SUBMIT = "ok"  # submit the reviewed form
    CANCEL = "x"  # leave the form
    STATUS = "st"  # show ticket status
    CLOSE = "cl"  # user closes their ticket arg0
    REOPEN = "ro"  # reopen ticket arg0
    RATE = "r"  # rate ticket arg0 with arg1 (1-5)
    LANG = "l"  # switch language to arg0
    FORGET_YES = "fy"  # confirm /forget
    FORGET_NO = "fn"  # keep my data
    # moderator side
    CLAIM = "mc"  # claim ticket arg0
    UNCLAIM = "mu"  # unclaim ticket arg0
    MOD_CLOSE = "mx"  # close ticket arg0
    MOD_REOPEN = "mr"  # reopen ticket arg0


_VERBS = {verb.value: verb for verb in Verb}
_OWNER = re.compile(r"[0-9a-f]{8}")

MODERATOR_VERBS = frozenset({Verb.CLAIM, Verb.UNCLAIM, Verb.MOD_CLOSE, Verb.MOD_REOPEN})


class ActionError(ValueError):
    """A payload that is not a valid Kefu action."""


@dataclass(frozen=True, slots=True)
class Action:
    """A decoded button action: a verb, its arguments, and the owner it was made for."""

    verb: Verb
    args: tuple[str, ...] = ()
    owner: str = ""  # short hash of the user key the button was made for; "" = anyone

    def arg(self, i: int, default: str = "") -> str:
        """Argument `i`, or `default` when absent."""
        return self.args[i] if i < len(self.args) else default

    def pack(self) -> str:
        """Encode as `kefu:<verb>:<owner>:<args...>`; raises ActionError beyond 64 bytes."""
        for a in self.args:
            if not _ARG.match(a):
                raise ActionError(f"argument not packable: {a!r}")
        data = ":".join([PREFIX, self.verb.value, self.owner, *self.args])
        if len(data.encode()) > MAX_BYTES:
            raise ActionError(f"packed action longer than {MAX_BYTES} bytes: {data!r}")
        return data


def unpack(data: str) -> Action:
    """Decode a packed action; raises ActionError on anything forged or malformed."""
    if not isinstance(data, str):
        raise ActionError("payload too long")
    return _unpack(data)


@functools.lru_cache(maxsize=2048)
def _unpack(data: str) -> Action:
    """unpack, remembered (an Action is immutable; errors are not cached)."""
    if not isinstance(data, str) or len(data.encode("utf-8", "replace")) > MAX_BYTES:
        raise ActionError("payload too long")
    parts = data.split(":")
    if len(parts) < 3 or parts[0] != PREFIX:
        raise ActionError("not a kefu action")
    verb = _VERBS.get(parts[1])
    if verb is None:
        raise ActionError(f"unknown verb {parts[1]!r}")
    owner = parts[2]
    if owner and not _OWNER.fullmatch(owner):
        raise ActionError("bad owner")
    args = tuple(parts[3:])
    if any(not _ARG.match(a) for a in args):
        raise ActionError("bad argument")
    return Action(verb, args, owner)


def moderator_only(data: str) -> bool:
    """Whether a pressed button's payload is a moderator's action (for an adapter that refuses
    strangers at once, before the core hears of it)."""
    try:
        return unpack(data).verb in MODERATOR_VERBS
    except ActionError:
        return False


def claims(data: str) -> bool:
    """Whether a pressed button's payload claims a ticket (an adapter may add the moderator to
    the ticket's thread first)."""
    try:
        return unpack(data).verb is Verb.CLAIM
    except ActionError:
        return False


def owner_tag(user_key: str) -> str:
    """A short, stable tag binding a button to one user (not a secret: a consistency check)."""
    return hashlib.blake2s(user_key.encode(), digest_size=4).hexdigest()


def act(verb: Verb, *args: str | int, owner: str = "") -> str:
    """Pack an action in one call: `act(Verb.RATE, 12, 5, owner=tag)` (as Action.pack)."""
    head, tail = _head_and_args(verb, args)
    data = f"{PREFIX}:{head}{owner}{tail}"
    if len(data) > MAX_BYTES or not owner.isascii():  # the rest is ASCII: a char is a byte
        return Action(verb, tuple(str(a) for a in args), owner).pack()  # raises ActionError
    return data


@functools.lru_cache(maxsize=4096)
def _head_and_args(verb: Verb, args: tuple[str | int, ...]) -> tuple[str, str]:
    """`verb:` and `:arg...` of a packed action, checked and remembered: every person's menu
    has the same buttons, only the owner differs (a cache keyed by it too missed)."""
    texts = tuple(str(a) for a in args)
    for a in texts:
        if not _ARG.match(a):
            raise ActionError(f"argument not packable: {a!r}")
    return f"{verb.value}:", "".join(f":{a}" for a in texts)
