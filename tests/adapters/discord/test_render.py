"""Reply → Discord payloads, checked on discord.py's own to_dict() against stored goldens."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from adapters.discord import render
from adapters.discord.views import KefuButton, custom_id_for
from bot.actions import Verb, act
from bot.types import Button, ModalField, ModalSpec, OutFile, Reply

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
            (Button("认领 Claim", act(Verb.CLAIM, 12)), Button("关闭", act(Verb.MOD_CLOSE, 12))),
        ),
        files=(OutFile("/tmp/a.png", "shot.png", "image/png"),),
        title="#12 账号被封禁/限制",
    )
    golden("render_card.json", dump(render.render(reply, mention="<@&900000000000000002>")))


def test_menu_with_modal_button_golden() -> None:
    row = tuple(Button(f"分类 {i}", act(Verb.MENU, f"cat{i}", owner="1a2b3c4d")) for i in range(7))
    form = Button("填写申诉表", act(Verb.FORM, "account/banned", owner="1a2b3c4d"), BAN_FORM)
    parts = render.render(Reply("选择问题类型：", buttons=(row, (form,))))
    golden("render_menu.json", dump(parts))
    assert parts[-1].modals == {form.data: BAN_FORM}


def test_modal_golden() -> None:
    golden("render_modal.json", render.build_modal(BAN_FORM).to_dict())


def test_panel_golden() -> None:
    golden("render_panel.json", render.panel_view().to_components())


def test_markdown_is_escaped() -> None:
    (part,) = render.render(Reply("*hi* _there_ `code` ~~x~~\n> quote https://a.example/x_y"))
    assert (
        part.content
        == r"\*hi\* \_there\_ \`code\` \~\~x\~\~" + "\n" + r"\> quote https://a.example/x_y"
    )


def test_long_text_is_split_at_2000_characters() -> None:
    text = "\n".join(f"第{i}行 " + "很长的内容" * 20 for i in range(60))
    parts = render.render(Reply(text, buttons=((Button("OK", act(Verb.SOLVED, "a")),),)))
    assert len(parts) >= 3
    assert all(p.content is not None and len(p.content) <= 2000 for p in parts)
    assert "\n".join(p.content or "" for p in parts) == text
    assert [p.view is not None for p in parts] == [False] * (len(parts) - 1) + [True]


def test_long_article_is_split_into_embeds_of_4096() -> None:
    text = "word " * 2000
    parts = render.render(Reply(text, title="Article"))
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
    rows = tuple((Button(f"b{i}", act(Verb.MENU, f"c{i}")),) for i in range(10))
    assert _layout(render.render(Reply("menu", buttons=rows))) == [[5, 4, 1]]


def test_more_than_25_buttons_go_to_another_message() -> None:
    rows = tuple((Button(f"b{i}", act(Verb.MENU, f"c{i}")),) for i in range(27))
    parts = render.render(Reply("menu", buttons=rows))
    assert _layout(parts) == [[5, 5, 5, 5, 5], [2]]
    assert parts[1].content == render.EMPTY


def test_more_than_ten_files_take_two_messages() -> None:
    files = tuple(OutFile(f"/x/{i}.png", f"{i}.png", "image/png") for i in range(12))
    parts = render.render(Reply("screens", files=files))
    assert [len(p.files) for p in parts] == [10, 2]


def test_long_labels_are_cut_to_80() -> None:
    (part,) = render.render(Reply("x", buttons=((Button("长" * 100, act(Verb.HUMAN)),),)))
    assert part.view is not None
    label = part.view.to_components()[0]["components"][0]["label"]
    assert len(label) == 80 and label.endswith("…")


def test_a_form_that_does_not_fit_a_modal_is_refused() -> None:
    fields = tuple(ModalField(f"f{i}", f"Q{i}") for i in range(6))
    with pytest.raises(ValueError, match="does not fit"):
        render.build_modal(ModalSpec("long", "Long form", fields))
    parts = render.render(
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
