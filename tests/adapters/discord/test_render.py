"""Reply → Discord payloads, checked on discord.py's own to_dict() against stored goldens."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from adapters.discord import render
from adapters.discord.views import KefuButton, KefuSelect, custom_id_for
from bot.actions import Verb, act
from bot.texts import Texts
from bot.types import Button, Look, ModalField, ModalSpec, OutFile, Reply
from tests.adapters.discord.conftest import upload_field

PAYLOADS = Path(__file__).parent / "payloads"
BAN_FORM = ModalSpec(
    "ban-appeal",
    "账号申诉 · Appeal a suspension",
    (
        ModalField("account_id", "账号 ID", placeholder="Lumen 号，在「我的」页面顶部"),
        ModalField("why", "你为什么认为这是误判？" * 4, long=True, max_length=1000),
        ModalField("when", "When did it happen?", required=False, max_length=10_000),
    ),
)


WORDS = render.Words.of(Texts())


def rendered(reply: Reply, **options: Any) -> list[render.Part]:
    """The reply as Discord messages, with the catalogs' words."""
    return render.render(reply, WORDS, **options)


def golden(name: str, actual: Any) -> None:
    """Compare with a stored golden; KEFU_UPDATE_GOLDENS=1 rewrites it."""
    path = PAYLOADS / name
    if os.environ.get("KEFU_UPDATE_GOLDENS"):
        path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", "utf-8")
    assert actual == json.loads(path.read_text(encoding="utf-8"))


def dump(parts: list[render.Part]) -> list[dict[str, Any]]:
    """What would be sent: content, embed and components of each part, and file names."""
    return [
        {
            "content": p.content,
            "embed": p.embed.to_dict() if p.embed else None,
            "components": p.view.to_components() if p.view else [],
            "files": [f.name for f in p.files],
        }
        for p in parts
    ]


def test_ticket_card_golden() -> None:
    reply = Reply(
        "账号 ID: lumen_42\n原因: *误判*",
        buttons=(
            (
                Button("认领 Claim", act(Verb.CLAIM, 12), look=Look.POSITIVE),
                Button("关闭", act(Verb.MOD_CLOSE, 12), look=Look.DANGER),
            ),
        ),
        files=(OutFile("/tmp/a.png", "shot.png", "image/png"),),
        title="#12 账号被封禁/限制",
    )
    golden("render_card.json", dump(rendered(reply, mention="<@&900000000000000002>")))


def test_menu_with_modal_button_golden() -> None:
    row = tuple(
        Button(f"分类 {i}", act(Verb.MENU, f"cat{i}", owner="1a2b3c4d"), look=Look.TOPIC)
        for i in range(7)
    )
    form = Button("填写申诉表", act(Verb.FORM, "account/banned", owner="1a2b3c4d"), BAN_FORM)
    parts = rendered(Reply("选择问题类型：", buttons=(row, (form,))))
    golden("render_menu.json", dump(parts))
    assert parts[-1].modals == {form.data: BAN_FORM}


def test_modal_golden() -> None:
    golden("render_modal.json", render.build_modal(BAN_FORM).to_dict())


def test_panel_golden() -> None:
    golden("render_panel.json", render.panel_view(WORDS).to_components())


def test_markdown_is_escaped() -> None:
    (part,) = rendered(Reply("*hi* _there_ `code` ~~x~~\n> quote https://a.example/x_y"))
    assert (
        part.content
        == r"\*hi\* \_there\_ \`code\` \~\~x\~\~" + "\n" + r"\> quote https://a.example/x_y"
    )


def test_long_text_is_split_at_2000_characters() -> None:
    text = "\n".join(f"第{i}行 " + "很长的内容" * 20 for i in range(60))
    parts = rendered(
        Reply(text, buttons=((Button("OK", act(Verb.SOLVED, "a"), look=Look.POSITIVE),),))
    )
    assert len(parts) >= 3
    assert all(p.content is not None and len(p.content) <= 2000 for p in parts)
    assert "\n".join(p.content or "" for p in parts) == text
    assert [p.view is not None for p in parts] == [False] * (len(parts) - 1) + [True]


def test_long_article_is_split_into_embeds_of_4096() -> None:
    text = "word " * 2000
    parts = rendered(Reply(text, title="Article"))
    assert [bool(p.embed and p.embed.title) for p in parts] == [True, False, False]
    assert all(p.embed and len(p.embed.description or "") <= 4096 for p in parts)


def test_split_never_separates_a_backslash_from_what_it_escapes() -> None:
    text = "a" * 1999 + "*b"
    chunks = render.split(render.escape(text), 2000)
    assert all(not c.endswith("\\") or c.endswith("\\\\") for c in chunks)
    assert "".join(chunks) == render.escape(text)


def _layout(parts: list[render.Part]) -> list[list[int]]:
    return [
        [len(r["components"]) for r in p.view.to_components()] if p.view else [] for p in parts
    ]


