"""What a message asks for besides an article: a greeting, small talk, a complaint, a person.

The phrases are data (knowledge/lexicon/intents.toml); this module only matches them. The
search stays silent (not confident) on greetings, small talk and complaints about the service,
and the bot greets, or offers a person, instead of pushing an article.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from knowledge.writing import simplified

_INTENTS_TOML = Path(__file__).parent / "lexicon" / "intents.toml"
# Zero-width and bidi control characters: invisible, and used to slip past word lists.
_ZERO_WIDTH = (0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF)
_BIDI = (0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069)
_INVISIBLE = dict.fromkeys((*_ZERO_WIDTH, *_BIDI))
_NON_WORD = re.compile(r"[\W_]+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_REPEATS = re.compile(r"(.)\1{2,}")


class Intent(StrEnum):
    """What a message is, besides a question for the help center."""

    NONE = "none"  # a question (or anything else): search it
    GREETING = "greeting"  # hello: greet and show the menu
    CLOSING = "closing"  # thanks, ok, bye: "anything else?" (or the article's question again)
    ASK = "ask"  # asks for help without saying what about yet: ask, with the menu
    SMALL_TALK = "small_talk"  # chatter or an off-topic request: no article answers it
    COMPLAINT = "complaint"  # about the service itself: offer a person
    PERSON = "person"  # asks for a person: start the handoff
    IDENTITY = "identity"  # "are you a bot?": say so, with a person one tap away
    MENU = "menu"  # "菜单", "back to the menu": the main menu, as /menu
    CANCEL = "cancel"  # "取消", "cancel": what is under way cancelled, as /cancel


def clean(text: str) -> str:
    """NFKC-folded, lower-case, Simplified, without invisible characters, trimmed."""
    folded = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return simplified(folded).lower().strip()


def _pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for a list: Chinese phrases anywhere, English ones on word boundaries."""
    parts = []
    for phrase in sorted({p.lower() for p in phrases if p.strip()}, key=len, reverse=True):
        body = re.escape(phrase)
        parts.append(body if _CJK.search(phrase) else rf"(?<![a-z0-9]){body}(?![a-z0-9])")
    return re.compile("|".join(parts)) if parts else None


def _found(pattern: re.Pattern[str] | None, text: str) -> bool:
    return pattern is not None and pattern.search(text) is not None


