"""Learning from use (queries attached to articles) and `kefu kb check`'s synonym warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.examples import Example, examples_jsonl, parse_examples_jsonl
from knowledge.loader import content_warnings, default_content_path, load_articles
from knowledge.models import Article
from knowledge.search import SearchIndex


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    return load_articles(default_content_path())


def test_an_attached_query_teaches_its_words_to_the_article(articles: list[Article]) -> None:
    # "yeeted" is in no article: before, the query finds the ban article through "account"
    # and "again" only, or nothing confident; after a moderator attached one such query to
    # the hacked-account article, queries with that word lead there.
    index = SearchIndex.build(articles)
    query = "someone yeeted my account again"
    before = index.search(query)
    assert not (before.confident and before.hits[0].id == "account-hacked")
    assert index.add_example("my account got yeeted by some stranger", "account-hacked")
    after = index.search(query)
    assert after.hits[0].id == "account-hacked"
    assert after.confident


def test_a_query_like_an_example_is_answered_with_its_article(articles: list[Article]) -> None:
    query = "我想把我拍的所有照片都存到电脑上"
    index = SearchIndex.build(articles)
    assert index.search(query).hits[0].id != "data-export" or not index.search(query).confident
    index.add_example("怎么把我拍的照片全部存到电脑上", "data-export")
    result = index.search(query)
    assert result.hits[0].id == "data-export"
    assert result.confident


def test_examples_at_build_are_the_same_as_examples_added_later(
    articles: list[Article],
) -> None:
    taught = [Example("my account got yeeted", "account-hacked")]
    built = SearchIndex.build(articles, examples=taught)
    added = SearchIndex.build(articles)
    added.add_example("my account got yeeted", "account-hacked")
    assert built.examples() == added.examples() == tuple(taught)
    assert built.search("yeeted again") == added.search("yeeted again")


def test_an_example_for_an_unknown_article_or_without_words_is_not_kept(
    articles: list[Article],
) -> None:
    index = SearchIndex.build(articles, examples=[Example("whatever", "no-such-article")])
    assert not index.add_example("my account got yeeted", "no-such-article")
    assert not index.add_example("😀 !!!", "account-hacked")
    assert index.examples() == ()


def _kb(root: Path, synonyms: str) -> Path:
    for lang, title, body in (
        ("zh-CN", "充值没到账", "付款成功但是晶石没有到账，请先重启游戏。"),
        ("en", "Top-up not received", "You paid but the crystals did not arrive. Restart."),
    ):
        folder = root / "articles" / lang
        folder.mkdir(parents=True)
        front = f"---\nid: topup\ntitle: {title}\ncategory: pay/topup\nkeywords: []\n---\n"
        (folder / "topup.md").write_text(front + body + "\n", encoding="utf-8")
    (root / "synonyms.toml").write_text(synonyms, encoding="utf-8")
    return root


def test_kb_check_names_each_synonym_that_never_meets_the_articles(tmp_path: Path) -> None:
    root = _kb(
        tmp_path,
        '# a comment line\n[[group]]\nterms = ["晶石", "钻石", "crystals", "gems"]\n\n'
        '[[group]]\nterms = ["我的钻石怎么还没到啊",\n  "never got my gems after paying"]\n',
    )
    warnings = content_warnings(root)
    path = root / "synonyms.toml"
    assert warnings == [
        f"{path}:3: warning: synonym '钻石' never meets the articles' text",
        f"{path}:3: warning: synonym 'gems' never meets the articles' text",
        f"{path}:6: warning: synonym '我的钻石怎么还没到啊' never meets the articles' text",
        f"{path}:7: warning: synonym 'never got my gems after paying' never meets the articles'"
        " text",
    ]


def test_kb_check_has_no_synonym_warnings_without_a_synonyms_file(tmp_path: Path) -> None:
    root = _kb(tmp_path, "")
    (root / "synonyms.toml").unlink()
    assert content_warnings(root) == []


def test_examples_export_and_import_as_json_lines() -> None:
    taught = [Example("号被偷了 怎么办", "account-hacked"), Example('say "hi"', "x")]
    lines = list(examples_jsonl(taught))
    assert lines[0] == '{"query": "号被偷了 怎么办", "article": "account-hacked"}'
    assert parse_examples_jsonl([*lines, "", "\n"]) == taught
    with pytest.raises(ValueError, match="line 2"):
        parse_examples_jsonl([lines[0], '{"query": 1}'])
    with pytest.raises(ValueError, match="line 1: not JSON"):
        parse_examples_jsonl(["{"])


def test_an_example_teaches_only_words_no_article_holds(articles: list[Article]) -> None:
    # "taken down" is what the copyright article offers; a post taken down by moderation,
    # attached to the moderation article, must not take that phrase away from it. "nurse" is
    # in no article: the example teaches it.
    index = SearchIndex.build(articles)
    query = "how do I get my stolen photos taken down from another account"
    assert index.search(query).hits[0].id == "copyright-complaint"
    index.add_example(
        "my post got taken down for 'misleading health info' but i'm a nurse",
        "note-removed-by-moderation",
    )
    assert index.search(query).hits[0].id == "copyright-complaint"
    assert index.search("nurse").hits[0].id == "note-removed-by-moderation"


def test_a_query_told_like_an_example_finds_its_article(articles: list[Article]) -> None:
    # The attached query's words are a low-weight field of its article: other clothes that
    # do not fit, told in other words, lead to returns rather than to the refund that is late.
    index = SearchIndex.build(articles)
    queries = ("裤子大了想退", "鞋子小了 能退吗")
    assert all(index.search(q).hits[0].id != "refund-return" for q in queries)
    index.add_example("衣服小了想退", "refund-return")
    assert all(index.search(q).hits[0].id == "refund-return" for q in queries)


def test_an_example_sharing_a_word_does_not_take_another_articles_query(
    articles: list[Article],
) -> None:
    # An order not shipped shares "shipping" with a return's postage: its example neither
    # puts it first nor makes it a confident answer there.
    index = SearchIndex.build(articles)
    query = "who pays shipping if i send it back"
    assert index.search(query).hits[0].id == "refund-return"
    index.add_example("seller hasnt shiped my stuff yet can i cancel", "order-not-shipped")
    result = index.search(query)
    assert result.hits[0].id == "refund-return"
    assert result.confident


def test_examples_that_alone_put_an_article_first_leave_it_unconfident(
    articles: list[Article],
) -> None:
    # Attached examples may reorder the articles, but only a near copy of the query makes
    # an article confident that the articles' own words do not put first.
    index = SearchIndex.build(articles)
    query = "裤子大了想退"
    index.add_example("衣服小了想退", "refund-return")
    result = index.search(query)
    assert result.hits[0].id == "refund-return"
    assert not result.confident
    index.add_example(query, "refund-return")
    assert index.search(query).confident


# Two sibling articles tie on their own words for this query: the one about being muted
# (insults in comments) and the one about harassment (a crowd insulting someone).
_TIED = "一群人在评论区骂我 私信也在骂 怎么办"
_CLOSE = "一群人私信骂我 拉黑了换个号继续"  # like it, but no near copy


def test_an_example_close_to_the_query_settles_a_tie_between_siblings(
    articles: list[Article],
) -> None:
    index = SearchIndex.build(articles)
    before = index.search(_TIED)
    assert not before.confident
    tied = {h.id for h in before.hits[:2]}
    assert tied == {"account-muted", "harassment-privacy-leak"}
    for article in sorted(tied):
        index = SearchIndex.build(articles, examples=[Example(_CLOSE, article)])
        result = index.search(_TIED)
        assert result.hits[0].id == article
        assert result.confident


def test_a_close_example_of_an_article_the_query_does_not_tie_leaves_it_unconfident(
    articles: list[Article],
) -> None:
    index = SearchIndex.build(articles, examples=[Example(_CLOSE, "notification-settings")])
    result = index.search(_TIED)
    assert result.hits[0].id != "notification-settings"
    assert not result.confident


def test_an_example_is_kept_as_typed_and_matched_normalised(articles: list[Article]) -> None:
    # Traditional characters in the attached query, Simplified ones in the user's.
    typed = "一群人私信罵我 拉黑了換個號繼續"
    index = SearchIndex.build(articles, examples=[Example(typed, "harassment-privacy-leak")])
    assert index.examples() == (Example(typed, "harassment-privacy-leak"),)
    result = index.search(_TIED)
    assert result.hits[0].id == "harassment-privacy-leak"
    assert result.confident


def test_a_near_copy_attached_to_an_unrelated_article_leaves_it_unconfident(
    articles: list[Article],
) -> None:
    # Attached to the notifications article (wrongly, or for another reason), a query much
    # like this one puts it first but does not make it the answer; the very query does.
    near = "评论区有人骂我 能封他吗"
    index = SearchIndex.build(articles, examples=[Example(near, "notification-settings")])
    result = index.search(_TIED)
    assert result.hits[0].id == "notification-settings"
    assert not result.confident
    index.add_example(_TIED, "notification-settings")
    assert index.search(_TIED).confident
