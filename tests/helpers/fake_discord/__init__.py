"""A fake Discord on loopback for tests (see server.py): start it with `running_fake_discord()`.

The modules, by what they hold: `server` (FakeDiscord: ids and people, lifecycle, the gateway,
stored messages; pointing discord.py at it), `rest` (the REST routes and their handlers, faults,
request bodies), `inject` (what tests make happen), `payloads` (Discord's objects, component
readers) and `limits` (what Discord refuses).
"""

from tests.helpers.fake_discord.limits import message_problems, modal_problems, payload_problems
from tests.helpers.fake_discord.payloads import (
    NOW,
    attachment_payload,
    buttons,
    find_button,
    find_option,
    message_payload,
    options,
    selects,
    user_payload,
)
from tests.helpers.fake_discord.rest import API, Fault, Interaction, error, json_response
from tests.helpers.fake_discord.server import (
    DISCORD_EPOCH_MS,
    FakeDiscord,
    point_discord_py_at,
    restore_discord_py,
    running_fake_discord,
)

__all__ = [
    "API",
    "DISCORD_EPOCH_MS",
    "NOW",
    "FakeDiscord",
    "Fault",
    "Interaction",
    "attachment_payload",
    "buttons",
    "error",
    "find_button",
    "find_option",
    "json_response",
    "message_payload",
    "message_problems",
    "modal_problems",
    "options",
    "payload_problems",
    "point_discord_py_at",
    "restore_discord_py",
    "running_fake_discord",
    "selects",
    "user_payload",
]
