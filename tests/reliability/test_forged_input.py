"""Forged and bad input, through the real adapters and the fake platforms: each case gets a
clear answer and changes nothing else — no ticket opened, closed, claimed or rated, nobody
banned, no snippet or dead letter touched, nothing delivered to anyone but the sender.

The harness-level cases (old buttons, forged payloads on the core's own fake platform, SQL and
invisible text in messages) live in tests/scenarios/test_robustness.py; these go through
python-telegram-bot and discord.py over loopback, where the wire format is real.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import io
import logging
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.console import ConsoleAdapter, console_user
from bot.actions import Verb, act, owner_tag
from bot.app import Runtime, open_runtime
from bot.config import BotConfig, Config
from bot.storage.records import OutboxStatus, TicketStatus
from bot.texts import Texts
from bot.types import ChatKind, ChatRef
from tests.adapters.discord.conftest import eventually
from tests.adapters.discord.scenario import Kefu, Moderators, User, text_of
from tests.adapters.telegram.dialog import Moderator, Person, help_center
from tests.helpers.builders import exe, png, png_bomb, png_header_only
from tests.helpers.fake_discord import FakeDiscord, buttons
from tests.helpers.fake_telegram import TOKEN, FakeTelegram, Sent
from tests.reliability.runtime import Snapshot, files_under, settled, telegram_kefu

HUMAN = "Talk to a person"
NOT_YOURS = "That button isn't for you."
STALE = "That button is no longer active."
MOD_ONLY = "Only moderators can do that."
NO_TICKET = "You have no open ticket."
MOD_COMMAND = "That command is for moderators."
NOTHING_TO_REOPEN = "You have no closed ticket to reopen."
VICTIM, FORGER = "telegram:1001", "telegram:1002"
SQL = "Robert'); DROP TABLE tickets; --"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

REFUSED = Texts().both("mod_only")  # what Discord tells a stranger, privately, at once


# ------------------------------------------------------------------------------ the scene


@dataclass
class Scene:
    """A victim (Lin) with ticket #1, a forger (Eve) at the menu, the moderator (Mei)."""

    tg: FakeTelegram
    rt: Runtime
    victim: Person
    forger: Person
    mod: Moderator
    menu: Sent  # the forger's menu message: forged presses claim to be on it

    async def snapshot(
        self, actor: tuple[int, int | None] | None = None, people: tuple[str, ...] = ()
    ) -> Snapshot:
        """The state that must not change; the actor's own chat (default: the forger's) is
        left out, and what it received is checked by each test."""
        where = actor or (self.forger.chat_id, None)
        return await Snapshot.take(self.rt.store, self.tg, people or (VICTIM, FORGER), where)

    def press(self, data: str) -> None:
        """The forger presses a button carrying `data` on their own menu."""
        self.tg.press_data(self.forger.user, self.menu, data)

    async def answered(self, before: int, within: float = 8.0) -> list[str]:
        """Everything the forger received since `before`, once the runtime is settled."""
        await settled(self.rt, self.tg, within)
        return [s.text for s in self.forger.inbox()[before:]]


@asynccontextmanager
async def scene(tg: FakeTelegram, data_dir: Path, **bot: Any) -> AsyncIterator[Scene]:
    """Kefu running with the scene set up: ticket #1 paged, the forger greeted."""
    victim = Person(tg, tg.user(1001, "Lin", "en"))
    forger = Person(tg, tg.user(1002, "Eve", "en"))
    mod = Moderator(tg, tg.moderator(2001, "Mei"))
    async with telegram_kefu(tg, data_dir, bot=bot or None) as rt:
        await victim.says("/human")
        await victim.sees("Ticket #1 created")
        await mod.opens(1)
        await mod.sees("New ticket #1")
        await forger.says("/start")
        menu = await forger.sees("How can we help?")
        await settled(rt, tg)
        yield Scene(tg, rt, victim, forger, mod, menu)
    assert all(q["answered"] for q in tg.callbacks.values()), "a callback query was left spinning"


def only(answers: list[str], expected: str) -> None:
    """Exactly one answer, and it says `expected`."""
    assert len(answers) == 1 and expected in answers[0], answers


async def dead_letter(s: Scene) -> int:
    """A moderator's reply that could not be delivered (the victim blocked the bot for a
    moment): something a forged /retry would bring back. Returns its outbox id."""
    s.tg.block(s.victim.user)
    await s.mod.says("are you there?")
    await s.mod.sees("can't be reached")
    s.tg.block(s.victim.user, blocked=False)
    await settled(s.rt, s.tg)
    (dead,) = await s.rt.store.outbox_items([OutboxStatus.DEAD])
    return dead.id


async def close_by_moderator(s: Scene) -> None:
    """The moderator closes #1: the victim gets the rating and Reopen buttons."""
    await s.mod.says("/close done")
    await s.victim.sees("closed by a moderator")
    await settled(s.rt, s.tg)


# ------------------------------------------------------------ another user's buttons (Telegram)


@pytest.mark.parametrize(
    ("label", "closed"),
    [("Close my ticket", False), ("Ticket status", False), ("5", True), ("Reopen", True)],
)
async def test_another_users_ticket_button_is_not_for_you(
    tg: FakeTelegram, tmp_path: Path, label: str, closed: bool
) -> None:
    async with scene(tg, tmp_path) as s:
        if closed:
            await close_by_moderator(s)
        stolen = dict(tg.keyboard(s.victim.chat_id))[label]
        before, n = await s.snapshot(), len(s.forger.inbox())
        s.press(stolen)
        only(await s.answered(n), NOT_YOURS)
        assert await s.snapshot() == before


