"""The process's end of the live feeds: one channels subscription, routed in memory.

Every API process subscribes once to the `live` channel. The hub hands each message to the
WebSocket feeds that may see it and to the SSE streams of its shipment (a dict lookup, not a scan
of every subscriber). Each subscriber has a bounded queue; one that falls too far behind is cut
off (an SSE client resumes from the database with Last-Event-ID, a WebSocket client reconnects).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from litestar.channels import ChannelsBackend, ChannelsPlugin

from backend.config import Settings
from backend.lib.clock import utcnow
from backend.live.backends import RESET, channel_name, make_backend
from backend.live.messages import (
    PUBLISHER_KEY,
    THROTTLE_KEY,
    LiveMessage,
    PositionThrottle,
    decode_batch,
    encode_batches,
)

log = logging.getLogger("lastmile.live")
QUEUE_SIZE = 1_000

Delivery = tuple[LiveMessage, bytes]
Accepts = Callable[[LiveMessage], bool]


@dataclass(eq=False)
class Subscription:
    accepts: Accepts
    queue: asyncio.Queue[Delivery | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    cut_off: bool = False

    def offer(self, delivery: Delivery | None) -> None:
        if self.cut_off:
            return
        try:
            self.queue.put_nowait(delivery)
        except asyncio.QueueFull:
            self.cut_off = True
            self.queue.get_nowait()  # make room for the end marker
            self.queue.put_nowait(None)

    async def next(self) -> Delivery | None:
        """The next delivery, or None once this subscription has ended."""
        item = await self.queue.get()
        if item is None:
            self.cut_off = True
        return item


class LiveHub:
    def __init__(self) -> None:
        self.feeds: set[Subscription] = set()
        self.shipments: dict[UUID, set[Subscription]] = {}
        self.closing = False  # set once the process is shutting down

    @contextlib.contextmanager
    def feed(self, accepts: Accepts):
        subscription = Subscription(accepts)
        if self.closing:
            subscription.offer(None)
        self.feeds.add(subscription)
        try:
            yield subscription
        finally:
            self.feeds.discard(subscription)

    @contextlib.contextmanager
    def shipment(self, shipment_id: UUID):
        subscription = Subscription(lambda _: True)
        if self.closing:
            subscription.offer(None)
        self.shipments.setdefault(shipment_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            watchers = self.shipments.get(shipment_id)
            if watchers is not None:
                watchers.discard(subscription)
                if not watchers:
                    del self.shipments[shipment_id]

    def dispatch(self, payload: bytes) -> None:
        if payload == RESET:
            self.end_all()
            return
        try:
            messages = decode_batch(payload)
        except ValueError:
            log.warning("dropped an undecodable live payload of %d bytes", len(payload))
            return
        for message in messages:
            delivery = (message, encode_one(message))
            for subscription in list(self.feeds):
                if subscription.accepts(message):
                    subscription.offer(delivery)
            if message.shipment_id is not None and message.seq is not None:
                for subscription in list(self.shipments.get(message.shipment_id, ())):
                    subscription.offer(delivery)

    def close(self) -> None:
        """End every subscription, now and from now on (the process is stopping)."""
        self.closing = True
        self.end_all()

    def end_all(self) -> None:
        for subscription in [*self.feeds, *(s for w in self.shipments.values() for s in w)]:
            subscription.offer(None)


def encode_one(message: LiveMessage) -> bytes:
    return next(encode_batches([message]))[1:-1]


class LivePublisher:
    """Called after a commit: stamps the messages and hands them to the channels plugin, whose
    backend sends them outside any transaction. Never blocks the request."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.plugin: ChannelsPlugin | None = None

    def publish(self, messages: Sequence[LiveMessage]) -> None:
        if self.plugin is None:
            log.debug("live feeds not running; %d messages not published", len(messages))
            return
        now = utcnow()
        for message in messages:
            message.at = now
        for payload in encode_batches(messages):
            self.plugin.publish(payload, self.channel)


class LiveRuntime:
    """Channels plugin, hub and publisher of one process (an API worker or `lastmile worker`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.hub = LiveHub()
        self.channel = channel_name(settings)
        self.publisher = LivePublisher(self.channel)
        self.throttle = PositionThrottle(settings.live_position_interval_seconds)
        self.backend: ChannelsBackend | None = None
        self.down: str | None = None  # why the live feeds did not start, if they did not

    async def health(self) -> str | None:
        """None when the live feeds work in this process; else what is wrong (for /readyz)."""
        if self.down:
            return self.down
        check = getattr(self.backend, "health", None)
        return await check() if callable(check) else None

    @property
    def session_info(self) -> dict[str, object]:
        return {PUBLISHER_KEY: self.publisher, THROTTLE_KEY: self.throttle}

    @contextlib.asynccontextmanager
    async def running(self, *, listen: bool = True) -> AsyncIterator[LiveRuntime]:
        """Start the channels plugin (and, with `listen`, this process's subscription).

        If the backend cannot be reached the process still serves, without live feeds: as with
        the database, readiness is reported by /readyz and the next start retries.
        """
        self.backend = make_backend(self.settings)
        plugin = ChannelsPlugin(backend=self.backend, channels=[self.channel])
        try:
            await plugin.__aenter__()
        except Exception as exc:
            self.down = f"live feeds disabled: the channels backend is not reachable: {exc}"
            log.error("%s", self.down)
            yield self
            return
        subscriber = await plugin.subscribe(self.channel) if listen else None
        task = asyncio.create_task(self._route(subscriber)) if subscriber else None
        self.publisher.plugin = plugin
        try:
            with self._close_on_exit_signal() if listen else contextlib.nullcontext():
                yield self
        finally:
            self.publisher.plugin = None
            self.hub.end_all()
            if subscriber is not None:
                await plugin.unsubscribe(subscriber)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await plugin.__aexit__(None, None, None)

    @contextlib.contextmanager
    def _close_on_exit_signal(self):
        """Open streams never end by themselves, and the server waits for open responses
        before it shuts down: on SIGTERM/SIGINT end them (clients reconnect elsewhere and
        resume), then hand the signal to whoever handled it before (uvicorn)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def on_exit_signal(signum: int, frame: object) -> None:
            loop.call_soon_threadsafe(self.hub.close)
            prior = previous[signum]
            if callable(prior):
                prior(signum, frame)
            elif prior == signal.SIG_DFL:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)

        for sig in previous:
            signal.signal(sig, on_exit_signal)
        try:
            yield
        finally:
            for sig, prior in previous.items():
                if signal.getsignal(sig) is on_exit_signal:
                    signal.signal(sig, prior)

    async def _route(self, subscriber) -> None:
        async for payload in subscriber.iter_events():
            try:
                self.hub.dispatch(payload)
            except Exception:
                log.exception("live payload routing failed")
