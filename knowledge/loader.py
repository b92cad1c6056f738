"""Load and validate a content folder: articles, categories.toml, forms.toml, synonyms.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from knowledge import validate
from knowledge.models import (
    LANGS,
    Article,
    Category,
    Choice,
    FieldType,
    Form,
    FormField,
    KnowledgeBase,
)
from knowledge.validate import Source

# A field without max_length gets the most its type allows (see validate.LENGTH_LIMITS).
DEFAULT_MAX_LENGTH = dict(validate.LENGTH_LIMITS)
DEFAULT_MAX_IMAGES = 5


class ContentError(Exception):
    """Content that fails validation; `problems` holds one `file:line: message` each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def default_content_path() -> Path:
    """The bundled help center shipped with Kefu."""
    return Path(__file__).parent / "content"


def parse_article(path: Path, lang: str) -> Article:
    """Parse one Markdown article with YAML front matter; raises ContentError."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise ContentError([f"{path}:1: missing YAML front matter (---)"])
    end = text.find("\n---", 3)
    if end < 0:
        raise ContentError([f"{path}:1: front matter is not closed with ---"])
    try:
        meta = yaml.safe_load(text[3:end]) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", 0) + 2
        raise ContentError([f"{path}:{line}: invalid front matter: {exc}"]) from exc
    if not isinstance(meta, dict):
        raise ContentError([f"{path}:2: front matter must be a mapping"])
    problems = [
        f"{path}:2: front matter lacks {key!r}"
        for key in ("id", "title", "category")
        if not str(meta.get(key) or "").strip()
    ]
    if problems:
        raise ContentError(problems)
    keywords = meta.get("keywords") or []
    if not isinstance(keywords, list):
        raise ContentError([f"{path}:2: keywords must be a list"])
    body = text[end + 4 :].lstrip("-").strip()
    return Article(
        id=str(meta["id"]).strip(),
        lang=lang,
        title=str(meta["title"]).strip(),
        category=str(meta["category"]).strip(),
        keywords=tuple(str(k).strip() for k in keywords if str(k).strip()),
        body=body,
        path=str(path),
    )


def _collect_articles(root: Path, problems: list[str]) -> list[Article]:
    """Parse every article under `root/articles/<lang>/`, adding problems to `problems`."""
    base = root / "articles"
    if not base.is_dir():
        problems.append(f"{base}: no articles folder")
        return []
    articles: list[Article] = []
    for lang_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        lang = lang_dir.name
        if lang not in LANGS:
            problems.append(f"{lang_dir}: unknown language folder (expected one of {LANGS})")
            continue
        for path in sorted(lang_dir.glob("*.md")):
            try:
                articles.append(parse_article(path, lang))
            except ContentError as exc:
                problems.extend(exc.problems)
            except UnicodeDecodeError:
                problems.append(f"{path}:1: not UTF-8 text")
    return articles


def load_articles(root: Path) -> list[Article]:
    """Every article under `root/articles/<lang>/*.md`; only `articles/` is needed."""
    problems: list[str] = []
    articles = _collect_articles(root, problems)
    if problems:
        raise ContentError(problems)
    return articles


def check_content(root: Path) -> list[str]:
    """Every problem of a content folder as `file:line: message`; empty when it is valid."""
    return _read_content(root)[1]


def load_synonyms(root: Path) -> tuple[tuple[str, ...], ...]:
    """The groups of `root/synonyms.toml` (none when it is absent); raises ContentError."""
    problems: list[str] = []
    groups = _read_synonyms(root / "synonyms.toml", problems)
    if problems:
        raise ContentError(problems)
    return groups


def content_warnings(root: Path) -> list[str]:
    """What `kefu kb check` points out without failing, as `file:line: warning: …`.

    A term of `root/synonyms.toml` that occurs in no article (title, keywords, body or
    category) may still be what users type, but it may also be a phrase copied from a query
    log: each one is named, so that someone reads it again.
    """
    path = root / "synonyms.toml"
    problems: list[str] = []
    loaded = _read_toml(path, problems, required=False)
    if loaded is None:
        return []
    src, doc = loaded
    located: list[tuple[str, int]] = []
    for n, entry in enumerate(_tables(src, doc, "group", [])):
        terms = entry.get("terms")
        if isinstance(terms, list) and not validate.group_problems(entry):
            after = src.table_line("group", n) or 1
            located += [(t.strip(), src.line_of_text(t, after)) for t in terms]
    articles = _collect_articles(root, [])
    unmet = validate.unmet_terms([t for t, _ in located], articles)
    return [
        src.at(line, f"warning: synonym {term!r} never meets the articles' text")
        for term, line in located
        if term in unmet
    ]


def load_knowledge(root: Path) -> KnowledgeBase:
    """Articles, categories.toml, forms.toml and the optional synonyms.toml of `root`.

    Raises ContentError with every problem that check_content finds.
    """
    knowledge, problems = _read_content(root)
    if problems:
        raise ContentError(problems)
    return knowledge


def _read_content(root: Path) -> tuple[KnowledgeBase, list[str]]:
    problems: list[str] = []
    articles = _collect_articles(root, problems)
    categories, categories_src = _read_categories(root / "categories.toml", problems)
    forms = _read_forms(root / "forms.toml", problems)
    synonyms = _read_synonyms(root / "synonyms.toml", problems)
    problems += validate.article_problems(articles)
    # Without a readable categories.toml every reference would be reported as missing.
    if categories_src is not None:
        problems += validate.tree_problems(categories, categories_src, forms)
        problems += validate.article_category_problems(articles, categories)
    knowledge = KnowledgeBase(
        articles=tuple(articles), categories=categories, forms=forms or {}, synonyms=synonyms
    )
    return knowledge, problems


def _read_toml(
    path: Path, problems: list[str], *, required: bool
) -> tuple[Source, dict[str, Any]] | None:
    """The file's source and parsed document, or None (with a problem) when unusable."""
    if not path.is_file():
        if required:
            problems.append(f"{path}: file not found")
        return None
    try:
        src = Source(path, path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}:1: cannot read: {exc}")
        return None
    try:
        return src, tomllib.loads(src.text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        # tomllib names no line for some errors ("at end of document"): use the last one.
        line = int(match.group(1)) if match else max(len(src.text.splitlines()), 1)
        reason = re.sub(r"\s*\(at [^)]*\)$", "", message)
        where = f" (column {match.group(2)})" if match else ""
        problems.append(src.at(line, f"invalid TOML: {reason}{where}"))
        return None


def _tables(src: Source, doc: dict[str, Any], name: str, problems: list[str]) -> list[Any]:
    """The `[[name]]` tables of a document; other top-level keys are problems."""
    problems += [
        src.at(src.key_line(key), f"unknown top-level key {key!r} (expected [[{name}]] tables)")
        for key in doc
        if key != name
    ]
    tables = doc.get(name, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        problems.append(src.at(src.key_line(name), f"{name} must be written as [[{name}]] tables"))
        return []
    return tables


def _read_categories(path: Path, problems: list[str]) -> tuple[dict[str, Category], Source | None]:
    loaded = _read_toml(path, problems, required=True)
    if loaded is None:
        return {}, None
    src, doc = loaded
    entries: dict[str, dict[str, Any]] = {}
    for n, entry in enumerate(_tables(src, doc, "category", problems)):
        cid = entry.get("id")
        line = src.line_of(cid, after=src.table_line("category", n))
        problems += [src.at(line, message) for message in validate.category_problems(entry)]
        if isinstance(cid, str) and cid in entries:
            problems.append(src.at(line, f"duplicate category id {cid!r}"))
        elif isinstance(cid, str):
            entries[cid] = entry
    if not entries:
        problems.append(src.at(1, "no [[category]] tables"))
    return _build_categories(entries), src


def _build_categories(entries: dict[str, dict[str, Any]]) -> dict[str, Category]:
    """Categories in file order; each one's children in file order."""
    parents = {cid: _parent(cid, entry) for cid, entry in entries.items()}
    children: dict[str, list[str]] = {cid: [] for cid in entries}
    for cid, parent in parents.items():
        if parent in children:
            children[parent].append(cid)
    return {
        cid: Category(
            id=cid,
            labels=_lang_map(entry.get("label")),
            parent=parents[cid],
            children=tuple(children[cid]),
            form=_text(entry.get("form")),
            queue=_text(entry.get("queue")) or "default",
            priority=_whole(entry.get("priority"), 0),
        )
        for cid, entry in entries.items()
    }


def _parent(cid: str, entry: dict[str, Any]) -> str:
    """The given parent, else the id's path without its last part."""
    given = entry.get("parent")
    return given if isinstance(given, str) else cid.rpartition("/")[0]


def _read_forms(path: Path, problems: list[str]) -> dict[str, Form] | None:
    loaded = _read_toml(path, problems, required=True)
    if loaded is None:
        return None
    src, doc = loaded
    forms: dict[str, Form] = {}
    fields_before = 0
    for n, entry in enumerate(_tables(src, doc, "form", problems)):
        line = src.line_of(entry.get("id"), after=src.table_line("form", n))
        problems += [src.at(line, message) for message in validate.form_problems(entry)]
        fields = _dicts(entry.get("field"))
        problems += _field_problems(src, fields, fields_before, line)
        fields_before += len(fields)
        form = _build_form(entry, fields)
        if form.id in forms:
            problems.append(src.at(line, f"duplicate form id {form.id!r}"))
        elif form.id:
            forms[form.id] = form
    return forms


def _field_problems(
    src: Source, fields: list[dict[str, Any]], fields_before: int, form_line: int
) -> list[str]:
    """Located problems of a form's fields; `fields_before` counts earlier [[form.field]]s."""
    problems: list[str] = []
    seen: set[str] = set()
    for n, field in enumerate(fields, fields_before):
        fid = field.get("id")
        header = src.table_line("form.field", n) or form_line
        line = src.line_of(fid, after=header)
        problems += [src.at(line, message) for message in validate.field_problems(field)]
        if isinstance(fid, str) and fid in seen:
            problems.append(src.at(line, f"duplicate field id {fid!r} in this form"))
        seen.add(str(fid))
    return problems


def _build_form(entry: dict[str, Any], fields: list[dict[str, Any]]) -> Form:
    return Form(
        id=_text(entry.get("id")),
        title=_lang_map(entry.get("title")),
        fields=tuple(_build_field(field) for field in fields),
    )


def _build_field(entry: dict[str, Any]) -> FormField:
    ftype = validate.field_type(entry.get("type")) or FieldType.TEXT
    return FormField(
        id=_text(entry.get("id")),
        type=ftype,
        prompt=_lang_map(entry.get("prompt")),
        label=_lang_map(entry.get("label")),
        required=entry.get("required", True) is not False,
        max_length=_whole(entry.get("max_length"), DEFAULT_MAX_LENGTH.get(ftype, 200)),
        min_length=_whole(entry.get("min_length"), 1),
        max_images=_whole(entry.get("max_images"), DEFAULT_MAX_IMAGES),
        pattern=_text(entry.get("pattern")),
        choices=tuple(
            Choice(id=_text(choice.get("id")), labels=_lang_map(choice.get("label")))
            for choice in _dicts(entry.get("choices"))
        ),
    )


def _read_synonyms(path: Path, problems: list[str]) -> tuple[tuple[str, ...], ...]:
    """Groups of interchangeable search terms: `[[group]] terms = ["销号", "注销"]`."""
    loaded = _read_toml(path, problems, required=False)
    if loaded is None:
        return ()
    src, doc = loaded
    groups: list[tuple[str, ...]] = []
    for n, entry in enumerate(_tables(src, doc, "group", problems)):
        found = validate.group_problems(entry)
        line = src.table_line("group", n) or 1
        problems += [src.at(line, message) for message in found]
        if not found:
            groups.append(tuple(term.strip() for term in entry["terms"]))
    return tuple(groups)


def _dicts(value: object) -> list[dict[str, Any]]:
    """The tables in a TOML array (nothing when it is not one)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _lang_map(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v.strip() for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _whole(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
