"""What the search reads from an article's structure: links to other articles, sections."""

from __future__ import annotations

from knowledge.links import find_links
from knowledge.models import Article
from knowledge.passages import Passages, read_body, sections
from knowledge.search import SearchIndex
from knowledge.terms import Lexicon
from knowledge.text import Unit, normalize


def _article(art_id: str, title: str, body: str, lang: str = "en") -> Article:
    return Article(art_id, lang, title, "game/" + art_id, (), body)


RANKED = _article(
    "ranked-ban",
    "Ranked locked because of a low conduct score",
    "Leaving a match costs 10 points of conduct score.\n\n"
    '- Your score is fine but nobody turns up: see "Matchmaking takes forever".\n'
    "- Finish matches to earn points back.",
)
QUEUE = _article("queue", "Matchmaking takes forever", "Queues are long late at night.")
RANKED_ZH = _article(
    "ranked-ban",
    "信誉分太低，排位被禁赛了",
    "中途退出扣 10 分。\n"
    "- 信誉分是满的，就是匹配不到人：请看“匹配太久或对局不平衡”。\n"
    "- 打完对局加分。",
    "zh-CN",
)
QUEUE_ZH = _article("queue", "匹配太久或对局不平衡", "深夜排队时间长。", "zh-CN")


def test_a_clause_that_sends_the_reader_elsewhere_leaves_the_body() -> None:
    links = find_links([RANKED, QUEUE, RANKED_ZH, QUEUE_ZH])
    body = links.body(RANKED)
    assert "nobody turns up" not in body
    assert "Leaving a match" in body
    assert "Finish matches" in body
    zh = links.body(RANKED_ZH)
    assert "匹配不到人" not in zh
    assert "中途退出" in zh
    assert "打完对局" in zh
    assert links.body(QUEUE) == QUEUE.body  # no link: unchanged


def test_a_heading_before_a_bare_link_stays() -> None:
    art = _article(
        "a",
        "Disconnects",
        'Reconnect in time.\n## Other problems\nSee "Matchmaking takes forever".',
    )
    assert find_links([art, QUEUE]).body(art) == "Reconnect in time.\n## Other problems\n"


def test_a_quote_that_names_no_article_stays() -> None:
    text = 'Tap "Reconnect" within 3 minutes.'
    art = _article("a", "Disconnects", text)
    assert find_links([art, QUEUE]).body(art) == text


def test_a_link_to_the_article_itself_stays() -> None:
    text = 'See "Matchmaking takes forever" again later.'
    art = _article("queue", "Matchmaking takes forever", text)
    assert find_links([art]).body(art) == text


def test_a_body_is_cut_at_its_headings() -> None:
    body = "Intro line.\n## Long queues\nWait.\n## Greyed out\nLevel 20.\n#hashtag stays"
    assert sections(body) == [
        "Intro line.",
        "## Long queues\nWait.",
        "## Greyed out\nLevel 20.\n#hashtag stays",
    ]


def _passages(*bodies: str) -> Passages:
    """Passages of one article per body, read as the index reads them."""
    passages = Passages()
    for body in bodies:
        passages.add(read_body(sections(normalize(body)), Lexicon.compile([]), set(), set())[1])
    return passages


def test_a_body_is_counted_once_and_its_sections_read_like_titles() -> None:
    lexicon = Lexicon.compile([["退款", "refund"], ["账号", "account"]])
    body = normalize(
        "## 退款\n退款要 3 天，refund takes days.\n## 账号\n账号被封 the account, refund"
    )
    words: set[str] = set()
    two = frozenset({"退款", "账号", "被封"})
    tally, held = read_body(sections(body), lexicon, words, two)
    refund, account = (f"~{n}" for n in range(2))
    # Dictionary words once each; English terms and concepts as often as they occur.
    assert tally["退款"] == tally["账号"] == tally["被封"] == 1
    assert tally["refund"] == 2
    assert tally[refund] == 4  # 退款 twice (the heading and the text), refund twice
    assert tally[account] == 3
    assert "退" not in tally  # characters are not counted in a body
    assert len(held) == 2
    assert {"refund", "退", "款", "退款"} <= held[0][0]
    assert "account" in held[1][0]
    assert "account" not in held[0][0]
    # Each section's heading is read apart (these, with too little text under them, are not).
    assert held[0][1] == held[1][1] == set()
    assert {"refund", "takes", "account"} <= words


