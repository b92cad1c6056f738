"""A fake Telegram Bot API server for tests: the real wire format, on loopback only.

Point python-telegram-bot (or a `kefu run` subprocess) at `fake.base_url` and
`fake.base_file_url`. The server keeps the state Telegram keeps (chats, forum topics, members,
messages, files, pending updates with offset confirmation, a webhook) and validates what
Telegram validates (text 1-4,096 characters after entity parsing, caption <= 1,024,
callback_data 1-64 bytes, HTML entities, unknown chat, missing topic, blocked user).
Tests inject updates (`user_says`, `user_sends_photo`, `presses`, ...) and faults (`fail`),
and read what each chat or topic received (`inbox`, `texts`, `photos`, `keyboard`).
Methods the fake does not implement are recorded in `unknown` and answer 404, and requests
it cannot handle in `errors` (answered 500): a fixture asserts both are empty at teardown.

The modules, by what they hold: `wire` (limits, error answers, HTML entities, parameters),
`state` (people, chats, the bot's messages, requests), `methods` (the Bot API methods),
`updates` (what tests inject and read), `faults` (injected failures and held requests),
`flood` (Telegram's flood limits, enforced once a test sets them) and `server` (the HTTP app,
the file server, webhook delivery: FakeTelegram itself).
"""

from tests.helpers.fake_telegram.faults import ACTS_FIRST, SILENT_FOR, Fault
from tests.helpers.fake_telegram.flood import FloodControl, Limit, Refusal
from tests.helpers.fake_telegram.server import (
    BOT_USERNAME,
    MODERATOR_CHAT_ID,
    TOKEN,
    FakeTelegram,
)
from tests.helpers.fake_telegram.state import Call, Chat, FakeUser, Sent
from tests.helpers.fake_telegram.updates import ANY
from tests.helpers.fake_telegram.wire import (
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    DOWNLOAD_LIMIT,
    TEXT_LIMIT,
    TOPIC_NAME_LIMIT,
    ApiError,
    bad,
    parse_html,
    png_bytes,
    utf16_len,
)

__all__ = [
    "ACTS_FIRST",
    "ANY",
    "BOT_USERNAME",
    "CALLBACK_DATA_LIMIT",
    "CAPTION_LIMIT",
    "DOWNLOAD_LIMIT",
    "MODERATOR_CHAT_ID",
    "SILENT_FOR",
    "TEXT_LIMIT",
    "TOKEN",
    "TOPIC_NAME_LIMIT",
    "ApiError",
    "Call",
    "Chat",
    "FakeTelegram",
    "FakeUser",
    "Fault",
    "FloodControl",
    "Limit",
    "Refusal",
    "Sent",
    "bad",
    "parse_html",
    "png_bytes",
    "utf16_len",
]
