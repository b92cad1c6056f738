"""Links between articles: the clauses of a body that send the reader to another article.

Help centers send readers on: "Your score is fine but nobody turns up: see "Matchmaking takes
forever"", "如果是别人偷偷改了你的绑定，请看“账号被他人盗用怎么找回”". The words of such a
clause describe the situation of the article it names, not of the one that holds them (they say
when the reader is in the wrong place): they are left out of the body that holds them. (Indexed
under the article named, as web search does with a link's anchor text, they did not help.)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from knowledge.models import Article

# A quoted span: Chinese quotes, corner brackets, or straight and curly English quotes.
_QUOTED_RE = re.compile(
    r"“([^”\n]{2,80})”|「([^」\n]{2,80})」|『([^』\n]{2,80})』|\"([^\"\n]{2,80})\""
)
# Where a clause starts: a sentence end, a semicolon, a line break (list items are clauses).
_CLAUSE_END_RE = re.compile(r"[。！？；;!?\n]|\.\s|:\s|：")
# The words that only point ("see", "请看"): a clause of these alone says nothing.
_POINTERS_RE = re.compile(
    r"(?i)\b(?:please\s+)?see\b|请看|请参考|请参见|请参阅|参见|参考|详见|请查看|(?:可以|先)?看(?=\s*$)|见(?=\s*$)"
)
_WORD_RE = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)


def _key(title: str) -> str:
    """A title as references spell it: NFKC-folded, lower-case, without spaces or edges."""
    folded = unicodedata.normalize("NFKC", title).lower()
    return re.sub(r"\s+", " ", folded).strip(" .。!?！？")


@dataclass(slots=True)
class Links:
    """Each article's body without the clauses that point to another article."""

    bodies: dict[tuple[str, str], str] = field(default_factory=dict)  # (id, lang) → body

    def body(self, article: Article) -> str:
        """The article's body without the clauses that describe other articles."""
        return self.bodies.get((article.id, article.lang), article.body)


def find_links(articles: Sequence[Article]) -> Links:
    """The clauses of every body that name another article by its title in quotes."""
    titles = {_key(a.title): a.id for a in articles}
    links = Links()
    for art in articles:
        cuts = [
            _clause(art.body, m.start(), m.end())
            for m in _QUOTED_RE.finditer(art.body)
            if titles.get(_key(next(g for g in m.groups() if g is not None)), art.id) != art.id
        ]
        if cuts:
            links.bodies[(art.id, art.lang)] = _without(art.body, cuts)
    return links


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause around a reference: back to the last clause end, on to the next one.

    When nothing but a pointer word stands before the reference in its clause ("Suspect an
    opponent is cheating? See …"), the sentence before it is the one that says when.
    """
    head = 0
    for m in _CLAUSE_END_RE.finditer(text, 0, start):
        head = m.end()
    if not _WORD_RE.search(_POINTERS_RE.sub(" ", text[head:start])) and head > 0:
        before = 0
        for m in _CLAUSE_END_RE.finditer(text, 0, max(head - 1, 0)):
            before = m.end()
        sentence = text[before:head].strip()
        if "\n" not in sentence and not sentence.startswith("#"):  # a heading stays
            head = before
    tail = _CLAUSE_END_RE.search(text, end)
    return head, tail.start() if tail else len(text)


def _without(text: str, cuts: list[tuple[int, int]]) -> str:
    """`text` with the spans of `cuts` (sorted, possibly overlapping) left out."""
    out: list[str] = []
    pos = 0
    for start, end in sorted(cuts):
        if start > pos:
            out.append(text[pos:start])
        pos = max(pos, end)
    out.append(text[pos:])
    return "".join(out)
