"""A TCP proxy on loopback in front of PostgreSQL, in a thread of its own, that can hold what
clients send (so a statement is "in flight" for as long as a test wants) and refuse newcomers.

It runs its own event loop: the in-process test client blocks the test's loop while a request
runs, and the proxy must keep moving bytes meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit


class Proxy:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._parts = parts
        self.hold = threading.Event()  # set: what clients send is kept back
        self.held = threading.Event()  # set once something was kept back
        self.refuse = threading.Event()  # set: new connections are closed at once
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self.port = 0

    def url(self) -> str:
        netloc = self._parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{self.port}"
        return urlunsplit(
            self._parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) > 1 else host)
        )

    @contextlib.contextmanager
    def running(self) -> Iterator[Proxy]:
        thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            thread.join(10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self.refuse.is_set():
            client_w.close()
            return
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(
            self._pump(client_r, server_w, holding=True),
            self._pump(server_r, client_w, holding=False),
            return_exceptions=True,
        )

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, holding: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if holding and self.hold.is_set():
                    self.held.set()
                    continue  # kept back for good: the backend dies before it sees it
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()
