"""Free text against the help center: articles, candidates, "Did this solve it?"."""

from __future__ import annotations

import re

from bot.actions import Verb
from bot.flows import handoff, lifecycle, menu
from bot.flows.intent import clean, is_angry, is_repeat
from bot.flows.learning import missed
from bot.flows.turn import Turn
from bot.state import Step
from bot.storage.records import MissKind
from bot.storage.writes import Feedback
from bot.tickets import DAY
from bot.types import Attachment, Button, Look, Reply
from knowledge.intents import Intent, classify
from knowledge.models import Article

MIN_CANDIDATE_SCORE = 0.2  # below this a hit is noise, not a candidate worth a button
# ... and below this share of the best hit's score too: on both development help centers a cut
# at half drops half of the wrong alternatives offered after "Not solved" and 1 of 37 right ones
CANDIDATE_SHARE = 0.5
MAX_QUERY = 500  # characters of a message that are searched
RECENT = 3  # questions remembered to notice a repeat
_INTENT_REPLIES = {
    Intent.GREETING: "greeting_again",
    Intent.CLOSING: "anything_else",
    Intent.ASK: "ask_what",
    Intent.SMALL_TALK: "small_talk",
    Intent.IDENTITY: "identity",
}
_NOT_DETAILS = {*_INTENT_REPLIES, Intent.MENU, Intent.CANCEL}  # at the offer: not for the ticket
BARE_NUMBER = 2  # digits of a message that is only a number and searched for nothing
REJECTED = 5  # articles remembered as "not solved", never pushed again in the conversation
ARTICLE = Look.ARTICLE


def plain(body: str) -> str:
    """Markdown body as plain text: headings kept as lines, emphasis markers dropped."""
    text = re.sub(r"^#{1,6}\s*(.+)$", r"【\1】", body, flags=re.MULTILINE)
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def article_reply(turn: Turn, article: Article) -> Reply:
    """An article with Solved / Not solved / a person."""
    rows = (
        (
            turn.button("btn_solved", Verb.SOLVED, article.id, look=Look.POSITIVE),
            turn.button("btn_unsolved", Verb.UNSOLVED, article.id),
        ),
        turn.human_row(),
    )
    text = f"{plain(article.body)}\n\n{turn.t('did_it_help')}"
    return Reply(text, buttons=rows, title=article.title)


def show_article(turn: Turn, article_id: str, others: list[str] | None = None) -> None:
    """Show an article and wait for feedback."""
    article = turn.svc.kb.article(article_id, turn.lang)
    if article is None:
        turn.text("stale_button", turn.human_row())
        return
    turn.conv.step = Step.ARTICLE
    turn.data["article"] = article.id
    turn.data["category"] = article.category
    if others is not None:
        turn.data["candidates"] = [o for o in others if o != article.id]
    turn.say(article_reply(turn, article))


def _ask_again(turn: Turn) -> None:
    """The open article's question again, with its buttons (only "yes" makes it solved)."""
    article = turn.svc.kb.article(str(turn.data.get("article", "")), turn.lang)
    if article is None:
        menu.show_menu(turn, "", turn.t("anything_else"))
        return
    rows = article_reply(turn, article).buttons
    turn.say(Reply(turn.t("did_it_help_again", title=article.title), buttons=rows))


def ask_which(turn: Turn) -> None:
    """The articles that may fit again, asking which one ("yes" typed under them)."""
    ids = [str(c) for c in turn.data.get("candidates", [])]
    rows = _candidate_buttons(turn, ids)
    turn.say(Reply(turn.t("candidates_which"), buttons=(*rows, turn.human_row())))


def _candidate_buttons(turn: Turn, ids: list[str]) -> list[tuple[Button, ...]]:
    rows: list[tuple[Button, ...]] = []
    for article_id in ids[:3]:
        article = turn.svc.kb.article(article_id, turn.lang)
        if article is not None:
            rows.append((turn.button_text(article.title, Verb.ARTICLE, article.id, look=ARTICLE),))
    return rows


def _remember(turn: Turn, query: str) -> bool:
    """Keep the last questions; True when this one repeats one of them."""
    recent = [str(q) for q in turn.data.get("recent", [])]
    repeat = is_repeat(query, recent)
    turn.data["recent"] = [*recent, query][-RECENT:]
    return repeat


async def _answered_unsearched(turn: Turn, query: str, asked: str, quiet: bool) -> bool:
    """Answer what is not a question for the help center; True when it was one of those."""
    said = classify(query)
    words = (*turn.svc.config.bot.angry_words_zh, *turn.svc.config.bot.angry_words_en)
    if (stars := rating_in(query)) and await _typed_rating(turn, stars):
        return True  # "⭐⭐⭐⭐⭐" or "5 stars" under "How did we do?"
    if said is Intent.COMPLAINT:
        # about the service itself: a person, not an article on reporting users
        await handoff.offer_person(turn, "frustrated")
    elif is_angry(query, words):
        # frustrated: a person at once, and below it the article if one answers what they
        # asked ("我的账号被封了！！！" is still about a ban)
        await handoff.offer_person(turn, "frustrated")
        if turn.ticket is None:
            _article_too(turn, query, asked)
    elif said is not Intent.NONE and said is not Intent.PERSON:
        _intent_reply(turn, said, quiet)
    elif _remember(turn, query):
        await handoff.offer_person(turn, "repeated")
    elif query.isdigit() and len(query) <= BARE_NUMBER:
        # "4", "99": an option's number, a rating or a slip, not a question (every article
        # has numbers)
        if not await _typed_rating(turn, query) and not quiet:
            turn.conv.step = Step.MENU
            turn.text("no_match", turn.human_row())
    else:
        return False
    return True


