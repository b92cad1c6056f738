"""Search results remembered: the same question asked again is not ranked again.

People ask a help center the same few questions in the same words ("忘记密码", "refund"), and
ranking one takes ~2 ms (jieba, BM25, the passages' re-ranking), the largest part of a typed
message's turn. A result depends only on the index and the query, so it is kept until the
index changes: another index (a reload) or an example taught to it (`forget`).
"""

from __future__ import annotations

from knowledge.search import SearchIndex, SearchResult

SIZE = 1024  # results kept, the least recently used dropped first


class SearchCache:
    """The latest results of one index's searches, by query, language and limit."""

    def __init__(self, size: int = SIZE) -> None:
        self._size = size
        self._index: SearchIndex | None = None
        self._results: dict[tuple[str, str | None, int], SearchResult] = {}

    def search(self, index: SearchIndex, query: str, lang: str | None, limit: int) -> SearchResult:
        """`index.search(query, lang, limit)`, remembered while the index is unchanged."""
        if index is not self._index:
            self._index = index
            self._results.clear()
        key = (query, lang, limit)
        found = self._results.pop(key, None)  # put back below: the most recently used last
        if found is None:
            found = index.search(query, lang=lang, limit=limit)
            if len(self._results) >= self._size:
                del self._results[next(iter(self._results))]
        self._results[key] = found
        return found

    def forget(self) -> None:
        """The index learned something: rank every query again."""
        self._results.clear()

    def __len__(self) -> int:
        """How many results are kept."""
        return len(self._results)
