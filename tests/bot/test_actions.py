"""Button actions: pack/unpack round trips, the 64-byte guard, forged payloads refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.actions import MAX_BYTES, Action, ActionError, Verb, act, owner_tag, unpack
from tests.helpers.fakes import shared_knowledge

OWNER = owner_tag("telegram:123456789")
ARG = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-./", max_size=12)


def test_a_packed_action_unpacks_to_itself() -> None:
    action = Action(Verb.RATE, ("12", "5"), OWNER)
    assert unpack(action.pack()) == action


def test_act_packs_ints_as_text_and_binds_the_owner() -> None:
    data = act(Verb.RATE, 12, 5, owner=OWNER)
    assert data == f"kefu:r:{OWNER}:12:5"
    assert unpack(data).arg(1) == "5"
    assert unpack(data).arg(2, "none") == "none"


def test_an_action_without_owner_is_for_anyone() -> None:
    assert unpack(act(Verb.CLAIM, 3)).owner == ""


@given(verb=st.sampled_from(list(Verb)), args=st.lists(ARG, max_size=3))
def test_every_verb_round_trips(verb: Verb, args: list[str]) -> None:
    action = Action(verb, tuple(args), OWNER)
    try:
        data = action.pack()
    except ActionError:
        assert len(":".join(["kefu", verb.value, OWNER, *args]).encode()) > MAX_BYTES
        return
    assert len(data.encode()) <= MAX_BYTES
    assert unpack(data) == action


def test_owner_tag_is_short_stable_hex() -> None:
    assert owner_tag("fake:alice") == owner_tag("fake:alice")
    assert owner_tag("fake:alice") != owner_tag("fake:bob")
    assert len(owner_tag("discord:1234567890123456789")) == 8
    int(owner_tag("x"), 16)


def test_packing_refuses_more_than_64_bytes() -> None:
    with pytest.raises(ActionError, match="64 bytes"):
        act(Verb.ARTICLE, "a" * 48, "b" * 20, owner=OWNER)


@pytest.mark.parametrize("arg", ["封号", "a:b", "a b", "x" * 49, "<script>", "a\nb"])
def test_packing_refuses_arguments_that_could_not_be_read_back(arg: str) -> None:
    with pytest.raises(ActionError):
        act(Verb.MENU, arg)


@pytest.mark.parametrize(
    "data",
    [
        "",
        "kefu",
        "kefu:m",
        "other:m::x",
        "KEFU:m::",
        "kefu:zz::",
        "kefu:m:NOTHEX00:",
        "kefu:m:abc:",
        "kefu:m:0123456789:",
        "kefu:m::a b",
        "kefu:m::封号",
        "kefu:r::1:" + "9" * 60,
        "kefu:m::" + "a" * 49,
        "kefu:m::\x00",
        "' OR 1=1 --",
        '{"verb": "mc"}',
    ],
)
def test_forged_or_malformed_payloads_are_refused(data: str) -> None:
    with pytest.raises(ActionError):
        unpack(data)


def test_unpack_refuses_what_is_not_text() -> None:
    with pytest.raises(ActionError):
        unpack(b"kefu:m::")  # type: ignore[arg-type]


def test_every_button_the_bundled_content_makes_fits_telegram() -> None:
    """Category, article, form field and choice ids all pack with an owner tag."""
    kb, _ = shared_knowledge()
    for cid in kb.categories:
        for verb in (Verb.MENU, Verb.BACK, Verb.FORM):
            assert len(act(verb, cid, owner=OWNER).encode()) <= MAX_BYTES
    for article in kb.articles:
        for verb in (Verb.ARTICLE, Verb.SOLVED, Verb.UNSOLVED):
            act(verb, article.id, owner=OWNER)
    for form in kb.forms.values():
        for field in form.fields:
            for verb in (Verb.SKIP, Verb.DONE_IMAGES, Verb.EDIT):
                act(verb, field.id, owner=OWNER)
            for choice in field.choices:
                act(Verb.CHOICE, field.id, choice.id, owner=OWNER)
    act(Verb.RATE, 10**9, 5, owner=OWNER)
    act(Verb.MOD_REOPEN, 10**12)
