"""`scripts/bench middleware`: what the in-server retry of transient faults costs a request.

In-process ASGI calls of a trivial route (no network, no database), alternating between an app
with a no-op middleware and one with `RetryTransientMiddleware` in its place, so that both see
the same machine load; the best round of each is printed. Needs no database.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from litestar import Litestar, get
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.lib.errors import exception_handlers
from backend.lib.retry import RetryTransientMiddleware


class NoopMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@get("/ping", sync_to_thread=False)
def ping() -> dict[str, str]:
    return {"status": "ok"}


def _app(middleware: type) -> Litestar:
    return Litestar(
        [ping], middleware=[middleware], exception_handlers=exception_handlers, logging_config=None
    )


SCOPE: dict[str, Any] = {
    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
    "scheme": "http", "path": "/ping", "raw_path": b"/ping", "query_string": b"",
    "root_path": "", "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1),
    "server": ("127.0.0.1", 80),
}  # fmt: skip


async def _round(app: Litestar, requests: int) -> float:
    """Microseconds per request."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    started = time.perf_counter()
    for _ in range(requests):
        await app(dict(SCOPE, state={}), receive, send)  # type: ignore[arg-type]
    return (time.perf_counter() - started) / requests * 1e6


async def measure(rounds: int = 15, requests: int = 5_000) -> str:
    noop, retry = _app(NoopMiddleware), _app(RetryTransientMiddleware)
    await _round(noop, 1_000)
    await _round(retry, 1_000)
    plain, wrapped = [], []
    for _ in range(rounds):
        plain.append(await _round(noop, requests))
        wrapped.append(await _round(retry, requests))
    best_plain, best_wrapped = min(plain), min(wrapped)
    return (
        f"GET of a trivial route, in process, best of {rounds} rounds of {requests:,}:\n"
        f"  no-op middleware           {best_plain:6.1f} µs/request\n"
        f"  RetryTransientMiddleware   {best_wrapped:6.1f} µs/request"
        f"  (+{best_wrapped - best_plain:.1f} µs)"
    )


def run_middleware() -> int:
    print(asyncio.run(measure()))
    return 0
