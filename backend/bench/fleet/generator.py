"""The load generator: one process per share of the fleet, each an asyncio loop over a small
pool of keep-alive connections.

Open loop: every actor has its own schedule, drawn before the run and independent of the
answers. A request is timed from its *scheduled* time, so one that waits for a free connection
or a busy server carries that wait (no coordinated omission); one not answered within `timeout`
of its scheduled time is an error. The scheduler's own lateness is reported too: when it grows,
the generator, not the server, was short of CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from backend.bench.fleet.actors import Clock, Driver, decode_pull, head
from backend.bench.fleet.seed import DRIVERS_PER_DISPATCHER, Names
from backend.bench.fleet.spec import KINDS_SSE, Rates, Timeline
from backend.bench.wire import WireConnection, WireError

Job = Callable[[float], None]


@dataclass(frozen=True)
class Share:
    index: int
    procs: int
    base_url: str
    names: Names
    drivers: int
    timeline: Timeline
    rates: Rates
    connections: int
    timeout: float
    seed: int


@dataclass
class Outcome:
    latencies: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    accepted: int = 0
    rejected: int = 0
    sse_messages: int = 0
    lags: list[float] = field(default_factory=list)  # scheduler lateness, seconds
    cpu: float = 0.0

    def merge(self, other: Outcome) -> None:
        for key, values in other.latencies.items():
            self.latencies.setdefault(key, []).extend(values)
        self.errors.update(other.errors)
        self.accepted += other.accepted
        self.rejected += other.rejected
        self.sse_messages += other.sse_messages
        self.lags += other.lags
        self.cpu += other.cpu


class Generator:
    def __init__(self, share: Share, started_wall: float, started_mono: float) -> None:
        self.share = share
        self.t0 = started_mono
        self.clock = Clock(started_wall, started_mono)
        self.random = random.Random(share.seed)
        self.outcome = Outcome()
        url = share.base_url.removeprefix("http://")
        self.host = url
        self.address = url.split(":")
        # Last in, first out: the busiest connections stay warm, the rest may idle out.
        self.pool: asyncio.LifoQueue[WireConnection | None] = asyncio.LifoQueue()
        for _ in range(share.connections):
            self.pool.put_nowait(None)  # opened on first use
        self.heap: list[tuple[float, int, Job]] = []
        self.order = itertools.count()
        self.tasks: set[asyncio.Task[None]] = set()
        self.streams: list[asyncio.Task[None]] = []
        self.stopping = False
        own = range(share.index, share.drivers, share.procs)
        self.drivers = {k: Driver(k, share.names, url) for k in own}
        dispatchers = -(-share.drivers // DRIVERS_PER_DISPATCHER)
        self.dispatch_heads = [
            {"authorization": f"Bearer {share.names.dispatcher_token(x)}"}
            | {"content-type": "application/json"}
            for x in range(dispatchers)
        ]

    # scheduling ---------------------------------------------------------------------------

    def at(self, t: float, job: Job) -> None:
        """Run `job(t)` at `t` seconds from the start, if that is within the run."""
        if t < self.share.timeline.total:
            heapq.heappush(self.heap, (self.t0 + t, next(self.order), job))

    def spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def plan(self) -> None:
        line, rates, draw = self.share.timeline, self.share.rates, self.random
        for k, driver in self.drivers.items():
            begin = draw.uniform(0, line.start)
            self.at(begin, lambda due, d=driver: self.spawn(self.snapshot(d, due)))
            first_ping = begin + draw.uniform(0, rates.ping_every)
            self.recurring(first_ping, self.ping, driver, lambda: rates.ping_every)
            first_push = begin + draw.uniform(*rates.push_every)
            self.recurring(first_push, self.push, driver, lambda: draw.uniform(*rates.push_every))
            self.recurring(begin + rates.pull_every, self.pull, driver, lambda: rates.pull_every)
            if k % round(1 / rates.flush_share) == 0:
                driver.flushing = True
                flush_at = line.end_begins + draw.uniform(0, line.end)
                self.at(flush_at, lambda due, d=driver: self.spawn(self.flush(d, due)))
        hours = line.total / 3600
        share = self.share.drivers / self.share.procs
        self.poisson(rates.pages_per_driver_hour * share * hours, self.page)
        self.poisson(rates.edits_per_driver_hour * share * hours, self.edit)
        streams = round(rates.streams_per_driver * share)
        for n in range(streams):
            k = draw.randrange(self.share.drivers)
            j = n % 30  # the first stops: their events come soon
            token = self.share.names.tracking_token(k, j)
            self.at(
                draw.uniform(0, line.start),
                lambda due, t=token: self.streams.append(
                    asyncio.ensure_future(self.stream(t, due))
                ),
            )

    def recurring(
        self,
        first: float,
        action: Callable[[Driver, float], Awaitable[None] | None],
        driver: Driver,
        every: Callable[[], float],
    ) -> None:
        """`action(driver, due)` at `first`, then every `every()` seconds until the run ends."""

        def job(due: float) -> None:
            result = action(driver, due)
            if result is not None:
                self.spawn(result)
            self.at(due - self.t0 + every(), job)

        self.at(first, job)

    def poisson(self, expected: float, action: Callable[[float], Awaitable[None]]) -> None:
        """About `expected` calls over the run, at exponential gaps."""
        if expected <= 0:
            return
        mean_gap = self.share.timeline.total / expected
        t = self.random.expovariate(1 / mean_gap)
        while t < self.share.timeline.total:
            self.at(t, lambda due: self.spawn(action(due)))
            t += self.random.expovariate(1 / mean_gap)

    async def run(self) -> Outcome:
        self.plan()
        cpu0 = time.process_time()
        give_up = self.t0 + self.share.timeline.total + self.share.timeout
        while self.heap:
            due, _, job = self.heap[0]
            now = time.monotonic()
            if now > give_up:  # so far behind that the run would never end: the rest is lost
                self.outcome.errors[("generator", "not sent")] += len(self.heap)
                break
            if due > now:
                await asyncio.sleep(due - now)
                continue
            heapq.heappop(self.heap)
            self.outcome.lags.append(now - due)
            job(due)
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        self.stopping = True
        for stream in self.streams:
            stream.cancel()
        await asyncio.gather(*self.streams, return_exceptions=True)
        while not self.pool.empty():
            connection = self.pool.get_nowait()
            if connection is not None:
                await connection.close()
        self.outcome.cpu = time.process_time() - cpu0
        return self.outcome

    # requests -----------------------------------------------------------------------------

    def deadline(self, due: float) -> float:
        """`due` + timeout on the event loop's clock (uvloop keeps its own)."""
        loop = asyncio.get_running_loop()
        return loop.time() + due + self.share.timeout - time.monotonic()

    async def call(self, kind: str, due: float, request_head: bytes, body: bytes = b"") -> bytes:
        """One request on a pooled connection; its latency from `due`, recorded under its
        kind and phase. The answer's body, or b"" after an error (counted)."""
        if self.stale(kind, due):
            return b""
        phase = self.share.timeline.phase(due - self.t0)
        taken = False  # a slot of the pool is held, and must go back whatever happens
        connection: WireConnection | None = None
        try:
            async with asyncio.timeout_at(self.deadline(due)):
                connection = await self.pool.get()
                taken = True
                if connection is not None:
                    try:
                        answer = await connection.request(request_head, body)
                    except (WireError, ConnectionError):
                        # The server closed it while idle (uvicorn's keep-alive timeout): the
                        # request was not read, so it goes again on a new one, as clients do.
                        await self._discard(connection)
                        connection = None
                if connection is None:
                    connection = await WireConnection.open(self.share.base_url)
                    answer = await connection.request(request_head, body)
        except (TimeoutError, WireError, OSError, ValueError, IndexError) as exc:
            if connection is not None:
                await self._discard(connection)
            if taken:
                self.pool.put_nowait(None)
            self.outcome.errors[(kind, "timeout" if isinstance(exc, TimeoutError) else "io")] += 1
            return b""
        self.pool.put_nowait(connection)
        self.outcome.latencies.setdefault((kind, phase), []).append(time.monotonic() - due)
        if answer.status != 200:
            self.outcome.errors[(kind, str(answer.status))] += 1
            return b""
        return answer.body

    def stale(self, kind: str, due: float) -> bool:
        """Past its timeout before it is even sent (the generator fell that far behind): an
        error at no further cost, so a late generator catches up instead of falling further."""
        if time.monotonic() < due + self.share.timeout:
            return False
        self.outcome.errors[(kind, "timeout")] += 1
        return True

    @staticmethod
    async def _discard(connection: WireConnection) -> None:
        with contextlib.suppress(Exception):
            await connection.close()

    def _count(self, body: bytes) -> None:
        self.outcome.accepted += body.count(b'"status":"accepted"')
        self.outcome.rejected += body.count(b'"status":"rejected"')

    async def snapshot(self, driver: Driver, due: float) -> None:
        body = await self.call("snapshot", due, driver.snapshot_head)
        if body:
            driver.cursor = decode_pull(body).cursor

    async def pull(self, driver: Driver, due: float) -> None:
        kind = "delta pull" if driver.cursor else "snapshot"
        body = await self.call(kind, due, driver.delta_head())
        if body:
            driver.cursor = decode_pull(body).cursor

    def push(self, driver: Driver, due: float) -> Awaitable[None] | None:
        if driver.flushing and due - self.t0 >= self.share.timeline.end_begins:
            return None  # offline until its flush
        if self.stale("push", due):
            return None
        events = self.random.randint(*self.share.rates.push_events)
        return self._push("push", driver, due, driver.push_body(events, self.clock))

    async def _push(self, kind: str, driver: Driver, due: float, body: bytes) -> None:
        self._count(await self.call(kind, due, driver.push_head, body))

    async def flush(self, driver: Driver, due: float) -> None:
        body = driver.push_body(self.share.rates.flush_events, self.clock)
        await self._push("flush", driver, due, body)

    def ping(self, driver: Driver, due: float) -> Awaitable[None]:
        return self.call("ping", due, driver.ping_head, driver.ping_body())  # type: ignore[return-value]

    async def page(self, due: float) -> None:
        k = self.random.randrange(self.share.drivers)
        token = self.share.names.tracking_token(k, self.random.randrange(self.share.names.stops))
        await self.call("tracking page", due, head(self.host, "GET", f"/t/{token}", {}))

    async def edit(self, due: float) -> None:
        k = self.random.randrange(self.share.drivers)
        j = self.share.names.stops - 1 - self.random.randrange(10)
        shipment = self.share.names.shipment_id(k, j)
        headers = self.dispatch_heads[k // DRIVERS_PER_DISPATCHER]
        request_head = head(self.host, "PATCH", f"/v1/shipments/{shipment}", headers)
        note = f'{{"notes": "dispatch note {self.random.randrange(10**6)}"}}'.encode()
        await self.call("dispatch edit", due, request_head, note)

    async def stream(self, token: str, due: float) -> None:
        """A recipient's live page: the SSE stream held open until the run ends."""
        phase = self.share.timeline.phase(due - self.t0)
        writer = None
        try:
            async with asyncio.timeout_at(self.deadline(due)):
                reader, writer = await asyncio.open_connection(*self.address)
                writer.write(
                    f"GET /v1/track/{token}/stream HTTP/1.1\r\nhost: {self.host}\r\n"
                    "accept: text/event-stream\r\n\r\n".encode()
                )
                status = await reader.readline()
                while (await reader.readline()) not in (b"\r\n", b""):
                    pass
            if b" 200 " not in status:
                code = status.split(b" ")[1].decode() if status.count(b" ") else "io"
                self.outcome.errors[(KINDS_SSE, code)] += 1
                return
            self.outcome.latencies.setdefault((KINDS_SSE, phase), []).append(time.monotonic() - due)
            while line := await reader.readline():
                if line.startswith(b"data:"):
                    self.outcome.sse_messages += 1
            if not self.stopping:
                self.outcome.errors[(KINDS_SSE, "closed early")] += 1
        except asyncio.CancelledError:
            pass
        except (TimeoutError, OSError) as exc:
            self.outcome.errors[
                (KINDS_SSE, "timeout" if isinstance(exc, TimeoutError) else "io")
            ] += 1
        finally:
            if writer is not None:
                writer.close()


def generator_process(share: Share, ready: Any, go: Any, start: Any, out: Any) -> None:
    """A child process: builds its actors (tokens signed here, off the clock), says ready,
    waits for the common start, runs, and sends its outcome back."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        pass

    async def main() -> Outcome:
        started_wall = start.value
        generator = Generator(share, started_wall, time.monotonic() + started_wall - time.time())
        ready.put(share.index)
        await asyncio.to_thread(go.wait)
        began = start.value
        generator.t0 = time.monotonic() + began - time.time()
        generator.clock = Clock(began, generator.t0)
        return await generator.run()

    out.put(asyncio.run(main()))
