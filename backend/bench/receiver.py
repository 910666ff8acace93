"""A minimal HTTP/1.1 keep-alive receiver for the webhooks bench, in a process of its own: it
reads each request (Content-Length bodies) and answers 204, doing nothing else, so the bench
measures the sender, not the receiver."""

from __future__ import annotations

import asyncio
import contextlib
import socket

ANSWER = b"HTTP/1.1 204 No Content\r\nconnection: keep-alive\r\n\r\n"


class _Protocol(asyncio.Protocol):
    def __init__(self, counter: list[int]) -> None:
        self.buffer = b""
        self.counter = counter

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            length = _content_length(self.buffer[:head_end])
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            self.counter[0] += 1
            self.transport.write(ANSWER)  # type: ignore[attr-defined]


def _serve(sock: socket.socket) -> None:
    async def main() -> None:
        counter = [0]
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Protocol(counter), sock=sock)
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def serve_on(port: int) -> None:
    """Listen on a loopback port and answer until killed."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(4096)
    _serve(sock)
