"""A minimal HTTP/1.1 keep-alive client for load generation: one connection, one request at a time.

The load client shares the machine's cores with the server and PostgreSQL, so every millisecond
it spends per request is taken from what is measured. A general client (httpx) spends about a
millisecond per push on headers, URL and connection-pool bookkeeping; this one writes prepared
bytes and reads a `Content-Length` body, nothing else (no chunked bodies, no redirects).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit


class WireError(Exception):
    pass


@dataclass
class WireResponse:
    status: int
    body: bytes


class WireConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self._reader = reader
        self._writer = writer
        self._host = host

    @classmethod
    async def open(cls, base_url: str) -> WireConnection:
        url = urlsplit(base_url)
        if url.scheme != "http" or not url.hostname or not url.port:
            raise WireError(f"need http://host:port, not {base_url!r}")
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        return cls(reader, writer, f"{url.hostname}:{url.port}")

    def head(self, method: str, path: str, headers: dict[str, str]) -> bytes:
        """The request line and headers for `method path` on this connection (no length)."""
        lines = [f"{method} {path} HTTP/1.1", f"host: {self._host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n").encode()

    async def request(self, head: bytes, body: bytes = b"") -> WireResponse:
        """Send `head` (from `head()`) and `body`; read the whole answer."""
        self._writer.write(head + b"content-length: %d\r\n\r\n" % len(body) + body)
        status_line = await self._reader.readline()
        if not status_line:
            raise WireError("connection closed by the server")
        status = int(status_line.split(b" ", 2)[1])
        length = None
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise WireError("the answer has no Content-Length")
        return WireResponse(status, await self._reader.readexactly(length))

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