def _strip(pattern: re.Pattern[str] | None, text: str) -> str:
    """`text` without the pattern's matches and anything but letters, digits and CJK."""
    if pattern is not None:
        text = pattern.sub(" ", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


@dataclass(frozen=True, slots=True)
class Intents:
    """The compiled phrase lists of intents.toml."""

    explicit: re.Pattern[str] | None
    bare: frozenset[str]
    filler: re.Pattern[str] | None
    greeting: re.Pattern[str] | None
    closing: re.Pattern[str] | None
    asks: re.Pattern[str] | None
    chatter: re.Pattern[str] | None
    small_talk: re.Pattern[str] | None
    complaint: re.Pattern[str] | None
    targets: re.Pattern[str] | None
    complaints: re.Pattern[str] | None
    angry: tuple[str, ...] = ()
    solved: frozenset[str] = frozenset()
    not_solved: frozenset[str] = frozenset()
    solved_emoji: frozenset[str] = frozenset()
    not_solved_emoji: frozenset[str] = frozenset()
    aside: re.Pattern[str] | None = None
    unsure: frozenset[str] = frozenset()
    press: re.Pattern[str] | None = None
    status: re.Pattern[str] | None = None
    identity: re.Pattern[str] | None = None
    negation: re.Pattern[str] | None = None
    form: re.Pattern[str] | None = None
    to_menu: frozenset[str] = frozenset()
    cancel: frozenset[str] = frozenset()
    quit: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Intents:
        """Compile the tables of an intents TOML document."""

        def words(table: str, key: str) -> list[str]:
            return [str(w) for w in data.get(table, {}).get(key, [])]

        return cls(
            explicit=_pattern(words("person", "explicit") + words("person", "explicit_words")),
            bare=frozenset(" ".join(w.lower().split()) for w in words("person", "bare")),
            filler=_pattern(words("person", "filler")),
            greeting=_pattern(words("greeting", "whole")),
            closing=_pattern(words("greeting", "closing")),
            asks=_pattern(words("ask", "whole")),
            chatter=_pattern(words("small_talk", "whole")),
            small_talk=_pattern(words("small_talk", "phrases")),
            complaint=_pattern(words("complaint", "phrases")),
            targets=_pattern(words("complaint", "targets")),
            complaints=_pattern(words("complaint", "complaints")),
            angry=tuple(clean(w) for w in words("angry", "words")),
            solved=frozenset(_strip(None, clean(w)) for w in words("verdict", "solved")),
            not_solved=frozenset(_strip(None, clean(w)) for w in words("verdict", "not_solved")),
            solved_emoji=frozenset(words("verdict", "solved_emoji")),
            not_solved_emoji=frozenset(words("verdict", "not_solved_emoji")),
            aside=_pattern(words("verdict", "aside")),
            unsure=frozenset(_strip(None, clean(w)) for w in words("unsure", "whole")),
            press=_pattern(words("person", "filler") + words("press", "filler")),
            status=_pattern(words("status", "phrases")),
            identity=_pattern(words("identity", "whole")),
            negation=_pattern(words("press", "negation")),
            form=_pattern(words("press", "form")),
            to_menu=frozenset(_strip(None, clean(w)) for w in words("navigate", "menu")),
            cancel=frozenset(_strip(None, clean(w)) for w in words("navigate", "cancel")),
            quit=frozenset(_strip(None, clean(w)) for w in words("navigate", "quit")),
        )

    @classmethod
    def load(cls, path: Path = _INTENTS_TOML) -> Intents:
        """The intents of a TOML file (by default the built-in knowledge/lexicon/intents.toml)."""
        return cls.parse(tomllib.loads(path.read_text(encoding="utf-8")))

    def wants_person(self, text: str) -> bool:
        """Whether a message asks for a person (DESIGN principle 1).

        Explicit phrases anywhere ("账号被封了，请转人工"); bare words ("客服", "human") only
        when, filler and punctuation aside, they are the whole message.
        """
        low = clean(text)
        if not low:
            return False
        if _found(self.explicit, low):
            return True
        return _strip(self.filler, low) in self.bare

    def only_person(self, text: str) -> bool:
        """Whether a message asks for a person and says nothing else ("转人工", "I want to talk
        to a person please"), so it is no question for the ticket's summary."""
        rest = _strip(self.filler, _strip(self.explicit, clean(text)))
        return not rest or rest in self.bare

    def is_angry(self, text: str, extra: Iterable[str] = ()) -> bool:
        """Whether a message is angry: an angry word (built-in or `extra`), or shouting."""
        low = clean(text)
        if any(w in low for w in (*self.angry, *(clean(w) for w in extra)) if w):
            return True
        letters = [c for c in text if c.isalpha() and c.isascii()]
        shouting = len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.8
        return shouting or low.count("!") + low.count("！") >= 3

    def is_complaint(self, text: str) -> bool:
        """Whether a message complains about the service itself ("your support is useless")."""
        low = clean(text)
        if _found(self.complaint, low):
            return True
        return _found(self.targets, low) and _found(self.complaints, low)

    def verdict(self, text: str) -> bool | None:
        """A typed answer to "did this solve it?": True (solved), False (not solved), or None
        when the message is anything else (a new question is searched as one)."""
        low = clean(text)
        if not _strip(None, low):  # only emoji and punctuation: 👍 or 👎, else nothing
            ups = sum(low.count(e) for e in self.solved_emoji)
            downs = sum(low.count(e) for e in self.not_solved_emoji)
            return (ups > 0) if ups != downs and (ups == 0 or downs == 0) else None
        for rest in (_strip(self.filler, low), _strip(self.aside, _strip(self.filler, low))):
            if rest in self.not_solved:
                return False
            if rest in self.solved:
                return True
        return None

    def is_unsure(self, text: str) -> bool:
        """Whether a message says the user does not know or remember ("不记得了", "not sure")."""
        low = clean(text)
        return _strip(self.filler, low) in self.unsure or _strip(None, low) in self.unsure

    def asks_identity(self, text: str) -> bool:
        """Whether a message asks who they are talking to ("你是真人吗", "are you a bot?")."""
        low = clean(text)
        return _found(self.identity, low) and not _strip(self.identity, low)

    def asks_status(self, text: str) -> bool:
        """Whether a message asks how long it takes or whether anyone is there ("还要等多久",
        "any update?")."""
        return _found(self.status, clean(text))

    def chooses_form(self, text: str) -> bool:
        """Whether a message names the form and does not say no to it ("I'd rather fill in
        the form", "那我填表吧"; not "I don't want a form")."""
        low = clean(text)
        return _found(self.form, low) and not _found(self.negation, low)

    def gist(self, text: str) -> str:
        """A short message or a button's label without filler and punctuation, to compare
        them loosely: "yeah fill the form" and "Fill in the form" have one gist."""
        return _strip(self.press, clean(text))

    def quits(self, text: str) -> bool:
        """Whether a message at a form's question gives up on the form ("算了", "never mind")
        rather than answers it."""
        bare = _strip(self.filler, clean(text))
        return bare in self.quit or bare in self.cancel

    def _navigation(self, low: str) -> Intent | None:
        """MENU for "菜单" or "back to the menu", CANCEL for "取消": the whole message."""
        bare = _strip(self.filler, low)
        if bare in self.to_menu:
            return Intent.MENU
        return Intent.CANCEL if bare in self.cancel else None

    def classify(self, text: str) -> Intent:
        """The intent of a message: a person, a complaint, a greeting, a request for help
        that says nothing yet, small talk, or none."""
        low = clean(text)
        if not low:
            return Intent.NONE
        if self.asks_identity(low):
            return Intent.IDENTITY
        if self.wants_person(low):
            return Intent.PERSON
        if self.is_complaint(low):
            return Intent.COMPLAINT
        if not _strip(None, low):
            return Intent.SMALL_TALK  # only punctuation or emoji ("???", "🙏")
        if (moving := self._navigation(low)) is not None:
            return moving
        repeated = _REPEATS.sub(r"\1\1", low)  # "哈哈哈哈" is "哈哈"
        # greetings first too: the filler "谢谢" would leave the "你" of "谢谢你"
        rest = _strip(self.filler, _strip(self.greeting, repeated))
        greeted = _strip(self.greeting, rest)
        if not greeted:
            closing = not _strip(self.closing, repeated)
            return Intent.CLOSING if closing else Intent.GREETING
        if not _strip(self.asks, greeted):
            return Intent.ASK
        if not _strip(self.chatter, greeted) or _found(self.small_talk, low):
            return Intent.SMALL_TALK
        return Intent.NONE


@functools.cache
def builtin() -> Intents:
    """The built-in intents (knowledge/lexicon/intents.toml), compiled once."""
    return Intents.load()


def quits(text: str) -> bool:
    """Whether a message at a form's question gives up on the form, by the built-in lists."""
    return builtin().quits(text)


def classify(text: str) -> Intent:
    """The intent of a message, by the built-in phrase lists."""
    return builtin().classify(text)


def verdict(text: str) -> bool | None:
    """A typed answer to "did this solve it?", by the built-in phrase lists (Intents.verdict)."""
    return builtin().verdict(text)


def unsure(text: str) -> bool:
    """Whether a message says the user does not know or remember (Intents.is_unsure)."""
    return builtin().is_unsure(text)


def asks_status(text: str) -> bool:
    """Whether a message asks after the wait, by the built-in phrase lists."""
    return builtin().asks_status(text)


def chooses_form(text: str) -> bool:
    """Whether a message chooses the form, by the built-in phrase lists (Intents.chooses_form)."""
    return builtin().chooses_form(text)


def gist(text: str) -> str:
    """A message's or a label's gist, by the built-in phrase lists (Intents.gist)."""
    return builtin().gist(text)


def only_person(text: str) -> bool:
    """Whether a message asks for a person and nothing else (Intents.only_person)."""
    return builtin().only_person(text)


def wants_human(text: str) -> bool:
    """Whether a message asks for a person, by the built-in phrase lists ("你是真人吗" asks
    who they talk to, not for one)."""
    found = builtin()
    return found.wants_person(text) and not found.asks_identity(text)