def _intent_reply(turn: Turn, said: Intent, quiet: bool) -> None:
    """The answer to hello, thanks, "are you a bot?", "菜单" or "取消" (`quiet`: a first
    message, greeted with the menu already)."""
    if said is Intent.CANCEL:  # as /cancel
        menu.cancel(turn)
    elif said in (Intent.GREETING, Intent.CLOSING) and turn.conv.step == Step.ARTICLE:
        _ask_again(turn)  # "thanks" or "ok" under an article: did it solve it, then?
    elif quiet:
        return
    elif said is Intent.MENU:  # as /menu
        menu.show_menu(turn)
    elif said in _INTENT_REPLIES:
        menu.show_menu(turn, "", turn.t(_INTENT_REPLIES[said]))


async def at_offer(turn: Turn, text: str, attachments: tuple[Attachment, ...]) -> None:
    """Typed while "the form, or a person now?" is asked, after they asked for a person: what
    they wrote (an order number, what happened, a screenshot, even a question or a complaint)
    opens the ticket with it as the first message, instead of being searched ("no article
    found", or an article they did not ask for) and lost. Only "hi", "ok", "are you a bot?"
    and the like get their usual answer."""
    asked = text.strip()[:MAX_QUERY]
    query = clean(asked)
    if query and not attachments and classify(query) in _NOT_DETAILS:
        await answer_text(turn, text)
        return
    turn.data["query"] = asked
    await handoff.create_ticket(turn)
    if turn.ticket is not None:
        await handoff.relay_from_user(turn, text, attachments)


def _article_too(turn: Turn, query: str, asked: str) -> None:
    """Show the article the help center is confident of (one not marked unhelpful)."""
    rejected = [str(a) for a in turn.data.get("rejected", [])]
    result = turn.svc.search(query, turn.lang)
    ids = [h.id for h in result.hits if h.id not in rejected]
    if result.confident and result.hits and ids and ids[0] == result.hits[0].id:
        turn.data["query"] = asked
        show_article(turn, ids[0], ids[1:])


_STARS = re.compile(r"[⭐★🌟]+")
_RATING = re.compile(r"([1-5一二三四五])\s*(?:/\s*5|stars?|颗星|星|分)?")
_CN_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5"}


def rating_in(query: str) -> str:
    """The 1-5 rating a whole message gives ("5", "⭐⭐⭐⭐", "4/5", "5 stars", "五星"), or ""."""
    text = query.strip().rstrip("!！.。~～")
    if _STARS.fullmatch(text):
        return str(len(text)) if len(text) <= 5 else ""
    found = _RATING.fullmatch(text)
    return _CN_DIGITS.get(found.group(1), found.group(1)) if found else ""


async def _typed_rating(turn: Turn, digits: str) -> bool:
    """ "5" (or "⭐⭐⭐⭐⭐", "4/5") typed under "How did we do? Rate 1 (bad) to 5 (great)": the
    rating of their latest ticket, when it is closed and not rated yet."""
    if len(digits) != 1 or digits not in "12345":
        return False
    ticket = await lifecycle.latest_closed(turn)
    if ticket is None or ticket.rating is not None:
        return False
    await lifecycle.rate(turn, str(ticket.id), digits)
    return True


