"""Persistent buttons: one DynamicItem that decodes Kefu's packed actions from the custom_id.

Every button Kefu sends is a `KefuButton`, so a press after a restart still reaches the bot:
discord.py matches the custom_id against the template of a class registered in setup_hook
(`client.add_dynamic_items(KefuButton)`) instead of looking for a live View object.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

import discord

MODAL_PREFIX = "kfm:"  # a button whose press opens a modal form first
CUSTOM_ID_MAX = 100  # Discord: a component custom_id holds at most 100 characters
TEMPLATE = re.compile(r"(?P<modal>kfm:)?(?P<data>kefu:[\x21-\x7e]{1,90})")


class ButtonHandler(Protocol):
    """What a pressed KefuButton calls: the adapter's interaction router."""

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
