"""Injected failures: error answers, dropped connections, silences, and requests held at a gate.

`fail(method, kind, ...)` queues faults for a method (optionally for one chat, after some calls
still succeed); `hold(method)` parks its requests unanswered until `release(method)`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.helpers.fake_telegram.state import Call
from tests.helpers.fake_telegram.wire import ApiError, answer

ACTS_FIRST = frozenset({"drop_after", "timeout_after"})  # faults that strike after acting
SILENT_FOR = 5.5  # seconds a "timeout" leaves a request unanswered: past PTB's 5 s read timeout


@dataclass
class Fault:
    """An injected failure: "429", "500", "502", "400", "403", "drop" (the connection closes
    before the method acts), "drop_after" (the method acts, then the connection closes),
    "timeout" (no answer until the client gives up; the method does not act) or
    "timeout_after" (the method acts, then no answer until the client gives up)."""

    kind: str
    retry_after: int = 1
    description: str = ""
    after: int = 0  # calls that still succeed before this fault strikes
    chat_id: int | None = None  # strike only calls to this chat


class FaultInjection:
    """The fault and gate half of FakeTelegram (its state is made in FakeTelegram.__init__)."""

    faults: dict[str, deque[Fault]]
    held: list[Call]  # requests waiting at a hold() gate
    _holds: dict[str, asyncio.Event]
    _hold_acts: dict[str, bool]
    _notify: Callable[[], None]

    def fail(
        self,
        method: str,
        kind: str = "429",
        times: int = 1,
        retry_after: int = 1,
        description: str = "",
        after: int = 0,
        chat_id: int | None = None,
    ) -> None:
        """The `times` calls of `method` (to `chat_id`, if given) after the next `after` ones
        fail (see Fault for the kinds)."""
        queue = self.faults.setdefault(method.lower(), deque())
        queue.extend(Fault(kind, retry_after, description, 0, chat_id) for _ in range(times))
        if times and after:
            queue[-times].after = after

    def hold(self, method: str) -> None:
        """Requests to `method` from now on wait (unanswered, not acted on) until release()."""
        self._holds[method.lower()] = asyncio.Event()

    def release(self, method: str, *, act: bool = True) -> None:
        """Let held requests go on (act=True), or drop their connections unanswered (False)."""
        gate = self._holds.pop(method.lower(), None)
        self._hold_acts[method.lower()] = act
        if gate is not None:
            gate.set()

    async def _gate(self, request: web.Request, call: Call) -> web.StreamResponse | None:
        """Wait at a hold() gate, if there is one; a dropped connection if released unacted."""
        gate = self._holds.get(call.method.lower())
        if gate is None:
            return None
        self.held.append(call)
        self._notify()
        await gate.wait()
        self.held.remove(call)
        if not self._hold_acts.get(call.method.lower(), True):
            return self._fault(request, Fault("drop"))
        return None

    async def _strike(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """Answer with the fault; a timeout first leaves the client waiting past its limit."""
        if fault.kind.startswith("timeout"):
            await asyncio.sleep(SILENT_FOR)
        return self._fault(request, fault)

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        queue = self.faults.get(method.lower(), deque())
        chat = str(params.get("chat_id", ""))
        fault = next((f for f in queue if f.chat_id is None or str(f.chat_id) == chat), None)
        if fault is None:
            return None
        if fault.after > 0:
            fault.after -= 1
            return None
        queue.remove(fault)
        return fault

    def _fault(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        self._notify()
        if fault.kind.startswith(("drop", "timeout")):
            if request.transport is not None:
                request.transport.close()
            return web.Response()
        if fault.kind == "429":
            desc = f"Too Many Requests: retry after {fault.retry_after}"
            return answer(ApiError(429, desc, {"retry_after": fault.retry_after}))
        if fault.kind == "502":
            page = "<html><head><title>502 Bad Gateway</title></head></html>"
            return web.Response(status=502, text=page, content_type="text/html")
        code = int(fault.kind)
        default = {400: "Bad Request: injected", 403: "Forbidden: injected"}
        return answer(
            ApiError(code, fault.description or default.get(code, "Internal Server Error"))
        )