@pytest.mark.parametrize("verb", [Verb.CLOSE, Verb.REOPEN, Verb.RATE])
async def test_own_tag_on_another_users_ticket_id_is_not_for_you(
    tg: FakeTelegram, tmp_path: Path, verb: Verb
) -> None:
    async with scene(tg, tmp_path) as s:
        if verb is not Verb.CLOSE:
            await close_by_moderator(s)
        args = (1, 5) if verb is Verb.RATE else (1,)
        before, n = await s.snapshot(), len(s.forger.inbox())
        s.press(act(verb, *args, owner=owner_tag(FORGER)))
        only(await s.answered(n), NOT_YOURS)
        assert await s.snapshot() == before


# --------------------------------------------------------------- forged callback data (Telegram)

_rng = random.Random(6)
GARBAGE = {
    "random bytes": bytes(_rng.randrange(1, 256) for _ in range(48)).decode("latin-1"),
    "65 bytes": "kefu:h::" + "a" * 57,
    "10,000 characters": "kefu:m::" + "x" * 9992,
    "a NUL byte": "kefu:h\x00::",
    "a zero-width space": "kefu:h\u200b::",
    "fullwidth lookalike": "ｋｅｆｕ:ｈ::",
    "SQL in an argument": "kefu:a::x' OR 1=1--",
    "an unknown verb": "kefu:zz::1",
}


@pytest.mark.parametrize("data", list(GARBAGE.values()), ids=list(GARBAGE))
async def test_forged_callback_data_is_no_longer_active(
    tg: FakeTelegram, tmp_path: Path, data: str
) -> None:
    async with scene(tg, tmp_path) as s:
        before, n = await s.snapshot(), len(s.forger.inbox())
        s.press(data)
        only(await s.answered(n), STALE)
        assert HUMAN in [label for label, _ in s.forger.inbox()[-1].buttons]
        assert await s.snapshot() == before


@pytest.mark.parametrize("verb", [Verb.CLAIM, Verb.UNCLAIM, Verb.MOD_CLOSE, Verb.MOD_REOPEN])
async def test_a_moderator_verb_from_a_private_chat_is_refused(
    tg: FakeTelegram, tmp_path: Path, verb: Verb
) -> None:
    async with scene(tg, tmp_path) as s:
        before, n = await s.snapshot(), len(s.forger.inbox())
        s.press(act(verb, 1))
        only(await s.answered(n), MOD_ONLY)
        assert await s.snapshot() == before


