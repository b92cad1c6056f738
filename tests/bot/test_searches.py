"""bot.flows.searches: a query is ranked once while the index stays the same; another index,
an example taught or the size bound make it ranked again."""

from __future__ import annotations

from typing import cast

from bot.flows.searches import SearchCache
from knowledge.search import Hit, SearchIndex, SearchResult


class CountingIndex:
    """An index that finds one article named after the query and counts its searches."""

    def __init__(self, article: str = "a") -> None:
        self.article = article
        self.searches = 0

    def search(self, query: str, lang: str | None = None, limit: int = 5) -> SearchResult:
        self.searches += 1
        hit = Hit(f"{self.article}-{query}", 0.9, query, "c")
        return SearchResult(query, True, (hit,)[:limit])


def cached(cache: SearchCache, index: CountingIndex, query: str, lang: str = "en") -> str:
    """The id of the first hit, through the cache."""
    result = cache.search(cast(SearchIndex, index), query, lang, 5)
    return result.hits[0].id


def test_the_same_query_is_ranked_once() -> None:
    cache, index = SearchCache(), CountingIndex()
    assert cached(cache, index, "refund") == cached(cache, index, "refund") == "a-refund"
    assert index.searches == 1
    cached(cache, index, "refund", "zh-CN")  # titles in another language: ranked again
    assert index.searches == 2


def test_another_index_or_a_taught_example_ranks_again() -> None:
    cache, old, new = SearchCache(), CountingIndex("old"), CountingIndex("new")
    assert cached(cache, old, "refund") == "old-refund"
    assert cached(cache, new, "refund") == "new-refund"  # reloaded: the new index answers
    new.article = "taught"
    cache.forget()
    assert cached(cache, new, "refund") == "taught-refund"
    assert new.searches == 2


def test_the_least_recently_used_result_goes_first() -> None:
    cache, index = SearchCache(size=2), CountingIndex()
    cached(cache, index, "one")
    cached(cache, index, "two")
    cached(cache, index, "one")  # used again: "two" is now the oldest
    cached(cache, index, "three")
    assert len(cache) == 2
    cached(cache, index, "one")
    assert index.searches == 3
    cached(cache, index, "two")
    assert index.searches == 4
