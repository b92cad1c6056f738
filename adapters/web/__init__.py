"""The web desk, reports and /metrics (`kefu web`, or inside `kefu run` with `[web] enabled`).

Needs the `web` extra (Starlette, uvicorn, Jinja2, itsdangerous, argon2-cffi,
prometheus_client, httpx): `make web` or `pip install -e '.[web]'`.
"""

from __future__ import annotations

from adapters.web.adapter import WebDesk
from adapters.web.metrics import PrometheusMetrics
from bot.config import Config
from bot.texts import Texts

__all__ = ["PrometheusMetrics", "WebDesk", "create"]


def create(config: Config, texts: Texts) -> WebDesk:
    """The web desk for this configuration, with its own metrics registry."""
    return WebDesk(config, texts, PrometheusMetrics())
