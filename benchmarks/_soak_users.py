"""The soak's simulated users: scripts over the fake Bot API, closed loop, paced to a rate.

Each user is one coroutine. It does a session (browse the menu to an article; search in free
text; fill a short form and submit; or ask for a person), one action at a time: an action
registers the deliveries it is owed in the ledger, puts the update in the fake's queue and
waits until every owed delivery arrived, then the user thinks a few seconds. A ticket session
goes on with a relayed message (a unique marker in it, echoed "User: …" in the topic), the
moderator's reply in the topic (echoed "Moderator: …" to the user), maybe a second relay, and
/close. The next session starts an exponential time with mean `steps / rate` after this one
started (the first one after a mean of MEAN_STEPS / rate), so that each user sends `rate`
messages a second on average and the total is flat from the start. A client-side guard keeps
every user two messages under the bot's per-user limit per minute.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _soak_sim import CARD, SAMPLES, Ledger, SimUser, Step, Test

from bot.config import BotConfig
from bot.flows.intent import is_angry
from knowledge.intents import asks_status, wants_human
from tests.helpers.fake_telegram import FakeTelegram, Sent

ROOT = Path(__file__).resolve().parents[1]
KINDS = {"browse": 40, "search": 40, "form": 12, "human": 8}  # share of sessions
MEAN_STEPS = 5.0  # messages in an average session of that mix (measured: about 4.8)
FORM_CATEGORIES = ("account/banned", "account/login")  # ban-appeal (6 fields), recovery (6)
Spec = tuple[str, str, Test, str]  # (kind, where, test, label) of one owed delivery

QUERIES = {  # 31 each: a prime, so stepping by 7 visits every one before a repeat
    "en": [
        "someone posted my phone number and home address", "how do I get a refund",
        "accidentally deleted my post, is there a way to undo",
        "banned from going live for 7 days",
        "I got an alert about a login from Shenzhen", "how do I pay to promote my post",
        "is there parental control for my 12 year old", "app keeps crashing on iphone 15",
        "can I upload a 30 minute video", "how do i return something",
        "seller hasnt shipped my stuff yet can i cancel", "my feed is full of stuff I don't like",
        "someone is reposting my videos without credit", "how to change my phone number",
        "how can I sell my handmade jewelry", "how do I get a copy of everything I posted",
        "card declined but my card works everywhere else", "discount code not applying",
        "requirements for a brand flagship store", "who pays shipping if i send it back",
        "why was my new bio rejected", "am i shadowbanned, views dropped from 2k to 50",
        "my comments keep disappearing", "how to reset recommendations",
        "forgot my password", "verification code never arrives",
        "my account was suspended", "how to delete my account",
        "package stuck in transit for five days", "the bag I bought looks fake",
        "turn off notifications",
    ],
    "zh-CN": [
        "笔记突然变成仅自己可见了", "退款到信用卡要多久", "视频卡在99%不动了",
        "注销了还能反悔吗", "扣了两次钱 只买了一件", "快递在一个地方停了五天不动了",
        "私信发不出去 评论也发不了", "怎么销号", "怀疑收到高仿 怎么鉴定",
        "app一直白屏 刷不出来", "买完第二天就降价了 能补差价吗",
        "有人把我的图拿去发了还说是自己拍的",
        "青少年模式密码忘了", "怎么接广告赚钱", "孩子用我手机买了东西 能退吗",
        "衣服小了想退", "验证码一直收不到", "怎么设置深色模式",
        "开直播要实名吗", "想在上面卖东西 怎么开店", "被人洗稿了怎么办",
        "号被盗了 对方还发广告", "发了三天了搜标题都搜不到", "换了个手机草稿全没了",
        "优惠券为什么用不了", "密码忘了怎么办", "直播间放了首歌就被断播了",
        "账号被封了怎么申诉", "怎么换绑手机号", "关闭消息通知",
        "昵称审核不通过",
    ],
}  # fmt: skip
RELAYS = {
    "en": ["It happened again this morning", "Here is more detail", "Any news on this?"],
    "zh-CN": ["今天早上又出现了", "补充一下情况", "请问有进展吗"],
}
REPLIES = {
    "en": ["We are checking this now", "Thanks, we found the cause"],
    "zh-CN": ["我们正在核实", "已经找到原因了"],
}
LONG = {
    "en": "I posted a photo of my own cooking and it was hidden a few minutes later.",
    "zh-CN": "我发了一篇自己做饭的笔记，几分钟后就被隐藏了。",
}


@dataclass(frozen=True, slots=True)
class Field:
    """One question of a form, as the user meets it."""

    id: str
    type: str
    required: bool
    prompt: str
    choices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FormPath:
    """A category with a form: its button label, the form's intro and its questions."""

    category: str
    intro: str
    fields: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class Texts:
    """What one language's users see and type."""

    t: dict[str, str]  # the bot's locale strings
    top: tuple[str, ...]  # the top menu's category labels
    account: str
    forms: tuple[FormPath, ...]
    queries: tuple[str, ...]
    created: re.Pattern[str]
    skip: frozenset[str]  # buttons a browsing user leaves alone

    def f(self, key: str, **values: object) -> str:
        """A locale string filled in."""
        return self.t[key].format(**values)

    def head(self, key: str, until: str) -> str:
        """The part of a locale string before `{until}`."""
        return self.t[key].split("{" + until + "}")[0]


