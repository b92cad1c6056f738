"""Load and validate a content folder: articles, categories.toml, forms.toml, synonyms.toml."""

from __future__ import annotations

from pathlib import Path

import yaml

from knowledge.models import LANGS, Article


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


def load_articles(root: Path) -> list[Article]:
    """Every article under `root/articles/<lang>/*.md`; only `articles/` is needed."""
    articles: list[Article] = []
    problems: list[str] = []
    base = root / "articles"
    if not base.is_dir():
        raise ContentError([f"{base}: no articles folder"])
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
    if problems:
        raise ContentError(problems)
    return articles