async def answer_text(turn: Turn, text: str, *, quiet: bool = False) -> None:
    """Search the help center for a typed question and answer with what fits.

    `quiet` (a first message, after the greeting and the menu) answers with an article or
    the candidates, and says nothing more when nothing fits (the menu is the answer).
    """
    asked = text.strip()[:MAX_QUERY]  # kept as the user wrote it (the ticket's summary)
    query = clean(asked)
    if await _answered_unsearched(turn, query, asked, quiet):
        return
    follow = await _follow_up(turn, asked)
    result = turn.svc.search(query, turn.lang)
    turn.data["query"] = asked
    if (several := _several(turn, query)) and follow is None:
        # "my order hasn't shipped … also, can I change my phone number?": one article each
        turn.conv.step = Step.CANDIDATES
        turn.data["candidates"] = several
        rows = _candidate_buttons(turn, several)
        turn.say(Reply(turn.t("candidates_several"), buttons=(*rows, turn.human_row())))
        return
    rejected = [str(a) for a in turn.data.get("rejected", [])]
    floor = max(MIN_CANDIDATE_SCORE, CANDIDATE_SHARE * result.hits[0].score) if result.hits else 0
    hits = [h for h in result.hits if h.score >= floor and h.id not in rejected]
    if quiet and not result.confident and not hits:
        return
    if result.confident and result.hits and result.hits[0].id in rejected:
        # the article they said did not help, found again by their details: a person, not it
        missed(turn, asked, MissKind.NOT_SOLVED, result.hits[0].id)
        await handoff.offer_person(turn, "not_solved_form")
        return
    if follow is not None and (hits or result.confident):
        turn.say(follow)  # before the articles: their buttons stay the last ones
    if result.confident and result.hits:
        show_article(turn, result.hits[0].id, [h.id for h in hits[1:]])
        return
    missed(turn, asked, MissKind.NOTHING)
    if hits:
        turn.conv.step = Step.CANDIDATES
        turn.data["candidates"] = [h.id for h in hits]
        rows = _candidate_buttons(turn, [h.id for h in hits])
        turn.say(Reply(turn.t("candidates"), buttons=(*rows, turn.human_row())))
        return
    turn.conv.step = Step.MENU
    turn.text("no_match", turn.human_row())
    if follow is not None:  # nothing found: reopening is the likeliest next step, so last
        turn.say(follow)


FOLLOW_UP = "follow_up"  # conversation data: what they wrote after a moderator closed it


async def _follow_up(turn: Turn, asked: str) -> Reply | None:
    """The first question after a moderator closed their ticket may answer the moderator (the
    order number they asked for): it is searched as any, and one tap reopens the ticket with
    it (this offer). It was searched only, and the moderator never saw it. Once a ticket."""
    last = turn.data.get(handoff.LAST_TICKET)
    if not last or turn.ticket is not None or turn.data.get(FOLLOW_UP, {}).get("id") == last:
        return None
    ticket = await lifecycle.latest_closed(turn)
    window = turn.svc.config.bot.reopen_days * DAY
    if ticket is None or ticket.id != last or not ticket.closed_by.strip():
        return None
    if ticket.closed_by.startswith("user:") or turn.now - (ticket.closed_at or 0) > window:
        return None  # closed by themselves, or too long ago to reopen
    turn.data[FOLLOW_UP] = {"id": ticket.id, "text": asked}
    reopen = turn.button("btn_reopen_with", Verb.REOPEN, ticket.id, id=ticket.id)
    return Reply(turn.t("follow_up_closed", id=ticket.id), buttons=((reopen,), turn.human_row()))


# Where a message passes from one question to the next ("…, also …", "还有", "？").
_NEXT_QUESTION = re.compile(
    r"[?？;；!！。]+|\b(?:also|and also|another thing|plus|btw|by the way)\b"
    r"|还有|另外|顺便问一下|顺便问下|以及"
)
PART_MIN = 4  # characters of a part worth searching on its own


def _several(turn: Turn, query: str) -> list[str]:
    """The articles of a message that asks two or three things, each part confidently
    answered by a different one ([] for one question: it was answered for one part only)."""
    parts = [p.strip(" ,，、") for p in _NEXT_QUESTION.split(query)]
    parts = [p for p in parts if len(p) >= PART_MIN]
    if len(parts) < 2:
        return []
    found: list[str] = []
    for part in parts[:3]:
        result = turn.svc.search(part, turn.lang)
        if result.confident and result.hits and result.hits[0].id not in found:
            found.append(result.hits[0].id)
    return found if len(found) >= 2 else []


async def feedback(turn: Turn, article_id: str, solved: bool) -> None:
    """Solved ends it (the user decides); Not solved offers the next step."""
    if turn.conv.step != Step.ARTICLE or turn.data.get("article") != article_id:
        turn.text("stale_button", turn.human_row())
        return
    query = str(turn.data.get("query", ""))
    turn.writes.feedback.append(Feedback(article_id, query, solved))
    if not solved and query:
        missed(turn, query, MissKind.NOT_SOLVED, article_id)
    if solved:
        turn.data["unsolved"] = 0
        turn.data.pop("rejected", None)
        menu.show_menu(turn, "", turn.t("glad"))
        return
    rejected = [str(a) for a in turn.data.get("rejected", []) if a != article_id]
    turn.data["rejected"] = [*rejected, article_id][-REJECTED:]
    streak = int(turn.data.get("unsolved", 0)) + 1
    turn.data["unsolved"] = streak
    if streak >= 2:
        await handoff.offer_person(turn, "not_solved_form")
        return
    others = [str(c) for c in turn.data.get("candidates", [])]
    rows = _candidate_buttons(turn, others)
    if rows:
        # the article's category has a form (a ban, a payment): it is one tap away too
        form = handoff.form_row(turn)
        turn.conv.step = Step.CANDIDATES
        text = turn.t("not_solved_next_form" if form else "not_solved_next")
        turn.say(Reply(text, buttons=(*rows, *([form] if form else []), turn.human_row())))
        return
    await handoff.offer_person(turn, "not_solved_form")
