"""Checks for help content: the shape of each TOML entry and the references between files.

Shape checks return bare messages; the loader prefixes them with `file:line:` through a
`Source`. Reference checks work on the loaded models and return located problems.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.models import LANGS, Article, Category, FieldType, Form
from knowledge.terms import Lexicon
from knowledge.text import doc_tokens, normalize

ID_RE = re.compile(r"[a-z0-9][a-z0-9_\-/]*")
# Discord: a modal title and a text input label hold at most 45 characters.
MODAL_LABEL_MAX = 45
# Discord: a button label holds at most 80 characters (Telegram has no tighter limit).
BUTTON_LABEL_MAX = 80
# Discord: a select option label holds at most 100 characters.
CHOICE_LABEL_MAX = 100
PROMPT_MAX = 1000
# Upper bounds for max_length per field type (the Discord modal allows 4000; we ask less).
LENGTH_LIMITS = {FieldType.TEXT: 200, FieldType.LONG_TEXT: 2000, FieldType.DATE: 40}
# Telegram albums and Discord messages both carry at most 10 attachments.
MAX_IMAGES = 10

CATEGORY_KEYS = frozenset({"id", "parent", "label", "form", "queue", "priority"})
FORM_KEYS = frozenset({"id", "title", "field"})
FIELD_KEYS = frozenset(
    {"id", "type", "prompt", "label", "required", "choices"}
    | {"max_length", "min_length", "max_images", "pattern"}
)
CHOICE_KEYS = frozenset({"id", "label"})
GROUP_KEYS = frozenset({"terms"})


@dataclass(frozen=True, slots=True)
class Source:
    """A content file's path and raw text, used to name the line of a problem."""

    path: Path
    text: str

    def at(self, line: int, message: str) -> str:
        """`message` located as `file:line: message`."""
        return f"{self.path}:{line}: {message}"

    def table_line(self, name: str, nth: int) -> int:
        """The line of the `nth` (from 0) `[[name]]` header, or 0 when there is none."""
        pattern = re.compile(rf"^[ \t]*\[\[[ \t]*{re.escape(name)}[ \t]*\]\]", re.MULTILINE)
        for n, match in enumerate(pattern.finditer(self.text)):
            if n == nth:
                return self._line_at(match.start())
        return 0

    def line_of(self, ident: object, after: int = 0) -> int:
        """The line of the first `id = "<ident>"` at or after line `after`.

        Good enough to locate a table by its id; falls back to `after` (or 1).
        """
        fallback = max(after, 1)
        if not isinstance(ident, str):
            return fallback
        start = self._offset_of_line(after)
        pattern = re.compile(rf"(?<![\w-])id\s*=\s*[\"']{re.escape(ident)}[\"']")
        match = pattern.search(self.text, start)
        return self._line_at(match.start()) if match else fallback

    def line_of_text(self, text: str, after: int = 0) -> int:
        """The line of the first quoted `text` at or after line `after` (else `after`, or 1)."""
        start = self._offset_of_line(after)
        for quote in ('"', "'"):
            found = self.text.find(f"{quote}{text}{quote}", start)
            if found >= 0:
                return self._line_at(found)
        return max(after, 1)

    def key_line(self, key: str) -> int:
        """The line where a top-level `key` (or `[key]` table) is set, else 1."""
        pattern = re.compile(rf"^[ \t]*\[*[ \t]*{re.escape(key)}\b", re.MULTILINE)
        match = pattern.search(self.text)
        return self._line_at(match.start()) if match else 1

    def _line_at(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def _offset_of_line(self, line: int) -> int:
        offset = 0
        for _ in range(max(line - 1, 0)):
            nxt = self.text.find("\n", offset)
            if nxt < 0:
                return len(self.text)
            offset = nxt + 1
        return offset


def id_problems(value: object, what: str) -> list[str]:
    """An id must be a non-empty lowercase ASCII string of a-z 0-9 - _ /."""
    if not isinstance(value, str) or not value:
        return [f"{what} is missing or not a string"]
    if not ID_RE.fullmatch(value):
        return [f"{what} {value!r} must use only a-z 0-9 - _ / (ASCII, lowercase)"]
    return []


def unknown_key_problems(entry: Mapping[str, object], allowed: frozenset[str]) -> list[str]:
    """Keys the format does not know, usually typos."""
    return [
        f"unknown key {key!r} (expected one of {', '.join(sorted(allowed))})"
        for key in entry
        if key not in allowed
    ]


def lang_map_problems(value: object, key: str, max_len: int) -> list[str]:
    """A `{ zh-CN = "…", en = "…" }` table with a non-empty text in every language."""
    if not isinstance(value, dict):
        return [f'{key} must be a table like {{ zh-CN = "…", en = "…" }}']
    problems = [f"{key} has unknown language {lang!r}" for lang in value if lang not in LANGS]
    for lang in LANGS:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{key} lacks {lang}")
        elif len(text) > max_len:
            problems.append(f"{key}.{lang} has {len(text)} characters, at most {max_len}")
    return problems


def _optional_id(entry: Mapping[str, object], key: str) -> list[str]:
    value = entry.get(key, "")
    return [] if value == "" else id_problems(value, key)


def category_problems(entry: Mapping[str, object]) -> list[str]:
    """Shape problems of one `[[category]]` table."""
    cid = entry.get("id")
    problems = unknown_key_problems(entry, CATEGORY_KEYS) + id_problems(cid, "category id")
    problems += lang_map_problems(entry.get("label"), "label", BUTTON_LABEL_MAX)
    for key in ("parent", "form", "queue"):
        problems += _optional_id(entry, key)
    parent = entry.get("parent")
    if isinstance(cid, str) and isinstance(parent, str) and parent != cid.rpartition("/")[0]:
        problems.append(
            f"parent {parent!r} must be the id's path without its last part "
            f"({cid.rpartition('/')[0]!r})"
        )
    priority = entry.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool) or priority < 0:
        problems.append(f"priority must be a whole number ≥ 0, not {priority!r}")
    return problems