async def test_a_moderator_verb_from_a_moderators_own_private_chat_is_refused(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        tg.user(2001, "Mei", "en")  # the group's admin also has a private chat with the bot
        private = Person(tg, s.mod.user)
        await private.says("/start")
        menu = await private.sees("How can we help?")
        await settled(s.rt, tg)
        before, n = await s.snapshot((private.chat_id, None)), len(private.inbox())
        tg.press_data(private.user, menu, act(Verb.MOD_CLOSE, 1))
        await settled(s.rt, tg)
        only([m.text for m in private.inbox()[n:]], MOD_ONLY)
        assert await s.snapshot((private.chat_id, None)) == before


async def test_a_callback_claiming_a_message_in_another_users_chat_reaches_nobody_else(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    # Telegram only sends presses on messages of the presser's own private chat; an update
    # that says otherwise is forged, and must not make the bot talk into the victim's chat.
    async with scene(tg, tmp_path) as s:
        victims_message = s.victim.inbox()[-1]
        before, n = await s.snapshot(), len(s.victim.inbox())
        tg.press_data(s.forger.user, victims_message, act(Verb.HUMAN))
        await settled(s.rt, tg)
        assert [m.text for m in s.victim.inbox()[n:]] == []
        tickets = await s.rt.store.list_tickets()
        assert all(t.chat_id == t.user_key.split(":")[1] for t in tickets), tickets
        assert (await s.snapshot()).deliveries == before.deliveries


# ---------------------------------------------------------- replayed buttons and updates


async def test_solved_pressed_again_after_the_menu_is_no_longer_active(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        await s.forger.says("I forgot my password")
        await s.forger.sees("Did this solve it?")
        solved = dict(tg.keyboard(s.forger.chat_id))["Solved"]
        await s.forger.says("/menu")
        await s.forger.sees("How can we help?")
        before, n = await s.snapshot(), len(s.forger.inbox())
        s.press(solved)
        only(await s.answered(n), STALE)
        assert await s.snapshot() == before
        assert await s.rt.store.article_stats(10) == []


async def test_talk_to_a_person_pressed_twice_shows_the_ticket(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        human = dict(s.menu.buttons)[HUMAN]
        s.press(human)
        await s.forger.sees("Ticket #2 created")
        await settled(s.rt, tg)
        before, n = await s.snapshot(), len(s.forger.inbox())
        s.press(human)
        only(await s.answered(n), "You already have an open ticket #2")
        assert await s.snapshot() == before
        assert len(tg.topics()) == 2


async def test_close_pressed_again_after_closing_says_no_open_ticket(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        close = dict(tg.keyboard(s.victim.chat_id))["Close my ticket"]
        tg.press_data(s.victim.user, s.victim.inbox()[-1], close)
        await s.victim.sees("Ticket #1 closed")
        await settled(s.rt, tg)
        before = await s.snapshot((s.victim.chat_id, None))
        n = len(s.victim.inbox())
        tg.press_data(s.victim.user, s.victim.inbox()[-1], close)
        await settled(s.rt, tg)
        only([m.text for m in s.victim.inbox()[n:]], NO_TICKET)
        assert await s.snapshot((s.victim.chat_id, None)) == before


async def test_a_rating_after_the_ticket_was_reopened_is_no_longer_active(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        await close_by_moderator(s)
        five = dict(tg.keyboard(s.victim.chat_id))["5"]
        await s.mod.says("/reopen")
        await s.victim.sees("Ticket #1 is open again")
        await settled(s.rt, tg)
        before = await s.snapshot((s.victim.chat_id, None))
        n = len(s.victim.inbox())
        tg.press_data(s.victim.user, s.victim.inbox()[-1], five)
        await settled(s.rt, tg)
        only([m.text for m in s.victim.inbox()[n:]], STALE)
        assert await s.snapshot((s.victim.chat_id, None)) == before
        assert (await s.rt.store.get_ticket(1)).rating is None  # type: ignore[union-attr]


async def test_a_press_redelivered_after_a_restart_is_handled_once(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    eve = Person(tg, tg.user(1002, "Eve", "en"))
    async with telegram_kefu(tg, tmp_path) as rt:
        await eve.says("/start")
        menu = await eve.sees("How can we help?")
        tg.press_data(eve.user, menu, dict(menu.buttons)[HUMAN])
        replay = copy.deepcopy(tg.updates[-1])
        await eve.sees("Ticket #1 created")
        await settled(rt, tg)
    tg.updates.append(replay)  # Telegram delivers the same update_id again
    async with telegram_kefu(tg, tmp_path) as rt:
        await settled(rt, tg)
        assert len(await rt.store.list_tickets()) == 1
    assert eve.count("Ticket #1 created") == 1
    assert sum("New ticket #1" in t for t in tg.texts(tg.moderator_chat_id)) == 1


# ------------------------------------------------- moderator rights in the group (Telegram)


@pytest.mark.parametrize(
    "command",
    ["/close spam", "/claim", "/note looks fake", "/block", "/retry {dead}", "/snippet-add hi x"],
)
async def test_a_non_admin_in_the_moderator_group_cannot_use_moderator_commands(
    tg: FakeTelegram, tmp_path: Path, command: str
) -> None:
    async with scene(tg, tmp_path) as s:
        if "{dead}" in command:
            command = command.format(dead=await dead_letter(s))
        member = Moderator(tg, tg.moderator(2002, "Bob", admin=False))
        thread = await member.opens(1)
        before = await s.snapshot((tg.moderator_chat_id, thread))
        n = len(member.inbox())
        await member.says(command)
        await settled(s.rt, tg)
        only([m.text for m in member.inbox()[n:]], MOD_ONLY)
        assert await s.snapshot((tg.moderator_chat_id, thread)) == before


@pytest.mark.parametrize(
    "data", ["Close", act(Verb.MOD_REOPEN, 1)], ids=["Close", "forged Reopen"]
)
async def test_a_non_admin_in_the_moderator_group_cannot_press_moderator_buttons(
    tg: FakeTelegram, tmp_path: Path, data: str
) -> None:
    async with scene(tg, tmp_path) as s:
        if data != "Close":
            await close_by_moderator(s)
        member = Moderator(tg, tg.moderator(2002, "Bob", admin=False))
        thread = await member.opens(1)
        card = next(m for m in member.inbox() if m.buttons)
        before = await s.snapshot((tg.moderator_chat_id, thread))
        n = len(member.inbox())
        tg.press_data(member.user, card, dict(card.buttons).get(data, data))
        await settled(s.rt, tg)
        only([m.text for m in member.inbox()[n:]], MOD_ONLY)
        assert await s.snapshot((tg.moderator_chat_id, thread)) == before


async def test_a_non_admin_in_the_general_topic_is_refused_commands_and_ignored_chatter(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        member = tg.moderator(2002, "Bob", admin=False)
        general = (tg.moderator_chat_id, None)
        before, n = await s.snapshot(general), len(tg.inbox(*general))
        tg.mod_says(member, None, "just chatting about lunch")
        tg.mod_says(member, None, "/queue")
        await settled(s.rt, tg)
        only([m.text for m in tg.inbox(*general)[n:]], MOD_ONLY)
        assert await s.snapshot(general) == before


# ------------------------------------------------- moderator commands in a private chat


@pytest.mark.parametrize("command", ["/retry {dead}", "/block", "/claim 1", "/note hi", "/dead"])
async def test_moderator_commands_in_a_private_chat_are_refused_as_such(
    tg: FakeTelegram, tmp_path: Path, command: str
) -> None:
    async with scene(tg, tmp_path) as s:
        if "{dead}" in command:
            command = command.format(dead=await dead_letter(s))
        # The forger is told the command is for moderators (it was searched as text, finding
        # odd articles); nothing else changes.
        before, n = await s.snapshot(), len(s.forger.inbox())
        await s.forger.says(command)
        only(await s.answered(n), MOD_COMMAND)
        assert HUMAN in [label for label, _ in s.forger.inbox()[-1].buttons]
        assert await s.snapshot() == before


async def test_reopen_with_another_users_ticket_number_reopens_nothing(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        before, n = await s.snapshot(), len(s.forger.inbox())
        await s.forger.says("/reopen 1")  # the forger's own latest ticket only: they have none
        only(await s.answered(n), NOTHING_TO_REOPEN)
        assert await s.snapshot() == before


async def test_close_with_another_users_ticket_number_closes_nothing(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        before, n = await s.snapshot(), len(s.forger.inbox())
        await s.forger.says("/close 1")
        only(await s.answered(n), NO_TICKET)
        assert await s.snapshot() == before


# ----------------------------------------------------- HTML and Markdown injection (Telegram)

NAMES = ["<b>Eve</b> & co", "</b><a href='tg://user?id=1'>admin</a>", "&lt;i&gt; &amp; <<>>"]


@pytest.mark.parametrize("name", NAMES)
async def test_html_in_a_display_name_reaches_the_moderators_as_text(
    tg: FakeTelegram, tmp_path: Path, name: str
) -> None:
    user = Person(tg, tg.user(1003, name, "en"))
    mod = Moderator(tg, tg.moderator(2001, "Mei"))
    async with telegram_kefu(tg, tmp_path) as rt:
        await user.says("/human")
        await mod.opens(1)
        card = await mod.sees("New ticket #1")
        await settled(rt, tg)
    assert card.parse_mode == "HTML"
    assert f"New ticket #1 from {name} (telegram, en)" in card.text
    assert "<a " not in card.html and "<i>" not in card.html
    assert name in next(iter(tg.topics().values()))


INJECTED = (
    "<b>bold</b> <a href='https://evil.example'>x</a> &amp; *star* _under_ [l](https://e.x) `c`"
)


async def test_html_and_markdown_typed_by_a_user_reach_the_moderators_as_text(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        await s.victim.says(INJECTED)
        relayed = await s.mod.sees("User: ")
        await settled(s.rt, tg)
    assert relayed.text == f"User: {INJECTED}"
    assert "<b>" not in relayed.html and "<a " not in relayed.html


async def test_html_and_markdown_from_a_moderator_reach_the_user_as_text(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        await s.mod.says(INJECTED)
        relayed = await s.victim.sees("Moderator: ")
        await settled(s.rt, tg)
    assert relayed.text == f"Moderator: {INJECTED}"
    assert "<b>" not in relayed.html and "<a " not in relayed.html


async def test_four_thousand_angle_brackets_fit_telegrams_limit_after_escaping(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    text = "<" * 4000  # 4,000 characters, 16,000 once escaped: the limit counts the former
    async with scene(tg, tmp_path) as s:
        await s.victim.says(text)
        await s.mod.sees("User: <<<")
        await settled(s.rt, tg)
        dead = await s.rt.store.outbox_items([OutboxStatus.DEAD])
    parts = [m.text for m in s.mod.inbox() if m.text.startswith("User: <") or set(m.text) == {"<"}]
    assert "".join(parts) == f"User: {text}"
    assert dead == []


# ------------------------------------------------------------- path traversal in file names

TRAVERSAL = ["../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/shadow.png", "a/../../../x.png"]


@pytest.mark.parametrize("name", TRAVERSAL)
async def test_a_document_named_with_a_path_is_stored_by_its_hash(
    tg: FakeTelegram, tmp_path: Path, name: str
) -> None:
    data_dir = tmp_path / "data"
    image = png(7, 5, (1, 2, 3))
    sha = hashlib.sha256(image).hexdigest()
    async with scene(tg, data_dir) as s:
        tg.user_sends_document(s.victim.user, image, name, "image/png")
        await tg.wait_for(lambda: image in tg.photos(tg.moderator_chat_id))
        await settled(s.rt, tg)
        stored = await s.rt.store.get_file(sha)
    assert stored is not None and stored.path == f"{sha[:2]}/{sha}.png"
    assert Path("files", sha[:2], f"{sha}.png") in files_under(data_dir)
    assert [p for p in files_under(tmp_path) if p.parts[:2] != ("data", "files")] == [
        Path("data/kefu.sqlite3")
    ]
    assert stored.size == len(image)  # the bytes, whatever the name said


def _console(name: str, lines: list[str], out: io.StringIO) -> ConsoleAdapter:
    return ConsoleAdapter(
        "console",
        console_user(name, "en"),
        ChatRef("console", name, ChatKind.PRIVATE),
        stdin=io.StringIO("".join(f"{line}\n" for line in lines)),
        stdout=out,
    )


async def _chat(data_dir: Path, lines: list[str]) -> str:
    """`kefu chat` with piped input, in-process; returns what it printed."""
    out = io.StringIO()
    adapter = _console("lin", lines, out)
    kb, index = await asyncio.to_thread(help_center)
    config = Config(bot=BotConfig(data_dir=data_dir, default_lang="en"))
    async with open_runtime(config, [adapter], kb=kb, index=index) as rt:
        adapter.set_settle(lambda: rt.outbox.drain("console"))
        delivery = asyncio.create_task(rt.outbox.run())
        try:
            await adapter.run(rt.hub.sink)
            await rt.outbox.drain("console")
        finally:
            delivery.cancel()
            await asyncio.gather(delivery, return_exceptions=True)
    return out.getvalue()


async def test_console_attach_through_a_dotted_path_stores_the_image_by_its_hash(
    tmp_path: Path,
) -> None:
    image = png(6, 6, (9, 8, 7))
    sha = hashlib.sha256(image).hexdigest()
    (tmp_path / "in" / "a" / "b").mkdir(parents=True)
    (tmp_path / "in" / "shot.png").write_bytes(image)
    dotted = tmp_path / "in" / "a" / "b" / ".." / ".." / "shot.png"
    printed = await _chat(tmp_path / "data", ["/human", f"/attach {dotted}"])
    assert "Ticket #1 created" in printed
    assert files_under(tmp_path / "data" / "files") == [Path(sha[:2], f"{sha}.png")]


async def test_console_attach_of_a_system_file_is_refused_and_not_stored(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n", encoding="utf-8")
    (tmp_path / "in" / "a").mkdir(parents=True)
    dotted = tmp_path / "in" / "a" / ".." / ".." / "etc" / "passwd"
    printed = await _chat(tmp_path / "data", ["/human", f"/attach {dotted}"])
    assert "That file isn't an image I can accept" in printed
    assert not (tmp_path / "data" / "files").exists()


# --------------------------------------------------------------- images: bombs and limits


@pytest.mark.parametrize(
    ("kind", "answer"),
    [
        ("bomb photo", "too large in pixels"),
        ("header-only giant", "too large in pixels"),
        ("exe named .png", "isn't an image I can accept"),
        ("over the byte limit", "That image is too large (the limit is 1 MB)"),
    ],
)
async def test_hostile_images_are_refused_and_nothing_is_stored(
    tg: FakeTelegram, tmp_path: Path, kind: str, answer: str
) -> None:
    data_dir = tmp_path / "data"
    async with scene(tg, data_dir, max_image_bytes=1024 * 1024) as s:
        before = await s.snapshot((s.victim.chat_id, None))
        n = len(s.victim.inbox())
        if kind == "bomb photo":
            tg.user_sends_photo(s.victim.user, png_bomb())
        elif kind == "header-only giant":
            tg.user_sends_document(
                s.victim.user, png_header_only(100_000, 100_000), "a.png", "image/png"
            )
        elif kind == "exe named .png":
            tg.user_sends_document(s.victim.user, exe(), "cute-cat.png", "image/png")
        else:
            big = b"\x89PNG\r\n\x1a\n" + bytes(2 * 1024 * 1024)
            tg.user_sends_document(s.victim.user, big, "big.png", "image/png")
        await settled(s.rt, tg)
        answers = [m.text for m in s.victim.inbox()[n:]]
        assert await s.snapshot((s.victim.chat_id, None)) == before
    assert len(answers) == 1 and answer in answers[0], answers
    assert not (data_dir / "files").exists()
    if kind == "over the byte limit":
        assert tg.calls_to("getFile") == []  # refused by its declared size, never downloaded


async def test_a_file_telegram_will_not_serve_is_not_called_too_large(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        before = await s.snapshot((s.victim.chat_id, None))
        n = len(s.victim.inbox())
        tg.fail("getFile", "400", description="Bad Request: wrong file_id")
        await s.victim.sends_photo(png(3, 3, (1, 1, 1)))
        await settled(s.rt, tg)
        answers = [m.text for m in s.victim.inbox()[n:]]
        assert await s.snapshot((s.victim.chat_id, None)) == before
    assert len(answers) == 1 and "couldn't download that file" in answers[0], answers


async def test_a_bomb_in_the_forms_screenshot_field_does_not_count(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    user = Person(tg, tg.user(1001, "Lin", "en"))
    async with telegram_kefu(tg, tmp_path) as rt:
        await user.says("/start")
        await user.presses("Account")
        await user.presses("Suspended or restricted")
        await user.presses("Fill in the form")
        for answer in ["L12345678", "2026-01-02", "the notice", "nothing", "a mistake"]:
            await user.says(answer)
        await user.sees("Please send screenshots")
        await user.sends_photo(png_bomb())
        await user.sees("too large in pixels")
        await user.sends_photo(png(4, 4, (5, 5, 5)))
        await user.sees("Received 1 image(s)")
        await settled(rt, tg)
        conv = await rt.store.load_conversation(VICTIM)
    assert conv is not None
    assert [len(v) for v in conv.data["form"]["images"].values()] == [1]


# ------------------------------------------------------------- oversized and empty updates


async def test_a_hundred_thousand_characters_reach_the_moderators_whole(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    text = "".join(f"line {n:05d} of a very long complaint.\n" for n in range(2800))[:100_000]
    async with scene(tg, tmp_path) as s:
        await s.victim.says(text)
        await settled(s.rt, tg, within=15)
        history = await s.rt.store.messages(1)
    parts = [m.text for m in s.mod.inbox()[1:]]
    assert all(len(p) <= 4096 for p in parts)
    assert "".join("".join(parts).split()) == "".join(f"User: {text}".split())
    assert history[-1].text == text.strip()  # kept whole, only trimmed
    assert s.victim.count("Added to ticket #1") == 1


def _other_group_message(tg: FakeTelegram) -> dict[str, Any]:
    chat = {"id": -100999, "title": "someone else's group", "type": "supergroup"}
    user = tg.user(1002, "Eve", "en").wire()
    return {"message_id": 5, "from": user, "chat": chat, "date": 0, "text": "/close 1"}


@pytest.mark.parametrize("kind", ["empty", "edited_message", "another group"])
async def test_updates_of_no_interest_are_confirmed_and_block_nothing(
    tg: FakeTelegram, tmp_path: Path, kind: str
) -> None:
    async with scene(tg, tmp_path) as s:
        before, n = await s.snapshot(), len(s.forger.inbox())
        if kind == "empty":
            tg.updates.append({"update_id": 700_000_900})  # no content at all
        elif kind == "edited_message":  # an edit of the forger's own earlier message
            message = {
                "message_id": s.menu.message_id - 1,
                "from": s.forger.user.wire(),
                "chat": {"id": 1002, "first_name": "Eve", "type": "private"},
                "date": 0,
                "edit_date": 1,
                "text": "/human",
            }
            tg._push("edited_message", message)
        else:
            tg._push("message", _other_group_message(tg))
        await s.forger.says("/status")
        only(await s.answered(n), NO_TICKET)
        assert await s.snapshot() == before


async def test_an_update_the_sdk_cannot_parse_does_not_block_the_ones_behind_it(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        n = len(s.forger.inbox())
        # Today python-telegram-bot raises KeyError('date') inside getUpdates, the poller lets
        # it through, and the whole runtime stops; after a restart the same update comes back.
        tg._push("message", {"message_id": "not a number", "text": 5})
        await s.forger.says("/status")
        only(await s.answered(n, within=4), NO_TICKET)


async def test_an_oversized_webhook_post_is_refused_before_it_is_read(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    url = f"http://127.0.0.1:{port}/kefu/telegram"
    head = (
        "POST /kefu/telegram HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "X-Telegram-Bot-Api-Secret-Token: s3cret-Token_1\r\nContent-Length: 2000040\r\n\r\n"
    )
    async with telegram_kefu(tg, tmp_path, mode="webhook", webhook_url=url, port=port) as rt:
        await tg.wait_for(lambda: tg.webhook)
        # Only the head of a 2 MB post is sent: an answer can only come from the head, so it
        # proves the body is refused unread (sending the body too would race the refusal).
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head.encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
        writer.close()
        await writer.wait_closed()
        users = await rt.store.get_user(VICTIM)
    assert status_line.split()[:2] == [b"HTTP/1.1", b"413"], status_line
    assert users is None and tg.sent == []


async def test_a_message_of_only_invisible_characters_is_answered(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        before, n = await s.snapshot(), len(s.forger.inbox())
        await s.forger.says("\u200b\u200c\u2060\ufeff" + BIDI)
        only(await s.answered(n), "I couldn't read that")
        assert HUMAN in [label for label, _ in s.forger.inbox()[-1].buttons]
        assert await s.snapshot() == before


# ------------------------------------------------------------- bidi, zero-width and SQL


async def test_bidi_controls_in_a_display_name_do_not_reach_the_moderators(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    # U+202E in a name reverses the rest of the card line in the moderators' client (a
    # spoofing tool: "Lin<RLO>gnp.exe" reads "Linexe.png"). The words stay; the controls go.
    user = Person(tg, tg.user(1003, "\u202eLin\u2066gnp.exe\u2069\u200b", "en"))
    mod = Moderator(tg, tg.moderator(2001, "Mei"))
    async with telegram_kefu(tg, tmp_path) as rt:
        await user.says("/human")
        await mod.opens(1)
        card = await mod.sees("New ticket #1")
        await settled(rt, tg)
    topic = next(iter(tg.topics().values()))
    assert "Lin" in card.text and "gnp.exe" in card.text
    assert not set(BIDI) & set(card.text + topic), (card.text, topic)


async def test_zero_width_characters_do_not_hide_a_request_for_a_person(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        await s.forger.says("talk\u200b to a\u2060 real\u200d person")
        await s.forger.sees("Ticket #2 created")
        await settled(s.rt, tg)
    assert sum("New ticket #2" in t for t in tg.texts(tg.moderator_chat_id)) == 1


async def test_sql_in_a_display_name_is_kept_as_text(tg: FakeTelegram, tmp_path: Path) -> None:
    user = Person(tg, tg.user(1003, SQL, "en"))
    mod = Moderator(tg, tg.moderator(2001, "Mei"))
    async with telegram_kefu(tg, tmp_path) as rt:
        await user.says("/human")
        await mod.opens(1)
        card = await mod.sees("New ticket #1")
        await user.says("'; DELETE FROM users; --")
        await mod.sees("User: '; DELETE FROM users; --")
        await settled(rt, tg)
        ticket = await rt.store.get_ticket(1)
        record = await rt.store.get_user("telegram:1003")
    assert f"from {SQL} (telegram" in card.text
    assert ticket is not None and ticket.user_name == SQL
    assert record is not None and record.display_name == SQL


async def test_sql_as_a_language_shows_the_language_picker(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        before, n = await s.snapshot(), len(s.forger.inbox())
        await s.forger.says("/lang '; UPDATE users SET lang='xx'; --")
        only(await s.answered(n), "Choose a language")
        assert await s.snapshot() == before


# --------------------------------------------------------- a token inside an exception


@pytest.mark.parametrize("method", ["sendMessage", "getFile"])
async def test_a_token_inside_an_error_message_is_never_logged_or_shown(
    tg: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    caplog.set_level(logging.INFO)  # what `kefu run` logs
    async with scene(tg, tmp_path) as s:
        if method == "sendMessage":
            tg.fail("sendMessage", "400", description=f"chat of bot{TOKEN} is odd")
            await s.mod.says("hello")
        else:
            tg.fail("getFile", "500", description=f"upstream of bot{TOKEN} is down")
            await s.victim.sends_photo(png(3, 3, (4, 4, 4)))
        await tg.wait_for(lambda: tg.calls_to(method))
        await settled(s.rt, tg)
        history = [m.text for m in await s.rt.store.messages(1)]
        dead = [i.last_error for i in await s.rt.store.outbox_items([OutboxStatus.DEAD])]
    assert caplog.records
    assert TOKEN not in caplog.text
    assert all(TOKEN not in s.text for s in tg.sent), [s.text for s in tg.sent]
    assert all(TOKEN not in t for t in history + dead)


# ---------------------------------------------------------- a user who blocked the bot


async def test_a_user_who_blocked_the_bot_mid_ticket_is_shown_to_the_moderators(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        tg.block(s.victim.user)
        n = len(s.victim.inbox())
        await s.mod.says("can you send a screenshot?")
        await s.mod.sees("can't be reached on telegram")
        await settled(s.rt, tg)
        await s.mod.says("/open 1")
        card = await s.mod.sees("New ticket #1")
        await s.mod.says("/dead")
        dead = await s.mod.sees("Failed deliveries (1)")
        ticket = await s.rt.store.get_ticket(1)
    assert s.victim.inbox()[n:] == []
    assert "can't be reached" in card.text
    assert ticket is not None and ticket.user_unreachable
    assert ticket.status == TicketStatus.CLAIMED  # nothing was closed on the user's behalf
    assert "#1" in dead.text


async def test_a_user_who_unblocked_the_bot_and_writes_is_no_longer_shown_unreachable(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with scene(tg, tmp_path) as s:
        tg.block(s.victim.user)
        await s.mod.says("hello?")
        await s.mod.sees("can't be reached on telegram")
        tg.block(s.victim.user, blocked=False)
        await s.victim.says("sorry, I am back")
        await s.mod.sees("User: sorry, I am back")
        await settled(s.rt, tg)
        await s.mod.says("/open 1")
        card = await s.mod.sees("New ticket #1")
        ticket = await s.rt.store.get_ticket(1)
    assert ticket is not None and not ticket.user_unreachable
    assert "can't be reached" not in card.text


# -------------------------------------------------------------------------------- Discord


@asynccontextmanager
async def discord_kefu(dc: FakeDiscord, config: Config) -> AsyncIterator[Kefu]:
    """`kefu run` on Discord in-process, with alice's ticket #1 paged into its thread."""
    kb, index = await asyncio.to_thread(help_center)
    kefu = Kefu(config, dc, kb, index)
    await kefu.start()
    try:
        yield kefu
    finally:
        await kefu.stop()


async def discord_scene(dc: FakeDiscord) -> tuple[User, User, Moderators, dict[str, Any]]:
    """Alice has ticket #1 in a thread; bob is at the menu (his menu message returned)."""
    alice, bob, mods = User(dc, dc.alice), User(dc, dc.bob), Moderators(dc)  # type: ignore[attr-defined]
    await alice.says("I want to talk to a real person")
    await alice.sees("Ticket #1")
    await mods.get_a_thread()
    await mods.sees("#1")
    await bob.says("hello")
    menu = await bob.sees("How can we help?")
    return alice, bob, mods, menu


def forged_message(base: dict[str, Any], custom_id: str) -> dict[str, Any]:
    """`base` as a modified client would present it: one button carrying `custom_id`."""
    message = copy.deepcopy(base)
    button = {"type": 2, "style": 2, "label": "forged", "custom_id": custom_id}
    message["components"] = [{"type": 1, "components": [button]}]
    return message


@dataclass(frozen=True)
class DiscordState:
    """Tickets, alice's ban, and what every channel but the actor's holds."""

    tickets: tuple[Any, ...]
    banned: bool | None
    posts: dict[int, tuple[str, ...]]


def unchanged(before: DiscordState, after: DiscordState) -> None:
    """Nothing happened but the answer to the actor (pytest shows which part moved)."""
    assert after.tickets == before.tickets
    assert after.banned == before.banned
    assert after.posts == before.posts


async def discord_state(kefu: Kefu, dc: FakeDiscord, skip: int) -> DiscordState:
    """Tickets and bans, and every channel's messages except channel `skip`'s."""
    store = kefu.runtime.store  # type: ignore[union-attr]
    tickets = tuple(
        (t.id, t.status.value, t.rating, t.closed_by) for t in await store.list_tickets()
    )
    alice = await store.get_user(f"discord:{dc.alice['id']}")  # type: ignore[attr-defined]
    posts = {c: tuple(text_of(m) for m in ms) for c, ms in dc.messages.items() if c != skip}
    return DiscordState(tickets, alice.banned if alice else None, posts)


async def carries_on(person: User, menu: dict[str, Any], since: int) -> None:
    """The positive signal that an earlier refused or dropped interaction of `person` reached
    nothing: they choose Account on their menu afterwards (one person's events are handled in
    order), and its answer is the only message they got since their `since`-th."""
    await person.chooses("Account", menu)
    await person.sees("Suspended or restricted")
    got = [text_of(m).splitlines()[0] for m in person.bot_messages()[since:]]
    assert got == ["Account: pick a topic"], got


async def quiet(kefu: Kefu) -> None:
    """Wait until nothing is left to deliver."""
    store = kefu.runtime.store  # type: ignore[union-attr]
    for _ in range(200):
        if not await store.outbox_items([OutboxStatus.PENDING]):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the outbox never emptied")


@pytest.mark.parametrize(
    ("custom_id", "answer"),
    [
        (act(Verb.MOD_CLOSE, 1), REFUSED),
        (act(Verb.CLAIM, 1), REFUSED),
        ("kefu:zz::1", STALE),
        (act(Verb.CLOSE, 1), NOT_YOURS),
    ],
    ids=["moderator close", "moderator claim", "unknown verb", "close without owner"],
)
async def test_a_forged_custom_id_in_dms_changes_nothing(
    dc: FakeDiscord, dc_config: Config, custom_id: str, answer: str
) -> None:
    async with discord_kefu(dc, dc_config) as kefu:
        _, bob, _, menu = await discord_scene(dc)
        before = await discord_state(kefu, dc, bob.channel_id)
        bob.mark()
        pressed = await dc.press(dc.bob, forged_message(menu, custom_id), "forged")  # type: ignore[attr-defined]
        if answer == REFUSED:
            await eventually(lambda: pressed.callbacks)
            assert pressed.callbacks[0]["data"]["content"] == REFUSED
            assert pressed.callbacks[0]["data"]["flags"] & 64  # ephemeral
            await carries_on(bob, menu, bob.cursor)
        else:
            await bob.sees(answer)
        await quiet(kefu)
        unchanged(before, await discord_state(kefu, dc, bob.channel_id))


async def test_another_users_custom_id_is_not_for_you_on_discord(
    dc: FakeDiscord, dc_config: Config
) -> None:
    async with discord_kefu(dc, dc_config) as kefu:
        alice, bob, _, menu = await discord_scene(dc)
        stolen = next(
            b["custom_id"]
            for m in alice.bot_messages()
            for row in m.get("components", [])
            for b in row["components"]
            if b.get("label") == "Close my ticket"
        )
        before = await discord_state(kefu, dc, bob.channel_id)
        bob.mark()
        await dc.press(dc.bob, forged_message(menu, stolen), "forged")  # type: ignore[attr-defined]
        await bob.sees(NOT_YOURS)
        await quiet(kefu)
        unchanged(before, await discord_state(kefu, dc, bob.channel_id))


@pytest.mark.parametrize("custom_id", ["evil", "kefu:" + "h" * 96, "kefu-form:ban-appeal"])
async def test_a_custom_id_that_is_no_kefu_button_reaches_nothing(
    dc: FakeDiscord, dc_config: Config, custom_id: str
) -> None:
    # discord.py routes only custom_ids that match KefuButton's template; anything else is
    # dropped before the core (the client shows "This interaction failed").
    async with discord_kefu(dc, dc_config) as kefu:
        _, bob, _, menu = await discord_scene(dc)
        before = await discord_state(kefu, dc, bob.channel_id)
        since = len(bob.bot_messages())
        pressed = await dc.press(dc.bob, forged_message(menu, custom_id), "forged")  # type: ignore[attr-defined]
        await carries_on(bob, menu, since)
        await quiet(kefu)
        assert pressed.callbacks == []
        unchanged(before, await discord_state(kefu, dc, bob.channel_id))


async def test_a_non_moderator_pressing_close_in_the_ticket_thread_is_refused(
    dc: FakeDiscord, dc_config: Config
) -> None:
    async with discord_kefu(dc, dc_config) as kefu:
        _, bob, mods, menu = await discord_scene(dc)
        before = await discord_state(kefu, dc, bob.channel_id)
        since = len(bob.bot_messages())
        refused = await mods.presses(dc.bob, "Close")  # type: ignore[attr-defined]
        await eventually(lambda: refused.callbacks)
        await carries_on(bob, menu, since)
        await quiet(kefu)
        assert refused.callbacks[0]["data"]["content"] == REFUSED
        unchanged(before, await discord_state(kefu, dc, bob.channel_id))


@pytest.mark.parametrize("command", ["close", "block"])
async def test_a_non_moderators_slash_command_in_the_thread_is_refused(
    dc: FakeDiscord, dc_config: Config, command: str
) -> None:
    async with discord_kefu(dc, dc_config) as kefu:
        _, bob, mods, menu = await discord_scene(dc)
        before = await discord_state(kefu, dc, bob.channel_id)
        since = len(bob.bot_messages())
        refused = await dc.slash(dc.bob, command, mods.chat.channel_id)  # type: ignore[attr-defined]
        await eventually(lambda: refused.callbacks)
        await carries_on(bob, menu, since)
        await quiet(kefu)
        assert refused.callbacks[0]["data"]["content"] == REFUSED
        unchanged(before, await discord_state(kefu, dc, bob.channel_id))


async def test_a_forged_modal_for_no_form_is_no_longer_active(
    dc: FakeDiscord, dc_config: Config
) -> None:
    async with discord_kefu(dc, dc_config) as kefu:
        _, bob, _, menu = await discord_scene(dc)
        before = await discord_state(kefu, dc, bob.channel_id)
        bob.mark()
        await dc.submit_modal(dc.bob, "kefu-form:../../etc", {"account_id": SQL}, menu)  # type: ignore[attr-defined]
        reply = await bob.sees(STALE)
        await quiet(kefu)
        assert HUMAN in buttons(reply)
        unchanged(before, await discord_state(kefu, dc, bob.channel_id))


async def test_mentions_and_markdown_relayed_into_the_thread_stay_text(
    dc: FakeDiscord, dc_config: Config
) -> None:
    async with discord_kefu(dc, dc_config) as kefu:
        alice, _, mods, _ = await discord_scene(dc)
        role = f"<@&{dc.mod_role_id}>"
        await alice.says(f"@everyone @here {role} **bold** __u__ `code` [l](https://e.x)")
        relayed = await mods.sees("bold")
        await quiet(kefu)
    assert "\\*\\*bold\\*\\*" in relayed["content"] and "\\`code\\`" in relayed["content"]
    assert dc.mentions_allowed[relayed["id"]] == {"parse": []}
    assert "@everyone" in text_of(relayed)


async def test_a_discord_attachment_named_with_a_path_is_stored_by_its_hash(
    dc: FakeDiscord, dc_config: Config
) -> None:
    image = png(5, 9, (3, 2, 1))
    sha = hashlib.sha256(image).hexdigest()
    data_dir = dc_config.bot.data_dir
    async with discord_kefu(dc, dc_config) as kefu:
        _, _, mods, _ = await discord_scene(dc)
        attached = dc.add_file("shot.png", image, "image/png")
        attached["filename"] = "../../../../etc/passwd.png"  # the name only: the URL stays
        await dc.user_says(dc.alice, "see this", [attached])  # type: ignore[attr-defined]
        mirrored = await mods.sees("see this")
        await quiet(kefu)
    assert files_under(data_dir / "files") == [Path(sha[:2], f"{sha}.png")]
    assert [dc.fetch(a["url"]) for a in mirrored["attachments"]] == [image]
    assert all(".." not in a["filename"] for a in mirrored["attachments"])