def load_texts(lang: str) -> Texts:
    """The locale, the menu and the two forms of `lang`, from the bundled files."""
    t = tomllib.loads((ROOT / "bot" / "locales" / f"{lang}.toml").read_text(encoding="utf-8"))
    content = ROOT / "knowledge" / "content"
    cats = tomllib.loads((content / "categories.toml").read_text(encoding="utf-8"))["category"]
    forms = tomllib.loads((content / "forms.toml").read_text(encoding="utf-8"))["form"]
    label = {c["id"]: c["label"][lang] for c in cats}
    form_of = {c["id"]: c.get("form", "") for c in cats}
    paths = []
    for cid in FORM_CATEGORIES:
        form = next(f for f in forms if f["id"] == form_of[cid])
        fields = tuple(
            Field(
                x["id"],
                x["type"],
                x.get("required", True),
                x["prompt"][lang],
                tuple(c["label"][lang] for c in x.get("choices", [])),
            )
            for x in form["field"]
        )
        intro = t["form_intro"].format(form=form["title"][lang], count=len(fields))
        paths.append(FormPath(label[cid], intro, fields))
    words = [*BotConfig().angry_words_en, *BotConfig().angry_words_zh]
    queries = tuple(q for q in QUERIES[lang] if not wants_human(q) and not is_angry(q, words))
    before, after = t["ticket_created"].split("{id}")
    skip = {"btn_human", "btn_menu", "btn_back", "btn_form", "btn_handoff_now", "btn_unsolved"}
    return Texts(
        t,
        tuple(label[c["id"]] for c in cats if not c.get("parent")),
        label["account"],
        tuple(paths),
        queries,
        re.compile(re.escape(before) + r"(\d+)" + re.escape(after)),
        frozenset(t[k] for k in skip),
    )


def has(fragment: str) -> Test:
    """A delivery whose text holds `fragment`."""
    return lambda s: fragment in s.text


def keyboard(s: Sent) -> bool:
    """A delivery with buttons (a menu, an article, search results)."""
    return bool(s.buttons)


