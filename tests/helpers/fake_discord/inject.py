"""What tests make happen on the fake Discord: messages, button presses, menu choices, slash
commands and modal submissions, each dispatched over the gateway as Discord sends it."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from tests.helpers.fake_discord.payloads import find_button, find_option, message_payload
from tests.helpers.fake_discord.rest import Interaction


class Injection:
    """The injecting half of FakeDiscord (its state is made in FakeDiscord.__init__)."""

    app_id: int
    guild_id: int
    locale: str
    channels: dict[int, dict[str, Any]]
    messages: dict[int, list[dict[str, Any]]]
    commands: dict[str, list[dict[str, Any]]]
    interactions: dict[int, Interaction]
    _counter: itertools.count[int]
    snowflake: Callable[[], int]
    member: Callable[[int], dict[str, Any]]
    dm_channel: Callable[[int], int]
    dispatch: Callable[[str, dict[str, Any]], Awaitable[None]]

    async def user_says(
        self, user: dict[str, Any], content: str, files: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """A user's DM to the bot."""
        cid = self.dm_channel(int(user["id"]))
        message = message_payload(self.snowflake(), cid, user, content, attachments=files or [])
        self.messages.setdefault(cid, []).append(message)
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    async def member_says(
        self, user: dict[str, Any], channel_id: int, content: str,
        files: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A member's message in a guild channel or thread."""
        member = self.member(int(user["id"]))
        member = {k: v for k, v in member.items() if k != "user"}
        message = message_payload(self.snowflake(), channel_id, user, content,
                                  guild_id=self.guild_id, member=member,
                                  attachments=files or [])  # fmt: skip
        self.messages.setdefault(channel_id, []).append(message)
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    def _interaction(
        self, user: dict[str, Any], kind: int, data: dict[str, Any], channel_id: int,
        message: dict[str, Any] | None = None,
    ) -> tuple[Interaction, dict[str, Any]]:  # fmt: skip
        iid = self.snowflake()
        record = Interaction(iid, f"tok-{iid}", channel_id)
        self.interactions[iid] = record
        channel = self.channels[channel_id]
        payload: dict[str, Any] = {
            "id": str(iid), "application_id": str(self.app_id), "type": kind, "data": data,
            "channel_id": str(channel_id), "channel": channel, "token": record.token,
            "version": 1, "locale": self.locale, "app_permissions": "2251799813685247",
            "entitlements": [], "attachment_size_limit": 10485760,
        }  # fmt: skip
        if channel["type"] == 1:
            payload.update(user=user, context=1)
            payload["authorizing_integration_owners"] = {"0": str(self.guild_id)}
        else:
            payload.update(guild_id=str(self.guild_id), member=self.member(int(user["id"])))
            payload.update(guild_locale="en-US", context=0)
            payload["authorizing_integration_owners"] = {"0": str(self.guild_id)}
        if message is not None:
            payload["message"] = message
        return record, payload

    async def press(
        self, user: dict[str, Any], message: dict[str, Any], label: str
    ) -> Interaction:
        """Press the button labelled `label` (a prefix is enough) on a message."""
        button = find_button(message, label)
        data = {"custom_id": button["custom_id"], "component_type": 2}
        record, payload = self._interaction(user, 3, data, int(message["channel_id"]), message)
        await self.dispatch("INTERACTION_CREATE", payload)
        return record

    async def choose(
        self, user: dict[str, Any], message: dict[str, Any], label: str
    ) -> Interaction:
        """Choose the option labelled `label` (a prefix is enough) in a select menu."""
        select, option = find_option(message, label)
        return await self.select(user, message, select["custom_id"], [option["value"]])

    async def select(
        self, user: dict[str, Any], message: dict[str, Any], custom_id: str, values: list[str]
    ) -> Interaction:
        """A string select interaction (component_type 3) carrying `values`, as Discord sends
        it: no `resolved` for a string select."""
        data = {"custom_id": custom_id, "component_type": 3, "values": list(values)}
        record, payload = self._interaction(user, 3, data, int(message["channel_id"]), message)
        await self.dispatch("INTERACTION_CREATE", payload)
        return record

    async def slash(
        self, user: dict[str, Any], name: str, channel_id: int, **options: str
    ) -> Interaction:
        """Run a synced slash command in a channel."""
        key, command = self._command(name)
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1,
                                "options": [{"name": k, "type": 3, "value": v}
                                            for k, v in options.items()]}  # fmt: skip
        if key != "global":
            data["guild_id"] = key
        record, payload = self._interaction(user, 2, data, channel_id)
        await self.dispatch("INTERACTION_CREATE", payload)
        return record

    def _command(self, name: str) -> tuple[str, dict[str, Any]]:
        for key, commands in self.commands.items():
            for command in commands:
                if command["name"] == name:
                    return key, command
        raise AssertionError(f"/{name} was never synced")

    async def submit_modal(
        self,
        user: dict[str, Any],
        custom_id: str,
        values: dict[str, str],
        message: dict[str, Any],
        files: dict[str, list[dict[str, Any]]] | None = None,
    ) -> Interaction:
        """A modal submission as Discord sends it: text inputs and file uploads (type 19, the
        attachment ids in `values`) wrapped in labels, the attachments in `resolved`."""
        inputs: list[dict[str, Any]] = [
            {"type": 4, "custom_id": k, "value": v} for k, v in values.items()
        ]
        resolved: dict[str, Any] = {}
        for key, attached in (files or {}).items():
            inputs.append({"type": 19, "custom_id": key, "values": [a["id"] for a in attached]})
            resolved.update({a["id"]: {**a, "ephemeral": True} for a in attached})
        rows = [
            {"type": 18, "id": 2 * i + 1, "component": {**item, "id": 2 * i + 2}}
            for i, item in enumerate(inputs)
        ]
        data: dict[str, Any] = {"custom_id": custom_id, "components": rows}
        if resolved:
            data["resolved"] = {"attachments": resolved}
        new, payload = self._interaction(user, 5, data, int(message["channel_id"]), message)
        await self.dispatch("INTERACTION_CREATE", payload)
        return new