def form_problems(entry: Mapping[str, object]) -> list[str]:
    """Shape problems of one `[[form]]` table, not counting its fields."""
    problems = unknown_key_problems(entry, FORM_KEYS) + id_problems(entry.get("id"), "form id")
    problems += lang_map_problems(entry.get("title"), "title", MODAL_LABEL_MAX)
    fields = entry.get("field")
    if not isinstance(fields, list) or not fields:
        problems.append("a form needs at least one [[form.field]]")
    elif not all(isinstance(f, dict) for f in fields):
        problems.append("every field must be a table ([[form.field]])")
    return problems


def field_type(value: object) -> FieldType | None:
    """The FieldType named by `value`, if it names one."""
    try:
        return FieldType(value) if isinstance(value, str) else None
    except ValueError:
        return None


def field_problems(entry: Mapping[str, object]) -> list[str]:
    """Shape problems of one `[[form.field]]` table."""
    problems = unknown_key_problems(entry, FIELD_KEYS) + id_problems(entry.get("id"), "field id")
    ftype = field_type(entry.get("type"))
    if ftype is None:
        kinds = " | ".join(t.value for t in FieldType)
        problems.append(f"field type {entry.get('type')!r} is not one of {kinds}")
    problems += lang_map_problems(entry.get("prompt"), "prompt", PROMPT_MAX)
    problems += lang_map_problems(entry.get("label"), "label", MODAL_LABEL_MAX)
    if not isinstance(entry.get("required", True), bool):
        problems.append("required must be true or false")
    if ftype is not None:
        problems += _limit_problems(entry, ftype) + _choice_field_problems(entry, ftype)
    return problems


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _limit_problems(entry: Mapping[str, object], ftype: FieldType) -> list[str]:
    problems: list[str] = []
    limit = LENGTH_LIMITS.get(ftype)
    for key, low in (("max_length", 1), ("min_length", 0)):
        if key in entry and limit is None:
            problems.append(f"{key} applies to text, long_text and date fields only")
        elif key in entry and not _whole(entry[key], low, limit or 0):
            problems.append(
                f"{key} must be a whole number from {low} to {limit} for {ftype.value}"
            )
    problems += _pattern_problems(entry, ftype)
    if "max_images" in entry and ftype is not FieldType.IMAGES:
        problems.append("max_images applies to images fields only")
    elif "max_images" in entry and not _whole(entry["max_images"], 1, MAX_IMAGES):
        problems.append(f"max_images must be a whole number from 1 to {MAX_IMAGES}")
    return problems


def _pattern_problems(entry: Mapping[str, object], ftype: FieldType) -> list[str]:
    if "pattern" not in entry:
        return []
    pattern = entry["pattern"]
    if ftype is not FieldType.TEXT:
        return ["pattern applies to text fields only"]
    if not isinstance(pattern, str) or not pattern.strip():
        return ["pattern must be a regular expression (a string)"]
    try:
        re.compile(pattern)
    except re.error as exc:
        return [f"pattern is not a regular expression: {exc}"]
    return []


