"""Channels backends for the live feeds, chosen by `LASTMILE_CHANNELS_BACKEND`.

Litestar's own asyncpg backend opens a connection for every publish (~5 ms each), which caps a
process at about 190 publishes a second. This one keeps two long-lived connections: one LISTENs,
one NOTIFYs. Publishing only queues; a flusher sends everything queued since its last round trip
in one statement (`pg_notify` over `unnest`), in its own tiny transaction, never inside a write
transaction. If the listening connection drops, it reconnects and emits RESET on every channel
so subscribers know they may have missed messages (SSE clients then resume from the database).

The flusher is supervised: whatever a send raises (asyncpg raises `InternalClientError` when the
connection is terminated in the middle of a NOTIFY), the batch is put back, the error logged,
and the loop goes on after a backoff with a fresh connection. `health()` says why publishing
fails until a send succeeds again; /readyz reports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncGenerator, Iterable
from urllib.parse import urlsplit

import asyncpg
from litestar.channels import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis
from redis.exceptions import RedisError

from backend.config import Settings

log = logging.getLogger("lastmile.live")
RESET = b"reset"
RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)
# Messages kept for the next try while publishing fails; older ones beyond it are dropped (they
# stay in the database: SSE clients resume from there, dispatch screens reload).
MAX_UNSENT = 10_000
HEALTH_CONNECT_SECONDS = 3.0
PUBLISHER_NAME = "lastmile-live-publisher"
LISTENER_NAME = "lastmile-live-listener"


class PublishFailed(Exception):
    """The publishing connection failed twice in a row on the same batch."""


class PostgresChannelsBackend(ChannelsBackend):
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._channels: set[str] = set()
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._pending: list[tuple[str, str]] = []
        self._wakeup = asyncio.Event()
        self._flushing = asyncio.Lock()  # one statement at a time on the publishing connection
        self._listener: asyncpg.Connection | None = None
        self._publisher: asyncpg.Connection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._failure: str | None = None

    async def on_startup(self) -> None:
        self._queue = asyncio.Queue()
        self._wakeup = asyncio.Event()
        self._flushing = asyncio.Lock()
        self._listener = await self._listen()
        self._publisher = await self._connect(PUBLISHER_NAME)
        self._tasks = [asyncio.create_task(self._flush_forever())]

    async def on_shutdown(self) -> None:
        self._closing = True
        if self._pending:
            with contextlib.suppress(PublishFailed):
                await self._flush()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for connection in (self._listener, self._publisher):
            if connection is not None and not connection.is_closed():
                await connection.close()

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        text = data.decode()
        self._pending.extend((channel, text) for channel in channels)
        self._wakeup.set()

    async def subscribe(self, channels: Iterable[str]) -> None:
        for channel in set(channels) - self._channels:
            self._channels.add(channel)
            if self._listener is not None:
                await self._listener.add_listener(channel, self._on_notify)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        for channel in set(channels) & self._channels:
            self._channels.discard(channel)
            if self._listener is not None and not self._listener.is_closed():
                await self._listener.remove_listener(channel, self._on_notify)

    async def stream_events(self) -> AsyncGenerator[tuple[str, bytes], None]:
        while True:
            channel, payload = await self._queue.get()
            if channel in self._channels:
                yield channel, payload

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        raise NotImplementedError("the live feeds replay from the database, not the channel")

    async def health(self) -> str | None:
        """None while this process can publish; else why not. A publishing connection the
        server closed is reopened here, so a readiness probe learns it before a publish does."""
        if self._tasks and self._tasks[0].done() and not self._closing:
            return "the live-feed publisher has stopped"
        if self._failure:
            return self._failure
        try:
            async with self._flushing:
                await asyncio.wait_for(self._ensure_publisher(), HEALTH_CONNECT_SECONDS)
        except Exception as exc:
            return f"the live-feed publisher cannot connect: {type(exc).__name__}: {exc}"
        return None

    # internals -------------------------------------------------------------------------------

    async def _connect(self, name: str) -> asyncpg.Connection:
        return await asyncpg.connect(self._dsn, server_settings={"application_name": name})

    async def _listen(self) -> asyncpg.Connection:
        connection = await self._connect(LISTENER_NAME)
        for channel in self._channels:
            await connection.add_listener(channel, self._on_notify)
        connection.add_termination_listener(self._on_listener_lost)
        return connection

    def _on_notify(self, _: object, __: int, channel: str, payload: object) -> None:
        self._queue.put_nowait((channel, str(payload).encode()))

    def _on_listener_lost(self, _: object) -> None:
        if not self._closing:
            self._tasks.append(asyncio.create_task(self._relisten()))

    async def _relisten(self) -> None:
        for attempt in range(10_000):
            delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
            await asyncio.sleep(delay)
            try:
                self._listener = await self._listen()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("live feed listener reconnect failed: %s", exc)
                continue
            log.warning("live feed listener reconnected; subscribers told to resume")
            for channel in self._channels:
                self._queue.put_nowait((channel, RESET))
            return

    async def _flush_forever(self) -> None:
        """Flush whenever something is queued; on a failure log, back off and go on."""
        failures = 0
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            try:
                await self._flush()
            except Exception as exc:
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                self._failure = f"publishing fails: {type(exc).__name__}: {exc}"
                log.error("live feed publisher: %s; trying again in %.1f s", self._failure, delay)
                await asyncio.sleep(delay)
                self._wakeup.set()
            else:
                failures = 0

    async def _flush(self) -> None:
        async with self._flushing:
            batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                await self._send(batch)
            except Exception:
                self._pending[:0] = batch
                if len(self._pending) > MAX_UNSENT:
                    dropped = len(self._pending) - MAX_UNSENT
                    del self._pending[:dropped]
                    log.error("live feed: %d unsent messages dropped", dropped)
                raise
            self._failure = None

    async def _send(self, batch: list[tuple[str, str]]) -> None:
        channels, payloads = [c for c, _ in batch], [p for _, p in batch]
        for attempt in range(2):
            try:
                await self._ensure_publisher()
                await self._publisher.execute(  # type: ignore[union-attr]
                    "SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS m(c, p)",
                    channels,
                    payloads,
                )
                return
            except Exception as exc:  # asyncpg's errors do not share one base class
                log.warning("live feed publish failed (try %d): %r", attempt + 1, exc)
                stale, self._publisher = self._publisher, None
                if stale is not None:
                    stale.terminate()
                if attempt:
                    raise PublishFailed(f"{type(exc).__name__}: {exc}") from exc

    async def _ensure_publisher(self) -> None:
        if self._publisher is None or self._publisher.is_closed():
            self._publisher = await self._connect(PUBLISHER_NAME)


class RedisPubSubBackend(RedisChannelsPubSubBackend):
    """Litestar's Redis pub/sub backend, surviving a dropped connection: redis-py reconnects and
    re-subscribes on the next read; subscribers are told with RESET that they may have missed
    messages, as with PostgreSQL."""

    async def stream_events(self) -> AsyncGenerator[tuple[str, bytes], None]:
        while True:
            try:
                async for channel, data in super().stream_events():
                    yield channel, data
            except (RedisError, OSError) as exc:
                log.warning("live feed Redis connection lost (%s); resubscribing", exc)
                await asyncio.sleep(RECONNECT_DELAYS[1])
                for channel in list(self._pub_sub.channels):
                    yield channel.decode(), RESET


def channel_name(settings: Settings) -> str:
    """LISTEN/NOTIFY channels are per database already; one Redis may serve several databases
    (the demo, the tests, the bench), so there the database is part of the name."""
    if settings.channels_backend == "redis":
        return f"lastmile.{_database(settings)}.live"
    return "live"


def _database(settings: Settings) -> str:
    return urlsplit(settings.plain_database_url).path.lstrip("/")


def make_backend(settings: Settings) -> ChannelsBackend:
    if settings.channels_backend == "memory":
        return MemoryChannelsBackend()
    if settings.channels_backend == "redis":
        redis = Redis.from_url(settings.redis_url, client_name=f"lastmile-live-{os.getpid()}")
        return RedisPubSubBackend(redis=redis, key_prefix=f"lastmile:{_database(settings)}")
    return PostgresChannelsBackend(settings.plain_database_url)
