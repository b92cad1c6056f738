"""Secrets never reach logs, tickets or moderators: error texts are scrubbed before use."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Token shapes: Telegram "123456:ABC-…", Discord "<id>.<time>.<hmac>" (base64url parts).
_SHAPES = re.compile(
    r"\b\d{3,}:[A-Za-z0-9_-]{4,}\b|[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}"
)
MASK = "[redacted]"


class Redactor:
    """Replaces configured secrets and anything shaped like a bot token."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """`text` without secrets."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _SHAPES.sub(MASK, text)