def test_more_than_five_rows_are_packed_keeping_the_last_row_apart() -> None:
    rows = tuple((Button(f"b{i}", act(Verb.CHOICE, "f", f"c{i}")),) for i in range(10))
    assert _layout(rendered(Reply("menu", buttons=rows))) == [[5, 4, 1]]


def test_more_than_25_buttons_go_to_another_message() -> None:
    # choices of a form question are answers, not navigation: they stay buttons
    rows = tuple((Button(f"b{i}", act(Verb.CHOICE, "f", f"c{i}")),) for i in range(27))
    parts = rendered(Reply("menu", buttons=rows))
    assert _layout(parts) == [[5, 5, 5, 5, 5], [2]]
    assert parts[1].content == render.EMPTY


def test_more_than_ten_files_take_two_messages() -> None:
    files = tuple(OutFile(f"/x/{i}.png", f"{i}.png", "image/png") for i in range(12))
    parts = rendered(Reply("screens", files=files))
    assert [len(p.files) for p in parts] == [10, 2]


def test_long_labels_are_cut_to_80() -> None:
    (part,) = rendered(
        Reply("x", buttons=((Button("长" * 100, act(Verb.HUMAN), look=Look.PRIMARY),),))
    )
    assert part.view is not None
    label = part.view.to_components()[0]["components"][0]["label"]
    assert len(label) == 80 and label.endswith("…")


def test_a_form_that_does_not_fit_a_modal_is_refused() -> None:
    fields = tuple(ModalField(f"f{i}", f"Q{i}") for i in range(6))
    with pytest.raises(ValueError, match="does not fit"):
        render.build_modal(ModalSpec("long", "Long form", fields))
    parts = rendered(
        Reply(
            "x", buttons=((Button("Form", act(Verb.FORM, "x"), ModalSpec("long", "L", fields)),),)
        )
    )
    assert parts[0].modals == {}  # the press then goes to the core as a plain button


def test_custom_ids_fit_discord_and_decode() -> None:
    data = act(Verb.RATE, 123456, 5, owner="1a2b3c4d")
    assert custom_id_for(data, modal=True) == "kfm:" + data
    match = KefuButton.__discord_ui_compiled_template__.fullmatch("kfm:" + data)
    assert match is not None and match["data"] == data and match["modal"]
    with pytest.raises(ValueError):
        custom_id_for("not-kefu")


# -- long lists as select menus ---------------------------------------------------------------

OWNER = "1a2b3c4d"
ACCOUNT_TOPICS = (
    "账号被封禁/限制",
    "被禁言，不能评论/私信",
    "账号被盗/异常登录",
    "登录不上/收不到验证码",
    "忘记密码",
    "换绑手机号",
    "实名认证",
    "资料修改",
)


def _articles(count: int) -> tuple[tuple[Button, ...], ...]:
    return tuple(
        (Button(f"文章 {i}", act(Verb.ARTICLE, f"a{i}", owner=OWNER), look=Look.ARTICLE),)
        for i in range(count)
    )


def _kinds(part: render.Part) -> list[list[int]]:
    """The component types of each action row (2 button, 3 select)."""
    assert part.view is not None
    return [[c["type"] for c in row["components"]] for row in part.view.to_components()]


def _human(label: str = "人工客服") -> tuple[Button, ...]:
    return (Button(label, act(Verb.HUMAN, owner=OWNER), look=Look.PRIMARY),)


def test_a_long_category_menu_is_a_select_golden() -> None:
    cats = [
        Button(t, act(Verb.MENU, f"account/t{i}", owner=OWNER), look=Look.TOPIC)
        for i, t in enumerate(ACCOUNT_TOPICS)
    ]
    rows = tuple(tuple(cats[i : i + 2]) for i in range(0, len(cats), 2))
    back = (
        Button("返回", act(Verb.BACK, "account", owner=OWNER)),
        Button("菜单", act(Verb.MENU, owner=OWNER)),
    )
    parts = rendered(Reply("账号问题：请选择", buttons=(*rows, back, _human())))
    golden("render_menu_select.json", dump(parts))
    (part,) = parts
    assert _kinds(part) == [[3], [2, 2], [2]]


def test_a_person_back_menu_and_forms_stay_buttons() -> None:
    form = Button("填写申诉表", act(Verb.FORM, "account/banned", owner=OWNER), BAN_FORM)
    back = (
        Button("返回", act(Verb.BACK, "account", owner=OWNER)),
        Button("菜单", act(Verb.MENU, owner=OWNER)),
    )
    (part,) = rendered(Reply("x", buttons=(*_articles(12), (form,), back, _human())))
    assert _kinds(part) == [[3], [2], [2, 2], [2]]
    assert part.view is not None
    select = part.view.to_components()[0]["components"][0]
    assert [o["value"] for o in select["options"]] == [
        act(Verb.ARTICLE, f"a{i}", owner=OWNER) for i in range(12)
    ]
    assert select["placeholder"] == WORDS.pick_article
    labels = [c.get("label") for row in part.view.to_components()[1:] for c in row["components"]]
    assert labels == ["填写申诉表", "返回", "菜单", "人工客服"]
    assert part.modals == {form.data: BAN_FORM}  # the form still opens its modal