class Crowd:
    """Runs the simulated users and the moderators against the fake server."""

    def __init__(
        self,
        fake: FakeTelegram,
        ledger: Ledger,
        *,
        rate: float,
        stop_at: float,
        user_limit: int,
        step_timeout: float,
        think: tuple[float, float] = (2.0, 5.0),
        groups: tuple[int, ...] = (),
    ) -> None:
        self.fake, self.ledger = fake, ledger
        self.rate = rate  # messages a second per user
        self.stop_at = stop_at
        self.user_limit = user_limit
        self.step_timeout = step_timeout
        self.think = think
        self.texts = {lang: load_texts(lang) for lang in ("en", "zh-CN")}
        self.mods = [fake.moderator(2001 + i, f"Mod{i}") for i in range(8)]
        for group in groups:  # every moderator administers every team's group
            for mod in self.mods:
                fake.moderator(mod.id, mod.first_name, chat_id=group)
        self.active = 0  # users in a session now
        self.sessions: dict[str, int] = dict.fromkeys(KINDS, 0)

    def stopped(self) -> bool:
        """Whether the sending time is over."""
        return time.monotonic() >= self.stop_at

    async def run_user(self, user: SimUser, rng: random.Random) -> None:
        """One user's life: sessions separated by idle times, until the end of sending."""
        # Exponential gaps from the start too: each user's sessions are then a Poisson process
        # from t=0 on, and the offered rate is flat instead of ramping up as returns pile up.
        await asyncio.sleep(rng.expovariate(self.rate / MEAN_STEPS))
        while not self.stopped() and not user.stalled:
            start, before = time.monotonic(), user.actions
            kind = rng.choices(list(KINDS), list(KINDS.values()))[0]
            self.sessions[kind] += 1
            self.active += 1
            try:
                await SCRIPTS[kind](self, user, rng)
            except Exception as exc:  # a bug in this script: count it, and this user stops
                self.ledger.script_errors += 1
                if len(self.ledger.samples) < SAMPLES:
                    self.ledger.samples.append(f"script error for {user.name}: {exc!r}")
                return
            finally:
                self.active -= 1
            idle = rng.expovariate(self.rate / max(1, user.actions - before))
            await asyncio.sleep(max(0.0, start + idle - time.monotonic()))

    # ------------------------------------------------------------------ actions

    async def act(
        self, user: SimUser, send: Callable[[], object], specs: list[Spec], own: bool = True
    ) -> bool:
        """Inject one update owing `specs`; wait for them, then think. False: stop the session."""
        if own:
            await self._guard(user)
        if self.stopped() or user.stalled:
            return False
        step = Step(time.monotonic())
        for kind, where, test, label in specs:
            self.ledger.expect(user, step, kind, where, test, label)
        send()
        self.ledger.actions += 1
        user.actions += 1
        try:
            await asyncio.wait_for(step.done.wait(), self.step_timeout)
        except TimeoutError:
            self.ledger.stalled += 1
            user.stalled = True  # out of step with the bot now: this user stops
            return False
        await asyncio.sleep(random.uniform(*self.think))
        return True

    async def _guard(self, user: SimUser) -> None:
        """Stay two messages under the per-user limit in any minute."""
        if self.user_limit <= 0:
            return
        while True:
            now = time.monotonic()
            while user.sent_at and now - user.sent_at[0] >= 60:
                user.sent_at.popleft()
            if len(user.sent_at) < max(1, self.user_limit - 2):
                user.sent_at.append(now)
                return
            await asyncio.sleep(user.sent_at[0] + 60.05 - now)

    async def say(self, user: SimUser, text: str, specs: list[Spec]) -> bool:
        """The user sends a text message."""
        user.talked = True
        return await self.act(user, lambda: self.fake.user_says(user.tg, text), specs)

    async def press(self, user: SimUser, label: str, specs: list[Spec]) -> bool:
        """The user presses `label` on the latest message with buttons in their chat."""
        kb = user.last_kb
        data = next((d for b, d in kb.buttons if b == label), None) if kb else None
        if kb is None or data is None:
            self.ledger.script_errors += 1
            return False
        return await self.act(user, lambda: self.fake.press_data(user.tg, kb, data), specs)

    # ------------------------------------------------------------------ scripts

    async def menu(self, user: SimUser) -> bool:
        """/start the first time, /menu later: the main menu."""
        tx = self.texts[user.lang]
        command = "/menu" if user.talked else "/start"
        return await self.say(user, command, [("reply", "user", has(tx.t["menu_title"]), "menu")])

    async def browse(self, user: SimUser, rng: random.Random) -> None:
        """Menu → a category → sub-categories or articles → "Solved" on an article."""
        tx = self.texts[user.lang]
        label = rng.choice(tx.top)
        if not await self.menu(user):
            return
        sub = tx.f("menu_sub", category=label)
        if not await self.press(user, label, [("reply", "user", has(sub), "sub-menu")]):
            return
        for _ in range(3):
            if await self._solved(user):
                return
            kb = user.last_kb
            options = [b for b, _ in kb.buttons if b not in tx.skip] if kb else []
            if not options:
                return
            spec: Spec = ("reply", "user", keyboard, "menu or article")
            if not await self.press(user, rng.choice(options), [spec]):
                return

    async def _solved(self, user: SimUser) -> bool:
        """On an article: press "Solved" (True); elsewhere do nothing (False)."""
        tx = self.texts[user.lang]
        kb = user.last_kb
        if kb is None or all(b != tx.t["btn_solved"] for b, _ in kb.buttons):
            return False
        await self.press(user, tx.t["btn_solved"], [("reply", "user", has(tx.t["glad"]), "glad")])
        return True

    async def search(self, user: SimUser, rng: random.Random) -> None:
        """A question in free text (a different one each time) → an article → "Solved"."""
        tx = self.texts[user.lang]
        if not user.talked and not await self.menu(user):
            return
        n = len(tx.queries)
        query = tx.queries[(user.tg.id + user.searches * 7) % n]  # 7 ∤ n: no repeats
        user.searches += 1
        if not await self.say(user, query, [("reply", "user", keyboard, "search answer")]):
            return
        kb = user.last_kb
        if kb is not None and tx.t["candidates"] in kb.text:
            first = next((b for b, _ in kb.buttons if b not in tx.skip), "")
            if not await self.press(user, first, [("reply", "user", keyboard, "article")]):
                return
        await self._solved(user)

    async def ticket(self, user: SimUser, rng: random.Random, form: bool) -> None:
        """A ticket through a short form (or /menu then /human), the relay, the reply, /close."""
        tx = self.texts[user.lang]

        def created(s: Sent) -> bool:
            m = tx.created.search(s.text)
            if m:
                user.ticket = int(m.group(1))
            return m is not None

        card: Test = lambda s: CARD.search(s.text) is not None  # noqa: E731
        owed: list[Spec] = [
            ("reply", "user", created, "ticket created"),
            ("page", "topic", card, "card"),
        ]
        if form:
            path = rng.choice(tx.forms)
            ok = await self.menu(user) and await self._to_form(user, path, rng)
            ok = ok and await self.press(user, tx.t["btn_submit"], owed)
        else:
            # From the top menu: inside a category that has a form, /human offers the form first.
            ok = await self.menu(user) and await self.say(user, "/human", owed)
        if ok:
            await self.relays(user, rng)

    async def _to_form(self, user: SimUser, path: FormPath, rng: random.Random) -> bool:
        """Account → the form's category → "Fill in the form" → every question."""
        tx = self.texts[user.lang]
        for label in (tx.account, path.category):
            sub = tx.f("menu_sub", category=label)
            if not await self.press(user, label, [("reply", "user", has(sub), "sub-menu")]):
                return False
        n = len(path.fields)
        first = tx.f("form_progress", n=1, count=n) + path.fields[0].prompt[:20]
        owed: list[Spec] = [("reply", "user", has(path.intro), "form intro")]
        if not await self.press(
            user, tx.t["btn_form"], [*owed, ("more", "user", has(first), "q1")]
        ):
            return False
        for i, field in enumerate(path.fields):
            if i + 1 < n:
                nxt = tx.f("form_progress", n=i + 2, count=n) + path.fields[i + 1].prompt[:20]
                owed = [("reply", "user", has(nxt), f"q{i + 2}")]
            else:
                owed = [("reply", "user", has(tx.t["review_title"]), "review")]
            if not await self._answer(user, field, owed, rng):
                return False
        return True

    async def _answer(
        self, user: SimUser, field: Field, owed: list[Spec], rng: random.Random
    ) -> bool:
        tx = self.texts[user.lang]
        if field.type == "images" or (not field.required and rng.random() < 0.5):
            return await self.press(user, tx.t["btn_skip"], owed)
        if field.type == "choice":
            return await self.press(user, field.choices[0], owed)
        if field.type == "date":
            text = "2026-01-02"  # a Friday: the bot says back the date it understood
            weekday = tx.t["weekday_4"]
            said = tx.f("date_understood", date=text, weekday=weekday)
            owed = [("reply", "user", has(said), "date understood"), *owed]
        elif field.type == "long_text":
            text = LONG[user.lang]
        else:
            text = f"L{user.tg.id:08d}"
        return await self.say(user, text, owed)

    def relay_owed(self, lang: str, ticket: int, text: str) -> list[Spec]:
        """What a line typed in a ticket is owed: the relay into the topic, and the ticket's
        status when it asks after the wait ("Any news on this?")."""
        owed: list[Spec] = [("relay", "topic", has(f"User: {text}"), "relay")]
        if asks_status(text):
            status = self.texts[lang].head("ticket_status", "state").format(id=ticket)
            owed.append(("reply", "user", has(status), "ticket status"))
        return owed

    async def relays(self, user: SimUser, rng: random.Random) -> None:
        """A relayed message, the moderator's reply in the topic, maybe more, then /close."""
        tx, ticket = self.texts[user.lang], user.ticket
        if ticket is None or user.thread is None:
            self.ledger.script_errors += 1
            return
        text = f"{rng.choice(RELAYS[user.lang])} k{user.tg.id}r{user.actions}"
        owed = self.relay_owed(user.lang, ticket, text)
        if user.acked != ticket:
            owed.append(("reply", "user", has(tx.f("relay_ack", id=ticket)), "relay ack"))
        if not await self.say(user, text, owed):
            return
        user.acked = ticket
        answer = f"{rng.choice(REPLIES[user.lang])} k{user.tg.id}m{user.actions}"
        mod, thread, group = self.mods[ticket % len(self.mods)], user.thread, user.group
        spec: Spec = ("modreply", "user", has(tx.f("mod_reply", text=answer)), "moderator reply")
        sends = lambda: self.fake.mod_says(mod, thread, answer, group)  # noqa: E731
        if not await self.act(user, sends, [spec], own=False):
            return
        if rng.random() < 0.5:
            text = f"{rng.choice(RELAYS[user.lang])} k{user.tg.id}r{user.actions}"
            if not await self.say(user, text, self.relay_owed(user.lang, ticket, text)):
                return
        closed = tx.head("ticket_closed_by_user", "days").format(id=ticket)
        owed = [("reply", "user", has(closed), "ticket closed")]
        notice = self.texts["en"].f("mod_closed_by_user", id=ticket)  # moderators read English
        owed.append(("notice", "topic", has(notice), "closed notice"))
        await self.say(user, "/close", owed)


SCRIPTS = {
    "browse": Crowd.browse,
    "search": Crowd.search,
    "form": lambda crowd, user, rng: crowd.ticket(user, rng, form=True),
    "human": lambda crowd, user, rng: crowd.ticket(user, rng, form=False),
}
