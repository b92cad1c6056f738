"""A small webhook receiver on asyncio streams (no tornado, no extra dependency).

It serves one path, answers 403 to a request without the right X-Telegram-Bot-Api-Secret-Token,
and answers 200 only after the update was handed over, so Telegram retries what was not. TLS is
the reverse proxy's job: Telegram only calls HTTPS URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_BODY = 1024 * 1024  # an update is a few KB; refuse anything absurd
IDLE_TIMEOUT = 75.0  # seconds a kept-alive connection may stay silent
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 411: "Length Required", 413: "Payload Too Large",
            500: "Internal Server Error"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        """Whether the client wants the connection kept open (HTTP/1.1 default)."""
        return self.headers.get("connection", "").lower() != "close"


class BadHttp(Exception):
    """A request this server will not parse; carries the status to answer."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one request; None when the client closed the connection between requests."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise BadHttp(400) from exc
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise BadHttp(400)
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise BadHttp(411)
    length = int(headers.get("content-length") or 0)
    if length > MAX_BODY:
        raise BadHttp(413)
    body = await reader.readexactly(length) if length else b""
    return Request(parts[0].upper(), parts[1].split("?", 1)[0], headers, body)


def response(status: int, body: bytes = b"", keep_alive: bool = True) -> bytes:
    """An HTTP/1.1 response."""
    reason = _REASONS.get(status, "Error")
    lines = [
        f"HTTP/1.1 {status} {reason}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class WebhookServer:
    """Receives Telegram's webhook POSTs on listen:port/path and passes each update on."""

    def __init__(
        self,
        listen: str,
        port: int,
        path: str,
        secret: str,
        handle: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        self._listen, self._port, self._path = listen, port, path or "/"
        self._secret = secret.encode()
        self._handle = handle
        self._server: asyncio.Server | None = None
        self._idle: set[asyncio.StreamReader] = set()  # kept-alive connections between requests

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> WebhookServer:
        self._server = await asyncio.start_server(self._serve, self._listen, self._port)
        log.info("webhook receiver listening on %s:%d%s", self._listen, self.port, self._path)
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            # Telegram keeps connections open between posts: end those now (their handlers
            # see end of input) instead of leaving them to be cancelled at shutdown.
            for reader in self._idle:
                reader.feed_eof()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                self._idle.add(reader)
                try:
                    request = await read_request(reader)
                except BadHttp as exc:
                    writer.write(response(exc.status, keep_alive=False))
                    break
                finally:
                    self._idle.discard(reader)
                if request is None:
                    break
                status = await self._answer(request)
                writer.write(response(status, b"{}" if status == 200 else b"", request.keep_alive))
                await writer.drain()
                if not request.keep_alive:
                    break
        except (ConnectionError, TimeoutError, ValueError, EOFError, asyncio.LimitOverrunError):
            pass  # a client that went away or spoke garbage: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, request: Request) -> int:
        if request.path != self._path:
            return 404
        if request.method != "POST":
            return 405
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook request with a wrong secret token refused")
            return 403
        try:
            update = json.loads(request.body)
        except ValueError:
            return 400
        if not isinstance(update, dict):
            return 400
        try:
            await self._handle(update)
        except Exception:
            log.exception("webhook update not handled; Telegram will deliver it again")
            return 500
        return 200
