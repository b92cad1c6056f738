"""Help-center content: articles, the category tree and appeal forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

LANGS = ("zh-CN", "en")


@dataclass(frozen=True, slots=True)
class Article:
    """One article in one language. The same `id` names it in every language."""

    id: str
    lang: str
    title: str
    category: str
    keywords: tuple[str, ...]
    body: str
    path: str = ""


@dataclass(frozen=True, slots=True)
class Category:
    """A node of the menu tree.

    `id` is a path such as "account/banned"; `parent` is "" for a top category.
    `labels` maps a language to the button label. `form` names a form in forms.toml (or "").
    `priority` ranks tickets of this category in the queue (higher is served first).
    """

    id: str
    labels: dict[str, str]
    parent: str = ""
    children: tuple[str, ...] = ()
    form: str = ""
    queue: str = "default"
    priority: int = 0

    def label(self, lang: str) -> str:
        """The label in `lang`, falling back to English, then the id."""
        return self.labels.get(lang) or self.labels.get("en") or self.id


class FieldType(StrEnum):
    """What a form field accepts."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    DATE = "date"
    CHOICE = "choice"
    IMAGES = "images"


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a choice field: an ASCII id and labels per language."""

    id: str
    labels: dict[str, str]

    def label(self, lang: str) -> str:
        """The label in `lang`, falling back to English, then the id."""
        return self.labels.get(lang) or self.labels.get("en") or self.id


@dataclass(frozen=True, slots=True)
class FormField:
    """One question of a form, with its validation limits."""

    id: str
    type: FieldType
    prompt: dict[str, str]
    label: dict[str, str] = field(default_factory=dict)
    required: bool = True
    max_length: int = 500
    min_length: int = 1
    max_images: int = 5
    choices: tuple[Choice, ...] = ()
    pattern: str = ""  # text only: what an answer looks like (a regular expression), or ""

    def prompt_in(self, lang: str) -> str:
        """The prompt in `lang`, falling back to English."""
        return self.prompt.get(lang) or self.prompt.get("en") or self.id

    def label_in(self, lang: str) -> str:
        """A short label for summaries and modals (≤ 45 characters on Discord)."""
        return self.label.get(lang) or self.label.get("en") or self.id


@dataclass(frozen=True, slots=True)
class Form:
    """An appeal form: an ordered list of fields."""

    id: str
    title: dict[str, str]
    fields: tuple[FormField, ...]

    def title_in(self, lang: str) -> str:
        """The title in `lang`, falling back to English."""
        return self.title.get(lang) or self.title.get("en") or self.id

    def field(self, field_id: str) -> FormField | None:
        """The field named `field_id`, if any."""
        return next((f for f in self.fields if f.id == field_id), None)


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """Everything loaded from a content folder."""

    articles: tuple[Article, ...]
    categories: dict[str, Category]
    forms: dict[str, Form]
    synonyms: tuple[tuple[str, ...], ...] = ()

    def article(self, article_id: str, lang: str) -> Article | None:
        """The article `article_id` in `lang`, else in any language."""
        best: Article | None = None
        for a in self.articles:
            if a.id == article_id:
                if a.lang == lang:
                    return a
                best = best or a
        return best

    def top_categories(self) -> list[Category]:
        """The categories with no parent, in file order."""
        return [c for c in self.categories.values() if not c.parent]

    def form_for(self, category_id: str) -> Form | None:
        """The form of a category, inherited from its parent when it has none of its own."""
        cat = self.categories.get(category_id)
        while cat is not None:
            if cat.form:
                return self.forms.get(cat.form)
            cat = self.categories.get(cat.parent) if cat.parent else None
        return None

    def priority_of(self, category_id: str) -> int:
        """The queue priority of a category, inherited from its parent."""
        cat = self.categories.get(category_id)
        while cat is not None:
            if cat.priority:
                return cat.priority
            cat = self.categories.get(cat.parent) if cat.parent else None
        return 0

    def articles_in(self, category_id: str, lang: str) -> list[Article]:
        """Articles filed under a category or its descendants, in `lang`."""
        prefix = category_id.rstrip("/") + "/"
        return [
            a
            for a in self.articles
            if a.lang == lang and (a.category == category_id or a.category.startswith(prefix))
        ]
