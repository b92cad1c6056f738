"""The category menu, the greeting, and the language switch."""

from __future__ import annotations

from bot.actions import Verb
from bot.flows.formbutton import form_button
from bot.flows.turn import Turn
from bot.state import Step
from bot.texts import LANG_NAMES, LANGS
from bot.types import Button, Look, Reply
from knowledge.models import Category

MAX_ARTICLE_BUTTONS = 8
ARTICLE = Look.ARTICLE


def _rows(buttons: list[Button], per_row: int) -> list[tuple[Button, ...]]:
    return [tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def menu_reply(turn: Turn, category_id: str = "", intro: str = "") -> Reply:
    """The menu at a category ("" = top): subcategories, its articles, form, Back, a person."""
    kb = turn.svc.kb
    cat = kb.categories.get(category_id) if category_id else None
    if cat is None:
        children = kb.top_categories()
        text = turn.t("menu_title")
    else:
        children = [kb.categories[c] for c in cat.children if c in kb.categories]
        text = turn.t("menu_sub", category=cat.label(turn.lang))
    buttons = [turn_button(turn, c) for c in children]
    rows = _rows(buttons, 2)
    if cat is not None:
        # A parent lists its subcategories; a leaf (or a parent's own articles) lists articles.
        articles = kb.articles_in(cat.id, turn.lang)
        if cat.children:
            articles = [a for a in articles if a.category == cat.id]
        for article in articles[:MAX_ARTICLE_BUTTONS]:
            rows.append((turn.button_text(article.title, Verb.ARTICLE, article.id, look=ARTICLE),))
        form = form_button(turn, cat.id) if not cat.children else None
        if form is not None:
            rows.append((form,))
        rows.append(
            (turn.button("btn_back", Verb.BACK, cat.id), turn.button("btn_menu", Verb.MENU))
        )
    rows.append((turn.button("btn_human", Verb.HUMAN),))
    body = f"{intro}\n\n{text}" if intro else text
    return Reply(body, buttons=tuple(rows))


def turn_button(turn: Turn, cat: Category) -> Button:
    """A button opening a category."""
    return turn.button_text(cat.label(turn.lang), Verb.MENU, cat.id, look=Look.TOPIC)


def show_menu(turn: Turn, category_id: str = "", intro: str = "") -> None:
    """Move to the menu at a category and show it."""
    if category_id and category_id not in turn.svc.kb.categories:
        category_id = ""
    turn.conv.step = Step.MENU
    turn.clear_data()
    turn.data["category"] = category_id
    turn.say(menu_reply(turn, category_id, intro))


def cancel(turn: Turn) -> None:
    """/cancel, or "取消" typed: a form, or the offer of one, cancelled; else nothing to."""
    if turn.conv.step in (Step.FORM, Step.REVIEW, Step.OFFER, Step.FORGET):
        show_menu(turn, str(turn.data.get("category", "")), turn.t("form_cancelled"))
    else:
        turn.text("nothing_to_cancel", turn.human_row())


def go_back(turn: Turn, category_id: str) -> None:
    """Back from a category to its parent."""
    cat = turn.svc.kb.categories.get(category_id)
    show_menu(turn, cat.parent if cat else "")


def greet(turn: Turn) -> None:
    """The greeting with the top menu."""
    name = turn.svc.config.bot.name
    show_menu(turn, "", turn.t("greeting_named", name=name) if name else turn.t("greeting"))


def ask_lang(turn: Turn) -> None:
    """Offer the languages."""
    rows = (tuple(turn.button_text(LANG_NAMES[lang], Verb.LANG, lang) for lang in LANGS),)
    turn.say(Reply(turn.t("lang_pick"), buttons=(*rows, turn.human_row())))


def switch_lang(turn: Turn, lang: str) -> None:
    """The user's language from now on, in their conversation and their open ticket."""
    turn.conv.lang = lang
    turn.user.lang = lang
    if turn.ticket is not None and turn.ticket.lang != lang:
        turn.ticket.lang = lang
        turn.save(turn.ticket)


async def set_lang(turn: Turn, lang: str) -> None:
    """Switch the user's language (and their open ticket's) and show the menu in it."""
    if lang not in LANGS:
        ask_lang(turn)
        return
    switch_lang(turn, lang)
    show_menu(turn, str(turn.data.get("category", "")), turn.t("lang_set"))