def _choice_field_problems(entry: Mapping[str, object], ftype: FieldType) -> list[str]:
    choices = entry.get("choices")
    if ftype is not FieldType.CHOICE:
        return [] if choices is None else ["choices apply to choice fields only"]
    if not isinstance(choices, list) or len(choices) < 2:
        return ['a choice field needs at least 2 choices: [{ id = "…", label = { … } }, …]']
    problems: list[str] = []
    seen: set[str] = set()
    for n, choice in enumerate(choices, 1):
        if not isinstance(choice, dict):
            problems.append(f"choice {n} must be a table {{ id = …, label = … }}")
            continue
        cid = choice.get("id")
        own = unknown_key_problems(choice, CHOICE_KEYS) + id_problems(cid, "choice id")
        own += lang_map_problems(choice.get("label"), "label", CHOICE_LABEL_MAX)
        if isinstance(cid, str) and cid in seen:
            own.append(f"duplicate choice id {cid!r}")
        seen.add(str(cid))
        problems += [f"choice {n}: {message}" for message in own]
    return problems


def group_problems(entry: Mapping[str, object]) -> list[str]:
    """Shape problems of one synonyms `[[group]]` table."""
    problems = unknown_key_problems(entry, GROUP_KEYS)
    terms = entry.get("terms")
    if not isinstance(terms, list) or len(terms) < 2:
        problems.append('terms must list at least 2 words: terms = ["销号", "注销"]')
    elif not all(isinstance(t, str) and t.strip() for t in terms):
        problems.append("every term must be a non-empty string")
    return problems


def front_matter_line(path: str, key: str) -> int:
    """The line of `key:` in an article's front matter (1 when it cannot be found)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return 1
    return next((n for n, line in enumerate(lines, 1) if line.startswith(f"{key}:")), 1)


def _article_at(article: Article, key: str, message: str) -> str:
    return f"{article.path}:{front_matter_line(article.path, key)}: {message}"


def article_problems(articles: Sequence[Article]) -> list[str]:
    """Ids that are not ASCII or not the file name, duplicates, and missing languages."""
    problems: list[str] = []
    seen: dict[tuple[str, str], Article] = {}
    for article in articles:
        stem = Path(article.path).stem
        problems += [_article_at(article, "id", m) for m in id_problems(article.id, "id")]
        if article.path and stem != article.id:
            problems.append(_article_at(article, "id", f"id {article.id!r} is not the file name"))
        first = seen.setdefault((article.lang, article.id), article)
        if first is not article:
            message = f"duplicate id {article.id!r} in {article.lang} (also {first.path})"
            problems.append(_article_at(article, "id", message))
    return problems + _language_problems(seen)


def _language_problems(seen: Mapping[tuple[str, str], Article]) -> list[str]:
    problems: list[str] = []
    reported: set[tuple[str, str]] = set()
    for (_lang, article_id), article in seen.items():
        for lang in LANGS:
            if (lang, article_id) in seen or (lang, article_id) in reported:
                continue
            reported.add((lang, article_id))
            message = f"article {article_id!r} has no {lang} version (articles/{lang}/…)"
            problems.append(_article_at(article, "id", message))
    return problems


def article_category_problems(
    articles: Sequence[Article], categories: Mapping[str, Category]
) -> list[str]:
    """Every article's category must exist in categories.toml."""
    return [
        _article_at(a, "category", f"category {a.category!r} is not in categories.toml")
        for a in articles
        if a.category not in categories
    ]


def tree_problems(
    categories: Mapping[str, Category], src: Source, forms: Mapping[str, Form] | None
) -> list[str]:
    """Parents must exist; forms named by categories must exist (when forms.toml loaded)."""
    problems: list[str] = []
    for cat in categories.values():
        if cat.parent and cat.parent not in categories:
            message = f"category {cat.id!r}: parent {cat.parent!r} does not exist"
            problems.append(src.at(src.line_of(cat.id), message))
        if forms is not None and cat.form and cat.form not in forms:
            message = f"category {cat.id!r}: form {cat.form!r} is not in forms.toml"
            problems.append(src.at(src.line_of(cat.id), message))
    return problems


def unmet_terms(terms: Sequence[str], articles: Sequence[Article]) -> set[str]:
    """The synonym terms that occur in no article, matched as the search matches them.

    Each term is compiled as a group of its own; an article's title, keywords, body and
    category are read like short fields (every phrase found, stemmed, across fillers).
    """
    lexicon = Lexicon.compile([(term,) for term in terms])
    met: set[str] = set()
    for article in articles:
        text = "\n".join(
            (article.title, " | ".join(article.keywords), article.body, article.category)
        )
        met.update(doc_tokens(normalize(text), lexicon))
    return {term for n, term in enumerate(terms) if f"~{n}" not in met}
