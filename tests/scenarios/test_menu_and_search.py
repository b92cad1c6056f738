"""Issue 2, points 1, 2 and 6: greeting and menu, the help center, "Did this solve it?",
frustration noticed. Every scenario runs in zh-CN and en.
"""

from __future__ import annotations

import pytest

from bot.state import Step
from bot.storage.records import MissKind
from knowledge.models import Article
from tests.helpers.builders import DAY
from tests.helpers.fakes import FakeUser, Harness, MakeHarness, Replies
from tests.scenarios.words import WORDS, Words


def title_of(h: Harness, article_id: str, lang: str) -> str:
    """An article's title in a language."""
    article = h.kb.article(article_id, lang)
    assert article is not None, article_id
    return article.title


def offers_a_person(user: FakeUser, w: Words) -> bool:
    """The latest message with buttons has a way to a person."""
    return w.human in user.labels() or w.human_now in user.labels()


async def test_start_greets_and_shows_the_top_menu(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    said = await user.command("start")
    assert said.has(w.greeting) and said.has(w.menu_title)
    tops = [c.label(lang) for c in h.kb.top_categories()]
    assert len(tops) >= 8
    assert user.labels() == [*tops, w.human]
    assert all(h.kb.categories[c.id].children for c in h.kb.top_categories()[:8])


async def test_every_menu_screen_has_back_menu_and_a_person(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    seen = 0

    async def visit(category_id: str) -> None:
        nonlocal seen
        cat = h.kb.categories[category_id]
        said = await user.presses(cat.label(lang))
        seen += 1
        assert said.has(cat.label(lang)), category_id
        labels = user.labels()
        assert {w.back, w.menu, w.human} <= set(labels), (category_id, labels)
        for child in cat.children:
            await visit(child)
            await user.presses(w.back)
            assert user.labels() == labels, f"Back from {child} did not return to {category_id}"

    for top in h.kb.top_categories():
        await visit(top.id)
        said = await user.presses(w.back)
        assert said.has(w.menu_title)
    assert seen == len(h.kb.categories)


async def to_banned(h: Harness, user: FakeUser) -> Article:
    """/start, Account, Banned: the leaf with the ban article and its form; the article."""
    w = WORDS[user.lang]
    await user.command("start")
    await user.presses(w.account)
    await user.presses(w.banned)
    article = h.kb.article("account-banned", user.lang)
    assert article is not None
    return article


async def test_a_leaf_with_a_form_offers_it_and_its_articles(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    article = await to_banned(h, user)
    assert {article.title, w.form, w.back, w.menu, w.human} <= set(user.labels())
    said = await user.presses(article.title)
    assert said.items[-1].title == article.title


async def test_any_first_message_gets_the_greeting_and_the_menu(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    said = await user.says(w.nonsense)
    assert said.has(w.greeting) and said.has(w.menu_title)
    assert w.human in user.labels()


async def test_an_unsure_first_question_gets_the_greeting_and_the_candidates(
    h: Harness, lang: str
) -> None:
    """ "My order never arrived" as the first message, with no confident article: the greeting
    and the menu, then the articles that may fit (before: only the greeting, as if it had not
    been asked)."""
    w, user = WORDS[lang], h.user("alice", lang)
    h.index.pin("order never came", [("tracking-not-updating", 0.8), ("order-not-shipped", 0.7)],
                confident=False)  # fmt: skip
    said = await user.says("order never came")
    assert said.has(w.greeting) and said.has(user.t("candidates"))
    tracking = h.kb.article("tracking-not-updating", lang)
    assert tracking is not None and tracking.title in user.labels()


@pytest.mark.parametrize("typed", ["no", "none of these", "都不是"])
async def test_no_under_the_articles_that_may_fit_offers_the_next_step(
    h: Harness, typed: str
) -> None:
    """ "No" typed under the candidates is an answer (none fits), not a question to search:
    a person is offered, as after Not solved."""
    user = h.user("alice", "zh-CN" if any("\u4e00" <= c <= "\u9fff" for c in typed) else "en")
    h.index.pin("refund?", [("refund-not-received", 0.6), ("refund-return", 0.5)], confident=False)
    await user.command("start")
    assert (await user.says("refund?")).has(user.t("candidates"))
    said = await user.says(typed)
    assert user.t("btn_handoff_now") in said.labels
    assert not said.has(user.t("candidates")) and not said.has(user.t("no_match"))


async def test_yes_under_the_articles_that_may_fit_asks_which_one(h: Harness) -> None:
    user = h.user("alice", "en")
    h.index.pin("refund?", [("refund-not-received", 0.6), ("refund-return", 0.5)], confident=False)
    await user.command("start")
    await user.says("refund?")
    said = await user.says("yes")
    assert said.has(user.t("candidates_which"))
    assert title_of(h, "refund-return", "en") in said.labels
    assert user.t("btn_human") in said.labels and not said.has(user.t("no_match"))


async def test_a_first_question_gets_the_greeting_and_the_article(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    said = await user.says(w.question)
    assert said.has(w.greeting)
    assert said.items[-1].title == w.article_title


async def test_a_confident_hit_shows_the_article_with_feedback_buttons(
    h: Harness, lang: str
) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    said = await user.says(w.question)
    article = said.items[-1]
    assert article.title == w.article_title
    body = h.kb.article("forgot-password", lang)
    assert body is not None
    assert body.body.splitlines()[-1].strip("*# ") in article.text
    assert article.text.endswith(w.did_it_help)
    assert [w.solved, w.not_solved, w.human, w.menu] == user.labels()


async def test_a_weak_match_offers_up_to_three_titles(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    hits = [("refund-not-received", 0.6), ("refund-return", 0.5), ("coupon-problems", 0.4),
            ("payment-failed", 0.3)]  # fmt: skip
    h.index.pin("refund?", hits, confident=False)
    await user.command("start")
    said = await user.says("refund?")
    assert said.has(w.candidates)
    titles = [title_of(h, i, lang) for i, _ in hits[:3]]
    labels = user.labels()
    assert len(labels) == 5 and labels[3:] == [w.human, w.menu]
    for label, title in zip(labels, titles, strict=False):
        assert title.startswith(label.rstrip("…")), (label, title)  # long titles are cut
    said = await user.presses(labels[1])
    assert said.items[-1].title == titles[1]


async def test_noise_below_the_candidate_threshold_is_no_match(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    h.index.pin("hm", [("refund-return", 0.05)], confident=False)
    await user.command("start")
    said = await user.says("hm")
    assert said.has(w.no_match)
    assert user.labels() == [w.human, w.menu]


async def test_no_match_says_so_and_offers_the_menu_and_a_person(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    said = await user.says(w.nonsense)
    assert said.has(w.no_match)
    assert set(user.labels()) == {w.human, w.menu}
    assert await h.store.top_misses(5)  # kept for the content team


async def test_solved_ends_it_and_is_recorded(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    await user.says(w.question)
    said = await user.presses(w.solved)
    assert said.has(w.glad) and said.has(w.menu_title)
    assert ("forgot-password", 1, 0) in await h.store.article_stats(10)
    assert await user.open_ticket() is None


async def test_silence_closes_nothing_and_marks_nothing_solved(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    await user.says(w.question)
    before = len(user.inbox)
    await h.advance(30 * DAY)
    await h.tick()
    assert len(user.inbox) == before
    conv = await h.store.load_conversation(user.key)
    assert conv is not None and conv.step == Step.ARTICLE
    assert await h.store.article_stats(10) == [] or all(
        solved == 0 for _id, solved, _not in await h.store.article_stats(10)
    )
    said = await user.presses(w.solved)  # a month later the question still stands
    assert said.has(w.glad)


async def shown_pw(h: Harness, user: FakeUser) -> None:
    """/start and "pw": the forgot-password article, a second candidate behind it."""
    h.index.pin("pw", [("forgot-password", 0.9), ("login-verification-code", 0.5)],
                confident=True)  # fmt: skip
    await user.command("start")
    await user.says("pw")


async def test_not_solved_offers_the_next_candidates(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await shown_pw(h, user)
    said = await user.presses(w.not_solved)
    other = h.kb.article("login-verification-code", lang)
    assert other is not None
    assert other.title in said.labels and w.human in said.labels
    assert ("forgot-password", 0, 1) in await h.store.article_stats(10)


async def test_not_solved_offers_only_alternatives_near_the_article(h: Harness, lang: str) -> None:
    """A top-up question, the refund article, Not solved: "forgot password" found far below it
    is noise, not an alternative worth a button (it was offered beside the near one)."""
    w, user = WORDS[lang], h.user("alice", lang)
    h.index.pin("topup", [("refund-not-received", 0.45), ("coupon-problems", 0.28),
                          ("forgot-password", 0.2)], confident=True)  # fmt: skip
    await user.says("topup")
    said = await user.presses(w.not_solved)
    near, far = title_of(h, "coupon-problems", lang), title_of(h, "forgot-password", lang)
    articles = said.labels[:-3]  # then the form, a person, the menu
    assert len(articles) == 1 and near.startswith(articles[0].rstrip("…")), articles
    assert far not in said.labels


async def test_not_solved_with_candidates_keeps_the_form_one_tap_away(
    h: Harness, lang: str
) -> None:
    """ "My account was banned", the ban article, Not solved: the next articles, and the appeal
    form of the article's category beside them (before, only the articles and a person)."""
    w, user = WORDS[lang], h.user("alice", lang)
    h.index.pin("banned", [("account-banned", 0.9), ("delete-account", 0.5)], confident=True)
    await user.says("banned")
    said = await user.presses(w.not_solved)
    other = h.kb.article("delete-account", lang)
    assert other is not None
    assert said.labels == [other.title, w.form, w.human, w.menu]
    assert said.has(user.t("not_solved_next_form"))
    await user.presses(w.form)
    form = h.kb.form_for("account/banned")
    assert form is not None
    assert user.last_text().endswith(form.fields[0].prompt_in(lang))


async def test_not_solved_without_candidates_offers_the_form_and_a_person(
    h: Harness, lang: str
) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    article = await to_banned(h, user)
    await user.presses(article.title)
    said = await user.presses(w.not_solved)
    assert said.labels[:2] == [w.form, w.human_now]
    await user.presses(w.form)
    form = h.kb.form_for("account/banned")
    assert form is not None
    assert user.last_text().endswith(form.fields[0].prompt_in(lang))


TYPED_VERDICTS = {
    "zh-CN": {"yes": "解决了，谢谢", "no": "没有解决"},
    "en": {"yes": "Yes, thanks!", "no": "no it didn't"},
}


async def test_a_typed_answer_to_did_it_help_counts_as_the_button(h: Harness, lang: str) -> None:
    """People type "没有解决" or "yes thanks" under "did this solve it?" as often as they press."""
    w, user = WORDS[lang], h.user("alice", lang)
    await shown_pw(h, user)
    said = await user.says(TYPED_VERDICTS[lang]["no"])
    other = h.kb.article("login-verification-code", lang)
    assert other is not None and other.title in said.labels
    assert ("forgot-password", 0, 1) in await h.store.article_stats(10)
    await user.presses(other.title)
    said = await user.says(TYPED_VERDICTS[lang]["yes"])
    assert said.has(w.glad) and said.has(w.menu_title)
    assert ("login-verification-code", 1, 0) in await h.store.article_stats(10)
    said = await user.says(TYPED_VERDICTS[lang]["no"])  # no article waits: not a verdict
    assert ("login-verification-code", 1, 0) in await h.store.article_stats(10)
    assert not said.has(w.glad)


async def test_a_new_question_under_an_article_is_searched(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    article = await to_banned(h, user)
    await user.presses(article.title)
    said = await user.says(w.question)
    assert said.items[-1].title == w.article_title
    assert await h.store.article_stats(10) == []


async def test_an_article_marked_not_solved_is_not_pushed_again(h: Harness, lang: str) -> None:
    """Details typed after "Not solved" that find the same article reach a person instead."""
    w, user = WORDS[lang], h.user("alice", lang)
    h.index.pin("charged twice", [("payment-failed", 0.9), ("refund-not-received", 0.5)],
                confident=True)  # fmt: skip
    h.index.pin("order 12345, charged on Dec 1", [("payment-failed", 0.9)], confident=True)
    await user.command("start")
    await user.says("charged twice")
    await user.presses(w.not_solved)
    said = await user.says("order 12345, charged on Dec 1")
    assert said.has(user.t("not_solved_form"))
    assert w.human_now in said.labels
    assert not any(item.title for item in said.items)  # no article again
    kinds = {(m.kind, m.query) for m in await h.store.recent_misses(h.services.kb_key)}
    assert (MissKind.NOT_SOLVED, "order 12345, charged on Dec 1") in kinds
    await user.presses(w.menu)  # a fresh start forgets it
    said = await user.says("charged twice")
    assert said.items[-1].title == title_of(h, "payment-failed", lang)


async def two_not_solved(h: Harness, user: FakeUser) -> Replies:
    """An article, Not solved, the next candidate, Not solved again."""
    w = WORDS[user.lang]
    await shown_pw(h, user)
    await user.presses(w.not_solved)
    other = h.kb.article("login-verification-code", user.lang)
    assert other is not None
    await user.presses(other.title)
    return await user.presses(w.not_solved)


async def test_two_not_solved_in_a_row_offer_a_person(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    said = await two_not_solved(h, user)
    assert said.has(user.t("not_solved_form"))
    assert w.human_now in said.labels
    said = await user.presses(w.human_now)
    assert said.has("#1")


async def test_after_two_not_solved_the_categorys_form_is_offered_too(
    h: Harness, lang: str
) -> None:
    """Point 2: "Not solved" offers the next candidates, then the category's form."""
    w, user = WORDS[lang], h.user("alice", lang)
    said = await two_not_solved(h, user)
    assert w.form in said.labels  # account/login has a form: the fast path, beside a person
    assert w.human_now in said.labels


async def test_the_same_question_again_offers_a_person(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    await user.says(w.question)
    said = await user.says(w.question + "?")
    assert said.has(w.repeated)
    assert w.human_now in said.labels
    said = await user.presses(w.human_now)
    assert said.has("#1")


async def test_a_repeat_of_one_of_the_last_three_questions_is_noticed(
    h: Harness, lang: str
) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    await user.says(w.question)
    await user.says(w.nonsense)
    said = await user.says(w.question)
    assert said.has(w.repeated)


async def test_angry_words_offer_a_person_at_once(h: Harness, lang: str) -> None:
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    said = await user.says(w.angry)
    assert said.has(w.frustrated)
    assert w.human_now in said.labels
    assert await user.open_ticket() is None  # offered, not forced


@pytest.mark.parametrize(
    ("typed", "lang"),
    [("我的帳號被封了！！！😭", "zh-CN"), ("my account got BANNED this is ridiculous", "en")],
)
async def test_an_angry_question_gets_a_person_at_once_and_its_answer(
    h: Harness, typed: str, lang: str
) -> None:
    """Upset is not off-topic: a person is offered first, and the article that answers what
    they asked follows (before, the question went unanswered)."""
    user = h.user("alice", lang)
    await user.command("start")
    said = await user.says(typed)
    assert said.has(user.t("frustrated"))
    assert user.t("btn_handoff_now") in said.labels
    banned = h.kb.article("account-banned", lang)
    assert banned is not None and said.items[-1].title == banned.title
    offer = next(b for b in said.items[0].flat_buttons if b.label == user.t("btn_handoff_now"))
    await user.presses_data(offer.data)  # the offer still works, the article below it
    assert (await user.open_ticket()) is not None


@pytest.mark.parametrize("typed", ["thanks", "ok", "谢谢", "好的"])
async def test_thanks_or_ok_under_an_article_asks_whether_it_solved_it(
    h: Harness, typed: str
) -> None:
    """Only "yes" makes it solved: a "thanks" under an article is not taken for one, nor met
    with "hello again"; the question comes back with its buttons."""
    lang = "zh-CN" if any("\u4e00" <= c <= "\u9fff" for c in typed) else "en"
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    said = await user.says(w.question)
    title = said.items[-1].title
    said = await user.says(typed)
    assert said.has(user.t("did_it_help_again", title=title))
    assert {w.solved, w.not_solved, w.human} <= set(said.labels)
    assert not said.has(user.t("greeting_again"))
    assert (await h.store.load_conversation(user.key)).step == Step.ARTICLE  # type: ignore[union-attr]


async def test_angry_words_are_configurable(make_harness: MakeHarness) -> None:
    async with make_harness(angry_words_en=("bananas",)) as h:
        user = h.user("alice", "en")
        await user.command("start")
        said = await user.says("bananas again")
        assert said.has("frustrating")
        said = await user.says("this is useless")  # the built-in words stay
        assert said.has("frustrating")


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("今天天气怎么样", "small_talk"),
        ("recommend me a good laptop", "small_talk"),
        ("哈哈哈哈", "small_talk"),
        ("hello", "greeting_again"),
        ("谢谢", "anything_else"),
        ("ok thanks", "anything_else"),
        ("你是真人吗？", "identity"),
        ("are you a real person?", "identity"),
    ],
)
async def test_small_talk_and_greetings_get_no_article(
    h: Harness, typed: str, answer: str
) -> None:
    user = h.user("alice", "zh-CN" if any("\u4e00" <= c <= "\u9fff" for c in typed) else "en")
    await user.command("start")
    said = await user.says(typed)
    assert said.has(user.t(answer))
    assert not said.has(user.t("did_it_help"))  # no article pushed
    assert user.t("btn_human") in said.labels  # a person is one tap away
    assert await user.open_ticket() is None  # "真人" in "你是真人吗" asks, it opens nothing


@pytest.mark.parametrize(
    "typed", ["我要投诉你们", "your support is useless", "让你们领导出来", "客服态度太差了"]
)
async def test_a_complaint_about_the_service_offers_a_person(h: Harness, typed: str) -> None:
    user = h.user("alice", "zh-CN" if any("\u4e00" <= c <= "\u9fff" for c in typed) else "en")
    await user.command("start")
    said = await user.says(typed)
    assert said.has(user.t("frustrated"))
    assert user.t("btn_handoff_now") in said.labels
    assert not said.has(user.t("did_it_help"))  # not the article about reporting users


async def test_a_number_alone_is_not_searched(h: Harness, lang: str) -> None:
    """ "4" or "99" typed alone (an option's number, a slip) found weak articles that merely
    hold a 4, or the upload article's "stuck at 99%": now it is said that nothing matched."""
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    for typed in ("4", "９９"):
        said = await user.says(typed)
        assert said.has(user.t("no_match")), typed
        assert said.labels == [w.human, w.menu]
    h.index.pin("1003", [("login-verification-code", 0.9)], confident=True)
    said = await user.says("1003")  # an error code is a question
    assert said.has(w.did_it_help)


async def test_typing_what_a_button_says_presses_it(h: Harness, lang: str) -> None:
    """People type a button's label as often as they tap it: a category of the menu, the form
    offered beside the next articles. Only the buttons of the last message count."""
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    account = h.kb.categories["account"]
    said = await user.says(f"  {account.label(lang).upper()} ")
    assert said.has(account.label(lang)) and w.back in said.labels
    h.index.pin("banned", [("account-banned", 0.9), ("delete-account", 0.5)], confident=True)
    await user.says("banned")
    await user.presses(w.not_solved)
    said = await user.says(w.form)
    form = h.kb.form_for("account/banned")
    assert form is not None
    assert user.last_text().endswith(form.fields[0].prompt_in(lang))
    await user.command("cancel")
    h.index.pin(account.label(lang), [], confident=False)
    said = await user.says(account.label(lang))  # not among the last message's buttons
    assert said.has(user.t("no_match"))


@pytest.mark.parametrize(
    ("lang", "typed"),
    [("en", "yeah fill the form"), ("en", "ok, let's fill in the form please"), ("en", "form"),
     ("zh-CN", "好的，填写表单吧"), ("zh-CN", "那就填写表单"), ("zh-CN", "表单"),
     ("zh-CN", "那我填表单"), ("en", "ok the form then")],
)  # fmt: skip
async def test_a_buttons_label_said_loosely_presses_it(h: Harness, lang: str, typed: str) -> None:
    """ "yeah fill the form" or "form" under "Fill in the form" is that button (it was searched
    and found unrelated articles): filler and punctuation aside, the message is the label, or
    a whole part of one short label alone."""
    user = h.user("alice", lang)
    await user.command("start")
    h.index.pin("banned", [("account-banned", 0.9), ("delete-account", 0.5)], confident=True)
    await user.says("banned")
    await user.presses(WORDS[lang].not_solved)
    await user.says(typed)
    form = h.kb.form_for("account/banned")
    assert form is not None and user.last_text().endswith(form.fields[0].prompt_in(lang))


async def test_a_message_that_says_more_than_a_label_is_not_a_press(h: Harness) -> None:
    user = h.user("alice", "en")
    await user.command("start")
    h.index.pin("banned", [("account-banned", 0.9), ("delete-account", 0.5)], confident=True)
    await user.says("banned")
    await user.presses(WORDS["en"].not_solved)
    said = await user.says("I don't want to fill in the form")
    assert not said.has("questions. You can /cancel")
    conv = await h.store.load_conversation(user.key)
    assert conv is not None and conv.step != Step.FORM


async def test_asking_for_help_without_saying_what_gets_asked_what_about(
    h: Harness, lang: str
) -> None:
    """ "帮帮我" or "I need help" said nothing to search for: asked what it is about, with the
    menu (before: "I couldn't find an article about that")."""
    w, user = WORDS[lang], h.user("alice", lang)
    await user.command("start")
    said = await user.says({"zh-CN": "帮帮我", "en": "I need help"}[lang])
    assert said.has(user.t("ask_what")) and said.has(w.menu_title)
    assert not said.has(user.t("no_match"))


@pytest.mark.parametrize(
    ("menu_word", "cancel_word", "never_mind"),
    [("菜单", "取消", "算了"), ("back to the menu", "cancel", "never mind")],
)
async def test_menu_cancel_and_never_mind_typed_alone(
    h: Harness, menu_word: str, cancel_word: str, never_mind: str
) -> None:
    """Typed alone where no button says them, "菜单" shows the menu and "取消" cancels what
    is under way, as /menu and /cancel; "算了" at "the form, or a person now?" is not the
    ticket's first message. They were searched: "取消" found how to block someone."""
    lang = "zh-CN" if menu_word == "菜单" else "en"
    w, user = WORDS[lang], h.user("alice", lang)
    await to_banned(h, user)
    said = await user.says(menu_word)
    assert said.has(w.menu_title) and user.labels()[-1] == w.human
    said = await user.says(cancel_word)
    assert said.text == user.t("nothing_to_cancel")
    for then, answer in ((never_mind, "anything_else"), (cancel_word, "form_cancelled")):
        await to_banned(h, user)
        await user.presses(w.human)  # the form, or a person now?
        said = await user.says(then)
        assert await user.open_ticket() is None
        assert said.has(user.t(answer)), said.text


@pytest.mark.parametrize(
    ("lang", "typed", "articles"),
    [("en", "my order hasn't shipped, it's been 5 days!! also can i change my phone number?",
      ["order-not-shipped", "change-phone-number"]),
     ("zh-CN", "退款一直没到账 还有优惠券用不了", ["refund-not-received", "coupon-problems"])],
)  # fmt: skip
async def test_two_questions_in_one_message_get_an_article_each(
    h: Harness, lang: str, typed: str, articles: list[str]
) -> None:
    """Only the last question's article was shown; the angry first one was ignored."""
    user = h.user("alice", lang)
    await user.command("start")
    said = await user.says(typed)
    assert said.has(user.t("candidates_several"))
    titles = [title_of(h, a, lang) for a in articles]
    shown = said.labels[:-2]
    assert len(shown) == 2 and all(any(t.startswith(s.rstrip("…")) for t in titles) for s in shown)
