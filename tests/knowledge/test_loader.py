"""The bundled help center loads clean; broken content is reported as `file:line: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loader import ContentError, check_content, default_content_path, load_knowledge
from knowledge.models import LANGS, FieldType, KnowledgeBase

BUNDLED = default_content_path()


@pytest.fixture(scope="module")
def bundled() -> KnowledgeBase:
    return load_knowledge(BUNDLED)


# --- The bundled content -------------------------------------------------------------------


def test_bundled_content_checks_clean() -> None:
    assert check_content(BUNDLED) == []


def test_bundled_has_at_least_eight_top_categories_with_children(bundled: KnowledgeBase) -> None:
    tops = bundled.top_categories()
    assert len(tops) >= 8
    assert {"account", "content", "commerce", "safety", "support"} <= {c.id for c in tops}
    for top in tops:
        assert top.children, top.id
        assert all(bundled.categories[c].parent == top.id for c in top.children)


def test_children_keep_file_order(bundled: KnowledgeBase) -> None:
    assert bundled.categories["account"].children[:2] == ("account/banned", "account/muted")


def test_named_forms_exist_and_fit_a_discord_modal(bundled: KnowledgeBase) -> None:
    names = {"ban-appeal", "content-appeal", "order-problem", "report-user", "hacked-account"}
    assert names <= set(bundled.forms)
    for form in bundled.forms.values():
        inputs = [f for f in form.fields if f.type is not FieldType.IMAGES]
        assert len(inputs) <= 5, form.id  # a Discord modal holds 5 inputs
        for field in form.fields:
            assert all(len(field.label_in(lang)) <= 45 for lang in LANGS), field.id
            if field.type is FieldType.CHOICE:
                assert len(field.choices) >= 2


def test_ban_appeal_asks_what_a_moderator_needs(bundled: KnowledgeBase) -> None:
    form = bundled.forms["ban-appeal"]
    kinds = [f.type for f in form.fields]
    assert FieldType.DATE in kinds and FieldType.LONG_TEXT in kinds
    screenshots = form.field("screenshots")
    assert screenshots is not None and screenshots.type is FieldType.IMAGES
    assert not screenshots.required


@pytest.mark.parametrize(
    ("category", "form"),
    [
        ("account/banned", "ban-appeal"),
        ("account/muted", "ban-appeal"),
        ("account/security", "hacked-account"),
        ("content/moderation", "content-appeal"),
        ("content/reach", "content-appeal"),
        ("content/comments", "content-appeal"),
        ("content/live", "content-appeal"),
        ("commerce/refunds", "order-problem"),
        ("commerce/logistics", "order-problem"),
        ("safety/report", "report-user"),
        ("safety/harassment", "report-user"),
        ("safety/minors", "report-user"),
    ],
)
def test_categories_route_to_their_form(bundled: KnowledgeBase, category: str, form: str) -> None:
    found = bundled.form_for(category)
    assert found is not None and found.id == form


def test_every_commerce_category_asks_for_the_order_form(bundled: KnowledgeBase) -> None:
    commerce = bundled.categories["commerce"].children
    assert len(commerce) >= 6
    assert all(bundled.categories[c].form == "order-problem" for c in commerce)


def test_locked_accounts_and_safety_outrank_how_to(bundled: KnowledgeBase) -> None:
    for high in ("account/banned", "account/security", "safety/harassment", "safety/minors"):
        assert bundled.priority_of(high) == 3, high
    assert bundled.priority_of("commerce/after-sales") == 2
    assert bundled.priority_of("app/recommendations") <= 1


def test_every_article_exists_in_both_languages(bundled: KnowledgeBase) -> None:
    ids = {lang: {a.id for a in bundled.articles if a.lang == lang} for lang in LANGS}
    assert len(ids["en"]) >= 36
    assert ids["zh-CN"] == ids["en"]
    for article in bundled.articles:
        assert article.category in bundled.categories
        assert Path(article.path).stem == article.id


def test_contact_article_points_at_this_bot(bundled: KnowledgeBase) -> None:
    en = bundled.article("contact-human-agent", "en")
    zh = bundled.article("contact-human-agent", "zh-CN")
    assert en is not None and "/human" in en.body and "Talk to a person" in en.body
    assert zh is not None and "/human" in zh.body and "人工客服" in zh.body


# --- Broken content in a temporary folder --------------------------------------------------

CATEGORIES = """\
[[category]]
id = "account"
label = { zh-CN = "账号", en = "Account" }