@pytest.mark.parametrize("count", [2, 3])
def test_a_short_list_stays_buttons(count: int) -> None:
    back = (Button("Back", act(Verb.BACK, "x")), Button("Menu", act(Verb.MENU)))
    (part,) = rendered(Reply("x", buttons=(*_articles(count), back, _human())))
    assert all(kinds == [2] * len(kinds) for kinds in _kinds(part))


def test_more_than_25_entries_take_several_selects() -> None:
    (part,) = rendered(Reply("x", buttons=(*_articles(30), _human())))
    assert _kinds(part) == [[3], [3], [2]]
    assert part.view is not None
    first, second = (row["components"][0] for row in part.view.to_components()[:2])
    assert (len(first["options"]), len(second["options"])) == (25, 5)
    assert first["placeholder"].endswith("(1–25)") and second["placeholder"].endswith("(26–30)")
    assert first["custom_id"] != second["custom_id"]


def test_a_list_too_long_for_one_message_keeps_a_person_in_the_last() -> None:
    parts = rendered(Reply("x", buttons=(*_articles(110), _human())))
    assert [_kinds(p) for p in parts] == [[[3]] * 5, [[2]]]
    assert parts[1].content == render.EMPTY


def test_option_labels_are_cut_to_100_and_each_action_is_listed_once() -> None:
    long = Button("长" * 120, act(Verb.ARTICLE, "long"), look=Look.ARTICLE)
    rows = (*_articles(11), (long,), (long,), _human())
    (part,) = rendered(Reply("x", buttons=rows))
    assert part.view is not None
    select = part.view.to_components()[0]["components"][0]
    assert len(select["options"]) == 12
    label = select["options"][-1]["label"]
    assert len(label) == 100 and label.endswith("…")


def test_mixed_categories_and_articles_share_one_select() -> None:
    cats = tuple((Button(f"c{i}", act(Verb.MENU, f"c{i}"), look=Look.TOPIC),) for i in range(4))
    (part,) = rendered(Reply("x", buttons=(*cats, *_articles(2), _human())))
    assert part.view is not None
    select = part.view.to_components()[0]["components"][0]
    assert select["placeholder"] == WORDS.pick_any and len(select["options"]) == 6


def test_select_custom_ids_match_the_persistent_template() -> None:
    (part,) = rendered(Reply("x", buttons=(*_articles(30), _human())))
    assert part.view is not None
    ids = [row["components"][0]["custom_id"] for row in part.view.to_components()[:2]]
    assert ids == ["kfs:0", "kfs:1"]
    assert all(KefuSelect.__discord_ui_compiled_template__.fullmatch(i) for i in ids)
    assert not KefuButton.__discord_ui_compiled_template__.fullmatch(ids[0])


# -- screenshots inside the modal --------------------------------------------------------------

UPLOAD_FORM = ModalSpec(
    "order-problem",
    "订单问题 · Order problem",
    (
        ModalField("order_no", "订单号", placeholder="我 → 订单 → 订单详情 最下方"),
        ModalField("details", "发生了什么", long=True, max_length=2000),
        upload_field(
            "screenshots", "截图", placeholder="订单详情、物流或聊天记录的截图（最多 5 张）"
        ),
    ),
)


def test_modal_with_a_file_upload_golden() -> None:
    modal = render.build_modal(UPLOAD_FORM).to_dict()
    golden("render_modal_upload.json", modal)
    upload = modal["components"][2]
    assert upload["type"] == 18 and upload["component"]["type"] == 19  # Label(FileUpload)
    assert (upload["component"]["min_values"], upload["component"]["max_values"]) == (0, 5)


def test_a_required_upload_needs_one_file_and_takes_at_most_ten() -> None:
    spec = ModalSpec("f", "F", (upload_field("shots", "Shots", required=True, max_files=12),))
    (upload,) = render.build_modal(spec).to_dict()["components"]
    assert upload["component"] == {
        "type": 19,
        "custom_id": "shots",
        "min_values": 1,
        "max_values": 10,
        "required": True,
    }


def test_a_form_whose_upload_does_not_fit_is_a_plain_button() -> None:
    fields = (*(ModalField(f"f{i}", f"Q{i}") for i in range(5)), upload_field("shots", "Shots"))
    spec = ModalSpec("long", "Long", fields)
    (part,) = rendered(Reply("x", buttons=((Button("Form", act(Verb.FORM, "x"), spec),),)))
    assert part.modals == {}  # the core asks for the screenshots as a message afterwards
