"""Intents besides a question: a person, a complaint about the service, greetings, small talk.

The engine asks knowledge.intents.wants_human directly; the person cases live here only.
"""

from __future__ import annotations

import pytest

from knowledge.intents import Intent, Intents, classify, unsure, verdict, wants_human
from knowledge.loader import default_content_path, load_knowledge
from knowledge.search import SearchIndex


@pytest.mark.parametrize(
    "text",
    [
        "转人工",
        "我要人工",
        "人工客服",
        "找人工",
        "真人",
        "请帮我转人工，谢谢",
        "账号被封了，我理解规则，但这是误判，请转人工",
        "客服",
        "人工",
        "客服！",
        "客服？？",
        "我要客服",
        "人工客服 ",
        "talk to a human",
        "Talk To A Human please",
        "I want a real person",
        "agent",
        "Agent!",
        "can I speak to someone",
        "human",
        "I need a human",
        "support",
        "转\u200b人工",  # zero-width space inside
        "\u202e转人工\u202c",  # right-to-left override around it
        "ｔａｌｋ ｔｏ ａ ｈｕｍａｎ",  # full-width letters
        "請幫我轉人工",  # Traditional characters
    ],
)
def test_requests_for_a_person(text: str) -> None:
    assert wants_human(text)
    assert classify(text) is Intent.PERSON


@pytest.mark.parametrize(
    "text", ["你是真人吗？", "是不是机器人", "are you a real person?", "Is this a bot", "你是ai吗"]
)
def test_asking_who_answers_is_no_request_for_a_person(text: str) -> None:
    """ "你是真人吗" holds "真人" and "are you a real person" holds "real person": they ask
    who they are talking to (answered: a bot, a person one tap away), they open no ticket."""
    assert not wants_human(text)
    assert classify(text) is Intent.IDENTITY


@pytest.mark.parametrize(
    "text",
    [
        "客服态度太差",
        "客服回复太慢了",
        "人工智能推荐不准",
        "我的账号被封了",
        "忘记密码",
        "how do I reset my password",
        "humanity",
        "the support article was wrong about refunds",
        "",
        "   ",
        "\u200b\u200f",
    ],
)
def test_not_requests_for_a_person(text: str) -> None:
    assert not wants_human(text)
    assert classify(text) is not Intent.PERSON


@pytest.mark.parametrize(
    "text",
    [
        "我要投诉你们",
        "your support is useless",
        "让你们领导出来",
        "客服态度太差",
        "客服回复太慢了",
        "你们的客服就是垃圾",
        "this is the worst customer service ever",
        "I want to speak to your manager",
        "我要打12315",
    ],
)
def test_complaints_about_the_service(text: str) -> None:
    assert classify(text) is Intent.COMPLAINT


@pytest.mark.parametrize(
    "text",
    [
        "我要投诉这个商家",  # a seller, not the service: the disputes article
        "how do I report a user",
        "客服电话多少",
        "商家态度很差",
    ],
)
def test_complaints_about_others_are_questions(text: str) -> None:
    assert classify(text) is Intent.NONE


GREETING, CLOSING, ASK, NONE = Intent.GREETING, Intent.CLOSING, Intent.ASK, Intent.NONE


@pytest.mark.parametrize(
    ("text", "intent"),
    [("hi", GREETING), ("Hello!", GREETING), ("你好", GREETING), ("您好，在吗", GREETING),
     ("hi, thanks", GREETING), ("谢谢！", CLOSING), ("thx 🙏", CLOSING),
     ("ok cool thanks", CLOSING), ("拜拜", CLOSING), ("好的好的", CLOSING), ("嗯嗯嗯", CLOSING),
     ("谢谢你", CLOSING), ("thanks a lot!", CLOSING),
     # a request for help is asked about only when it says nothing yet
     ("帮帮我", ASK), ("你好，我有个问题", ASK), ("请问", ASK), ("I need help", ASK),
     ("hi, can you help me?", ASK), ("Quick question", ASK),
     ("I need help with my refund", NONE), ("请问怎么退款", NONE),
     ("我有个问题：账号被封了", NONE), ("help center", NONE),
     # never mind: closed like thanks, not searched ("算了" found articles on cancelling)
     ("算了", CLOSING), ("不用了", CLOSING), ("never mind", CLOSING), ("没事了，谢谢", CLOSING)],
)  # fmt: skip
def test_greetings_thanks_and_requests_for_help_that_say_nothing_yet(
    text: str, intent: Intent
) -> None:
    """Hello greets; thanks, ok and bye close rather than greet; "帮帮我" is asked what about,
    while a request for help that says what about is a question."""
    assert classify(text) is intent


