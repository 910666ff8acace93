"""A real HTTP receiver on loopback that misbehaves on a schedule."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """`script`: what to answer next ("ok", "500", "429:<seconds>", "503", "410", "slow:<s>",
    "big"); once it runs out, every request is answered 204."""

    script: deque[str] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if request.path.endswith("/slow"):
            await asyncio.sleep(3)
            return web.Response(status=204)
        self.received.append(Received(dict(request.headers), body))
        action = self.script.popleft() if self.script else "ok"
        kind, _, arg = action.partition(":")
        if kind == "slow":
            await asyncio.sleep(float(arg))
            return web.Response(status=204)
        if kind == "429":
            return web.Response(status=429, headers={"Retry-After": arg or "1"})
        if kind == "big":
            return web.Response(status=200, body=b"x" * 500_000)
        if kind == "redirect":
            return web.Response(status=307, headers={"Location": "http://127.0.0.1:1/"})
        if kind.isdigit():
            return web.Response(status=int(kind), text=f"answer {kind}")
        return web.Response(status=204)

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hooks"
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connections are refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/dead"