def test_section_coverage_is_the_best_share_one_section_explains() -> None:
    # both words, but in two sections; both words in one section
    passages = _passages("## A\nlag all day\n## B\nping", "## A\nlag and ping")
    units = [Unit("lag"), Unit("ping")]  # (query words are stemmed: these stay as they are)
    assert passages.coverage(0, units, [1.0, 1.0]) == 0.5
    assert passages.coverage(1, units, [1.0, 1.0]) == 1.0
    assert passages.coverage(1, units, [1.0, 3.0]) == 1.0
    assert passages.coverage(0, units, [1.0, 3.0]) == 0.75


def test_section_coverage_reads_chinese_by_characters() -> None:
    passages = _passages("## 排队\n就是匹配不到人")
    # Neither 到人 nor 人 is a dictionary word of the section (which a body is indexed by).
    assert passages.coverage(0, [Unit("到人")], [1.0]) == 1.0
    assert passages.coverage(0, [Unit("人")], [1.0]) == 1.0
    assert passages.coverage(0, [Unit("排位", ("排位",))], [1.0]) == 0.0


def test_the_article_whose_one_section_explains_the_query_ranks_first() -> None:
    spread = _article(
        "spread",
        "Account settings",
        "## Password\nChange the password.\n## Region\nPick a server region.\n"
        "## Queue\nThe queue shows your place.",
    )
    focused = _article(
        "focused",
        "Matches",
        "## Waiting\nA long queue in a far region: set the region to Auto.\n## Other\nNothing.",
    )
    index = SearchIndex.build([spread, focused])
    assert index.search("long queue region").hits[0].id == "focused"


def test_a_word_rarer_than_its_concept_keeps_its_weight() -> None:
    # "mac" is in the lexicon's computer group; many articles say "PC", one says "Mac": the
    # rare word, not the broad concept, tells which article answers.
    pc = _article("pc-client", "Play on PC", "Download the PC client for Windows. The PC app.")
    pc2 = _article("pc-lag", "Lag on a computer", "On a PC, close other programs.")
    devices = _article(
        "devices", "Supported devices", "iPhone, Android.\n## Not supported\nMac and Linux."
    )
    index = SearchIndex.build([pc, pc2, devices])
    assert index.search("is there a mac version").hits[0].id == "devices"


def test_heading_share_is_what_one_heading_explains() -> None:
    under = "\nUpdate the game and check that your party is within two tiers of each other."
    passages = _passages(
        "## The ranked button is grey" + under + "\n## Queues" + under,
        "## Not a ban, just can't start" + under,  # says what the article is not about
        '## The ranked button is grey\nSee "Matchmaking takes forever".',  # only points on
        "## 排位按钮是灰的\n更新游戏，并确认队伍里的段位相差不超过两个大段。",
    )
    units = [Unit("button"), Unit("tier")]  # (stemmed, as query words are)
    assert passages.heading(0, units, [1.0, 1.0]) == 0.5  # "tiers" is under a heading, not in it
    assert passages.coverage(0, units, [1.0, 1.0]) == 1.0
    assert passages.heading(1, [Unit("ban")], [1.0]) == 0.0
    assert passages.heading(2, [Unit("button")], [1.0]) == 0.0
    assert passages.heading(3, [Unit("按钮"), Unit("灰")], [1.0, 1.0]) == 1.0


def test_the_article_with_a_section_headed_by_the_situation_ranks_first() -> None:
    # "ranked" and "score" are in the first article's title; the second has a section headed
    # by the user's situation, which names it better than any count of words.
    ranked = _article(
        "ranked-ban",
        "Ranked locked by a low conduct score",
        "Leaving a ranked match lowers your conduct score by 10 points. Ranked unlocks again at "
        "80 points; finish casual matches to earn points back. The score is in your profile.",
    )
    queue = _article(
        "queue",
        "Matchmaking takes forever",
        "## Long queues\nQueues are long late at night and in small regions: pick Auto.\n"
        "## The ranked button is grey\nUpdate the game, and check that your party is within "
        "two tiers of each other.\n",
    )
    index = SearchIndex.build([ranked, queue])
    assert index.search("ranked button grey but my score is full").hits[0].id == "queue"
