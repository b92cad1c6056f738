"""Persistent components: DynamicItems that decode Kefu's packed actions after any restart.

Every button Kefu sends is a `KefuButton` whose custom_id is the packed action itself. Long lists
of categories or articles are a `KefuSelect` instead: one string select menu whose options carry
the packed actions as their values. Both survive a restart: discord.py matches the custom_id
against the template of a class registered in setup_hook (`client.add_dynamic_items(...)`)
instead of looking for a live View object.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

import discord

MODAL_PREFIX = "kfm:"  # a button whose press opens a modal form first
SELECT_PREFIX = "kfs:"  # a select menu of packed actions; the number keeps custom_ids unique
CUSTOM_ID_MAX = 100  # Discord: a component custom_id holds at most 100 characters
TEMPLATE = re.compile(r"(?P<modal>kfm:)?(?P<data>kefu:[\x21-\x7e]{1,90})")
SELECT_TEMPLATE = re.compile(r"kfs:(?P<index>[0-9]{1,2})")


class ButtonHandler(Protocol):
    """What a pressed KefuButton (or a chosen KefuSelect option) calls: the router."""

    async def on_button(self, interaction: discord.Interaction, data: str, modal: bool) -> None:
        """Handle a press of a button that carries packed action `data`."""
        ...


def custom_id_for(data: str, *, modal: bool = False) -> str:
    """The custom_id of a button carrying `data`; raises ValueError beyond Discord's limit."""
    custom_id = (MODAL_PREFIX if modal else "") + data
    if len(custom_id) > CUSTOM_ID_MAX or not TEMPLATE.fullmatch(custom_id):
        raise ValueError(f"not a Kefu button payload: {custom_id!r}")
    return custom_id


class KefuButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """A button whose custom_id is a packed Kefu action, decoded on every press."""

    def __init__(
        self,
        data: str,
        *,
        label: str = "",
        modal: bool = False,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        row: int | None = None,
    ) -> None:
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=label or None, style=style, custom_id=custom_id_for(data, modal=modal)
        )
        super().__init__(button, row=row)
        self.data = data
        self.modal = modal

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> KefuButton:
        """Rebuild the button from a pressed custom_id (called by discord.py on dispatch)."""
        label = getattr(item, "label", None) or ""
        return cls(match["data"], label=label, modal=bool(match["modal"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Hand the press to the adapter, which acknowledges it within Discord's 3 seconds."""
        handler: ButtonHandler | None = getattr(interaction.client, "kefu_buttons", None)
        if handler is not None:
            await handler.on_button(interaction, self.data, self.modal)


class KefuSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=SELECT_TEMPLATE):
    """A string select menu whose option values are packed Kefu actions.

    Choosing an option is pressing the button it stands for: the value goes to the router's
    `on_button`, and from there to the core, which unpacks it and checks its owner. The value
    is client data; one that the message did not offer is passed on as "" (a stale button).
    """

    def __init__(
        self,
        options: Sequence[discord.SelectOption],
        *,
        index: int,
        placeholder: str | None = None,
        row: int | None = None,
    ) -> None:
        select: discord.ui.Select[Any] = discord.ui.Select(
            custom_id=f"{SELECT_PREFIX}{index}",
            placeholder=placeholder,
            min_values=1,
            max_values=1,
            options=list(options),
        )
        super().__init__(select, row=row)
        self.index = index

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> KefuSelect:
        """Rebuild the menu, with the options the message offered, from a chosen custom_id."""
        options = list(getattr(item, "options", None) or [])
        placeholder = getattr(item, "placeholder", None)
        return cls(options, index=int(match["index"]), placeholder=placeholder)

    def chosen(self) -> str:
        """The packed action chosen, or "" unless exactly one offered option was chosen."""
        values = [str(v) for v in self.item.values]
        offered = {option.value for option in self.item.options}
        return values[0] if len(values) == 1 and values[0] in offered else ""

    async def callback(self, interaction: discord.Interaction) -> None:
        """Hand the choice to the adapter exactly as a press of the button it replaces."""
        handler: ButtonHandler | None = getattr(interaction.client, "kefu_buttons", None)
        if handler is not None:
            await handler.on_button(interaction, self.chosen(), False)
