"""Runs a request again, inside the server, when its transaction certainly left nothing behind.

A deadlock or a serialization failure rolls the whole transaction back, and so does a connection
lost before COMMIT; running the request again is then safe and usually succeeds (the other
transaction has finished, the pool has reconnected). The error handlers mark such a 503 with
`RETRY_MARKER`; this middleware swallows it and replays the request (its body is kept from the
first run), at most `ATTEMPTS` times in all with a short jittered pause. The last 503 goes out
as it is, with its `Retry-After`, and the marker is never sent.
"""

from __future__ import annotations

import asyncio
import random

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.types.empty import Empty
from litestar.utils.scope.state import CONNECTION_STATE_KEY, ScopeState

from backend.lib.errors import RETRY_MARKER

ATTEMPTS = 3
PAUSE_SECONDS = (0.02, 0.1)  # before the second and the third run


class RetryTransientMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received: list[Message] = []

        async def recording_receive() -> Message:
            message = await receive()
            received.append(message)
            return message

        for attempt in range(ATTEMPTS):
            first = attempt == 0
            run_scope = scope if first else _fresh(scope)
            run_receive = recording_receive if first else _replay(received, receive)
            if not await self._run(run_scope, run_receive, send, may_retry=attempt < ATTEMPTS - 1):
                return
            await asyncio.sleep(PAUSE_SECONDS[attempt] * (0.5 + random.random()))

    async def _run(self, scope: Scope, receive: Receive, send: Send, *, may_retry: bool) -> bool:
        """One run of the request; True when its answer was a retryable 503, swallowed."""
        discard = False

        async def guarded_send(message: Message) -> None:
            nonlocal discard
            # Only a 503 can carry the marker: every other answer passes untouched.
            if message["type"] == "http.response.start" and message["status"] == 503:
                headers = MutableScopeHeaders.from_message(message)
                discard = may_retry and RETRY_MARKER in headers
                headers.pop(RETRY_MARKER, None)
            if not discard:
                await send(message)

        await self.app(scope, receive, guarded_send)
        return discard


# What the framework caches on the scope while handling a request (the parsed body, the
# dependencies with the closed database session, the response's progress); what it set before
# this middleware (exception handlers, parsed headers and URL) stays.
_PER_RUN = (
    "body", "content_type", "dependency_cache", "do_cache", "flash_messages", "form",
    "is_cached", "json", "msgpack", "response_compressed", "response_started",
)  # fmt: skip


def _fresh(scope: Scope) -> Scope:
    state = dict(scope.get("state", {}))
    cached = state.get(CONNECTION_STATE_KEY)
    if isinstance(cached, ScopeState):
        copy = ScopeState()  # every field at its initial value
        for name in ScopeState.__slots__:
            if name not in _PER_RUN:
                setattr(copy, name, getattr(cached, name, Empty))
        copy._compat_ns = dict(cached._compat_ns)
        state[CONNECTION_STATE_KEY] = copy
    return {**scope, "state": state}  # type: ignore[return-value]


def _replay(received: list[Message], receive: Receive) -> Receive:
    """The request's messages as the first run read them, then whatever it did not read."""
    pending = list(received)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        message = await receive()
        received.append(message)
        return message

    return replay
