"""Real API worker processes (uvicorn) against the test database, for cross-process tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import msgspec
from websockets.asyncio.client import ClientConnection

from backend.bench.server import Server, api_process
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings


@contextmanager
def api_worker(
    channels_backend: str = "postgres",
    redis_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """One uvicorn worker process of the API; stopped on the way out. `extra_env`: more
    settings for it, as environment variables."""
    settings = make_settings()
    env = (
        {
            "LASTMILE_DATABASE_URL": settings.plain_database_url,
            "LASTMILE_SECRET_KEY": settings.secret_key,
            "LASTMILE_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
            "LASTMILE_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "LASTMILE_CHANNELS_BACKEND": channels_backend,
            "LASTMILE_EMBEDDED_WORKER": "false",
            "LASTMILE_DB_POOL_SIZE": "4",
        }
        | ({"LASTMILE_REDIS_URL": redis_url} if redis_url else {})
        | (extra_env or {})
    )
    with api_process(env, log_prefix="lastmile-live-test-", keep_log=False) as server:
        yield server


def ws_url(server: Server, token: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in ({"access_token": token} | params).items())
    return server.base_url.replace("http://", "ws://") + f"/v1/live?{query}"


async def ws_message(connection: ClientConnection, within: float = 10.0) -> dict[str, Any]:
    """The next frame; the bound only makes a broken feed fail instead of hanging."""
    return msgspec.json.decode(await asyncio.wait_for(connection.recv(), within))


class SseReader:
    """Reads `text/event-stream` from an open httpx response, event by event."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next_event(self, within: float = 10.0) -> dict[str, Any]:
        return await asyncio.wait_for(self._next(), within)

    async def _next(self) -> dict[str, Any]:
        event: dict[str, Any] = {}
        async for line in self.lines:
            if not line:
                if event.get("data"):  # as EventSource: an empty data buffer is no event
                    return event
                event = {}
                continue
            field, _, value = line.partition(":")
            if field == "":
                continue  # a comment (stream open, keepalive)
            event[field] = value.removeprefix(" ")
        raise EOFError("the stream ended")

    async def opened(self, within: float = 10.0) -> None:
        """Wait for the stream's first line: from then on the server is watching."""

        async def first() -> None:
            async for _ in self.lines:
                return

        await asyncio.wait_for(first(), within)


async def events(reader: SseReader, count: int) -> AsyncIterator[dict[str, Any]]:
    for _ in range(count):
        yield await reader.next_event()