@pytest.mark.parametrize(
    "text",
    [
        "你叫什么名字",
        "recommend me a good laptop",
        "哈哈",
        "哈哈哈哈",
        "tell me a joke",
        "今天天气怎么样",
        "are you a bot lol, tell me a joke",
        "？？？",
        "😂😂",
    ],
)
def test_small_talk_and_off_topic(text: str) -> None:
    assert classify(text) is Intent.SMALL_TALK


@pytest.mark.parametrize(
    "text", ["hello, my account got banned", "谢谢，但是退款还没到账", "what's up with my refund"]
)
def test_a_question_after_a_greeting_is_a_question(text: str) -> None:
    assert classify(text) is Intent.NONE


def test_intents_are_data() -> None:
    intents = Intents.parse(
        {
            "person": {"explicit": ["beam me up"], "bare": ["scotty"], "filler": ["please"]},
            "greeting": {"whole": ["ahoy"]},
            "complaint": {"targets": ["crew"], "complaints": ["lazy"]},
        }
    )
    assert intents.classify("please beam me up now") is Intent.PERSON
    assert intents.classify("scotty please") is Intent.PERSON
    assert intents.classify("scotty is late") is Intent.NONE
    assert intents.classify("Ahoy!") is Intent.GREETING
    assert intents.classify("the crew is lazy") is Intent.COMPLAINT


@pytest.mark.parametrize(
    "query",
    [
        "你叫什么名字",
        "recommend me a good laptop",
        "哈哈",
        "hi",
        "我要投诉你们",
        "your support is useless",
        "让你们领导出来",
    ],
)
def test_the_search_is_silent_on_them(query: str) -> None:
    kb = load_knowledge(default_content_path())
    index = SearchIndex.build(kb.articles, kb.synonyms)
    result = index.search(query)
    assert not result.confident
    if classify(query) is not Intent.COMPLAINT:
        assert result.hits == ()  # nothing to offer: the bot greets, or shows the menu


@pytest.mark.parametrize(
    "text", ["你们发货太慢了", "你们的服务器太差了 老掉线", "service fee too high"]
)
def test_a_problem_with_the_product_is_a_question(text: str) -> None:
    assert classify(text) is Intent.NONE


@pytest.mark.parametrize(
    ("text", "solved"),
    [
        ("没有解决", False),
        ("没解决。", False),
        ("還是不行", False),
        ("没用啊", False),
        ("no", False),
        ("Nope.", False),
        ("no it didn't", False),
        ("didn't help", False),
        ("no thanks", False),
        ("解决了，谢谢", True),
        ("嗯，好了", True),
        ("是的", True),
        ("yes", True),
        ("Yes thanks!", True),
        ("it worked", True),
        ("不太行", False),
        ("试了，没用", False),
        ("我试了，但是还是不行", False),
        ("i tried that but it didn't work", False),
        ("not quite", False),
        ("that didn't help", False),
        ("这个没用", False),
        ("好像可以了", True),
        ("works now, thanks", True),
        ("怎么改密码", None),
        ("试了很多次还是登不上", None),
        ("No. I still cannot log in", None),
        ("谢谢", None),
        ("ok", None),
        ("是不是要重新登录", None),
        ("nope didnt work", False),  # typed without the apostrophe
        ("didnt help", False),
        ("👍", True),
        ("👎👎", False),
        ("😂", None),
        ("👍👎", None),
    ],
)
def test_a_typed_answer_to_did_it_help(text: str, solved: bool | None) -> None:
    assert verdict(text) is solved


@pytest.mark.parametrize(
    ("text", "expected"),
    [("不记得了！", True), ("I don't remember", True), ("idk", True), ("忘了", True),
     ("上周", False), ("不知道怎么办", False), ("I remember it was a Tuesday", False)],
)  # fmt: skip
def test_not_remembering(text: str, expected: bool) -> None:
    assert unsure(text) is expected


@pytest.mark.parametrize(
    ("text", "intent"),
    [("菜单", Intent.MENU), ("返回主菜单", Intent.MENU), ("back to the menu", Intent.MENU),
     ("Menu please", Intent.MENU), ("取消", Intent.CANCEL), ("我要取消", Intent.CANCEL),
     ("cancel", Intent.CANCEL),

     # questions that name them are questions
     ("菜单在哪里", NONE), ("取消订单", NONE), ("cancel my subscription", NONE),
     ("how do i go back to the old version", NONE)],
)  # fmt: skip
def test_menu_and_cancel_said_alone_move_like_their_commands(text: str, intent: Intent) -> None:
    """ "菜单" was searched (an article on notes came back) and "取消" found how to block
    someone: alone, they are /menu and /cancel."""
    assert classify(text) is intent


@pytest.mark.parametrize(
    "text", ["人呢？？", "有没有人", "hello? anyone?", "客服呢", "just get me a human"]
)
def test_where_is_everybody_asks_for_a_person(text: str) -> None:
    """ "人呢？？" searched (articles on minors came back), "hello? anyone?" found nothing."""
    assert classify(text) is Intent.PERSON