[[category]]
id = "account/banned"
parent = "account"
label = { zh-CN = "封号", en = "Banned" }
form = "ban-appeal"
priority = 3
"""

FORMS = """\
[[form]]
id = "ban-appeal"
title = { zh-CN = "申诉", en = "Appeal" }

[[form.field]]
id = "account_id"
type = "text"
label = { zh-CN = "账号", en = "Account" }
prompt = { zh-CN = "你的账号？", en = "Your account?" }
max_length = 40

[[form.field]]
id = "kind"
type = "choice"
label = { zh-CN = "类型", en = "Kind" }
prompt = { zh-CN = "哪种？", en = "Which?" }
choices = [
    { id = "ban", label = { zh-CN = "封号", en = "Ban" } },
    { id = "mute", label = { zh-CN = "禁言", en = "Mute" } },
]
"""


def _article(article_id: str, category: str = "account/banned") -> str:
    return f"---\nid: {article_id}\ntitle: T\ncategory: {category}\nkeywords: [a]\n---\nBody.\n"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    (tmp_path / "categories.toml").write_text(CATEGORIES, encoding="utf-8")
    (tmp_path / "forms.toml").write_text(FORMS, encoding="utf-8")
    for lang in LANGS:
        folder = tmp_path / "articles" / lang
        folder.mkdir(parents=True)
        (folder / "banned.md").write_text(_article("banned"), encoding="utf-8")
    return tmp_path


def _at(path: Path, needle: str, nth: int = 0) -> str:
    """`path:line: ` for the nth line of `path` that contains `needle` (1-based lines)."""
    hits = [n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return f"{path}:{hits[nth]}: "


def _one_problem(root: Path, *words: str) -> str:
    problems = check_content(root)
    matching = [p for p in problems if all(w in p for w in words)]
    assert len(matching) == 1, problems
    return matching[0]


def test_the_minimal_folder_is_valid(content: Path) -> None:
    assert check_content(content) == []


@pytest.mark.parametrize(
    ("line", "problem"),
    [('pattern = "L[0-9"', "pattern is not a regular expression"),
     ("pattern = 7", "pattern must be a regular expression")],
)  # fmt: skip
def test_a_field_pattern_must_compile(content: Path, line: str, problem: str) -> None:
    forms = content / "forms.toml"
    forms.write_text(FORMS.replace("max_length = 40", f"max_length = 40\n{line}"), "utf-8")
    assert problem in _one_problem(content, "pattern")
    forms.write_text(FORMS.replace("max_length = 40", 'max_length = 40\npattern = "L\\\\d+"'))
    assert check_content(content) == []
    kb = load_knowledge(content)
    assert kb.categories["account"].children == ("account/banned",)
    kind = kb.forms["ban-appeal"].field("kind")
    assert kind is not None and [c.id for c in kind.choices] == ["ban", "mute"]
    assert kb.synonyms == ()


def test_duplicate_article_id(content: Path) -> None:
    other = content / "articles" / "en" / "other.md"
    other.write_text(_article("banned"), encoding="utf-8")
    problem = _one_problem(content, "duplicate id 'banned'")
    assert problem.startswith(f"{other}:2: ")


def test_article_in_one_language_only(content: Path) -> None:
    (content / "articles" / "en" / "banned.md").unlink()
    problem = _one_problem(content, "no en version")
    assert problem.startswith(f"{content / 'articles' / 'zh-CN' / 'banned.md'}:2: ")


def test_article_with_unknown_category(content: Path) -> None:
    path = content / "articles" / "en" / "banned.md"
    path.write_text(_article("banned", category="account/nope"), encoding="utf-8")
    problem = _one_problem(content, "'account/nope'")
    assert problem.startswith(f"{path}:4: ")


def test_bad_toml_names_its_line(content: Path) -> None:
    path = content / "categories.toml"
    path.write_text(CATEGORIES.replace('id = "account/banned"', "id = account/banned"))
    problem = _one_problem(content, "invalid TOML")
    assert problem.startswith(_at(path, "id = account/banned"))
    # Without the tree, articles are not reported as filed under missing categories.
    assert not any("is not in categories.toml" in p for p in check_content(content))


def test_unknown_field_type(content: Path) -> None:
    path = content / "forms.toml"
    path.write_text(FORMS.replace('type = "text"', 'type = "textarea"'))
    problem = _one_problem(content, "'textarea'")
    assert problem.startswith(_at(path, 'id = "account_id"'))


def test_form_referenced_but_missing(content: Path) -> None:
    path = content / "categories.toml"
    path.write_text(CATEGORIES.replace('form = "ban-appeal"', 'form = "gone"'))
    problem = _one_problem(content, "form 'gone'")
    assert problem.startswith(_at(path, 'id = "account/banned"'))


def test_duplicate_category_names_the_second(content: Path) -> None:
    path = content / "categories.toml"
    path.write_text(CATEGORIES + CATEGORIES.split("\n\n")[1])
    problem = _one_problem(content, "duplicate category id 'account/banned'")
    assert problem.startswith(_at(path, 'id = "account/banned"', nth=1))


def test_missing_parent_and_path_mismatch(content: Path) -> None:
    path = content / "categories.toml"
    path.write_text(CATEGORIES.replace('parent = "account"', 'parent = "safety"'))
    problems = check_content(content)
    at = _at(path, 'id = "account/banned"')
    assert any(p.startswith(at) and "'safety' does not exist" in p for p in problems)
    assert any(p.startswith(at) and "path without its last" in p for p in problems)


def test_category_shape_problems(content: Path) -> None:
    path = content / "categories.toml"
    broken = CATEGORIES.replace(', en = "Account" }', " }").replace(
        '"account/banned"', '"账号/封号"'
    )
    path.write_text(broken + 'colour = "red"\n')
    problems = "\n".join(check_content(content))
    assert _at(path, 'id = "account"') + "label lacks en" in problems
    assert "must use only a-z 0-9" in problems
    assert "unknown key 'colour'" in problems


def test_choice_field_needs_ascii_choices(content: Path) -> None:
    path = content / "forms.toml"
    path.write_text(FORMS.replace('{ id = "mute"', '{ id = "禁言"'))
    problem = _one_problem(content, "choice 2", "choice id")
    assert problem.startswith(_at(path, 'id = "kind"'))


def test_limits_and_unknown_keys_in_fields(content: Path) -> None:
    path = content / "forms.toml"
    path.write_text(
        FORMS.replace("max_length = 40", "max_length = 5000\nmax_images = 2\nhint = 1")
    )
    problems = "\n".join(check_content(content))
    at = _at(path, 'id = "account_id"')
    assert at + "max_length must be a whole number from 1 to 200" in problems
    assert at + "max_images applies to images fields only" in problems
    assert at + "unknown key 'hint'" in problems


def test_missing_forms_file(content: Path) -> None:
    (content / "forms.toml").unlink()
    assert check_content(content) == [f"{content / 'forms.toml'}: file not found"]


def test_an_articles_only_folder_lacks_categories_and_forms(content: Path) -> None:
    (content / "categories.toml").unlink()
    (content / "forms.toml").unlink()
    assert check_content(content) == [
        f"{content / 'categories.toml'}: file not found",
        f"{content / 'forms.toml'}: file not found",
    ]


def test_load_knowledge_raises_with_every_problem(content: Path) -> None:
    (content / "articles" / "en" / "banned.md").unlink()
    (content / "forms.toml").write_text(FORMS.replace('type = "text"', 'type = "x"'))
    with pytest.raises(ContentError) as caught:
        load_knowledge(content)
    assert len(caught.value.problems) == 2
    assert caught.value.problems == check_content(content)


def test_synonyms_are_loaded_as_groups(content: Path) -> None:
    (content / "synonyms.toml").write_text(
        '[[group]]\nterms = ["销号", "注销", "delete account"]\n\n'
        '[[group]]\nterms = ["封号", "ban"]\n'
    )
    kb = load_knowledge(content)
    assert kb.synonyms == (("销号", "注销", "delete account"), ("封号", "ban"))


def test_bad_synonym_group_names_its_line(content: Path) -> None:
    path = content / "synonyms.toml"
    path.write_text('[[group]]\nterms = ["a", "b"]\n\n[[group]]\nterms = ["alone"]\n')
    problem = _one_problem(content, "at least 2 words")
    assert problem.startswith(f"{path}:4: ")
