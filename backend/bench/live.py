"""`bench live`: commit-to-subscriber latency over SSE, and pings ingested per second.

A fresh bench database, the API started (`--workers`), a small fleet seeded through the API.
Then:
1. **fan-out**: `subscribers` SSE streams (`GET /v1/track/{token}/stream`), spread evenly over
   `watched` shipments, held open by a separate client process (raw sockets, so the client's own
   cost stays small). Once every stream is open, the drivers push one status change at a time
   (`scan_loaded` / `returned_to_hub`, alternating per shipment) at `rate` per second through
   `POST /v1/sync/push`. Each message carries `at`, stamped when its commit returned; latency is
   the subscriber's wall clock at receipt minus `at` (same machine, same clock).
2. **pings**: `ping_clients` drivers post `ping_batches` batches of `ping_batch` pings in all
   through `POST /v1/tracking/pings`, all at once; rate = accepted pings / wall time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import msgspec

from backend.bench.server import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CpuMeter,
    Server,
    fresh_database,
    running_server,
)
from backend.bench.table import machine, ms, verdict
from backend.simulator.config import SimConfig
from backend.simulator.fleet import DRIVER_PASSWORD, Fleet, bounded, setup_fleet
from backend.simulator.http import ApiClient

TARGET_P99_MS = 100.0
TARGET_PINGS_PER_S = 20_000
CONNECT_CONCURRENCY = 50


@dataclass(frozen=True)
class LiveBench:
    database_url: str
    subscribers: int = 1_000
    watched: int = 100
    changes: int = 1_200
    rate: float = 20.0
    drivers: int = 4
    ping_clients: int = 8
    ping_batches: int = 200
    ping_batch: int = 1_000
    workers: int = 1
    pool_size: int = 10
    quick: bool = False

    @classmethod
    def quick_mode(cls, database_url: str) -> LiveBench:
        return cls(
            database_url,
            subscribers=200,
            watched=20,
            changes=100,
            ping_clients=4,
            ping_batches=40,
            quick=True,
        )


@dataclass
class FanOut:
    latencies: list[float] = field(default_factory=list)  # seconds, commit -> subscriber
    push_latencies: list[float] = field(default_factory=list)
    expected: int = 0
    opened: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Pings:
    accepted: int = 0
    sent: int = 0
    elapsed: float = 0.0
    errors: list[str] = field(default_factory=list)
    cpu: CpuMeter | None = None


# seeding ----------------------------------------------------------------------------------------


@dataclass
class Seeded:
    fleet: Fleet
    device_tokens: dict[str, str]  # device id -> driver token bound to it
    watched: list[tuple[str, str, str]]  # (shipment id, tracking token, device id of its driver)


async def seed(admin: ApiClient, bench: LiveBench) -> Seeded:
    per_route = max(1, -(-bench.watched // bench.drivers))
    config = SimConfig(devices=bench.drivers, stops_per_route=per_route, spare_shipments=0)
    fleet = await setup_fleet(admin, config, uuid.uuid4().hex[:8])
    root = ApiClient(admin.http)
    signed = await bounded(
        4, (root.sign_in(seat.email, DRIVER_PASSWORD, seat.device_id) for seat in fleet.seats)
    )
    tokens = {seat.device_id: str(api.token) for seat, api in zip(fleet.seats, signed, strict=True)}
    owners = []
    for seat in fleet.seats:
        for stop in fleet.stops[fleet.route_of_seat[seat.index]]:
            owners.append((stop["shipment_id"], seat.device_id))
    owners = owners[: bench.watched]
    reads = await bounded(8, (admin.call("GET", f"/v1/shipments/{sid}") for sid, _ in owners))
    watched = [
        (sid, read["tracking_token"], device)
        for (sid, device), read in zip(owners, reads, strict=True)
    ]
    return Seeded(fleet, tokens, watched)


# SSE subscribers, in a process of their own ----------------------------------------------------


class _Stamp(msgspec.Struct):
    at: datetime


_stamp = msgspec.json.Decoder(_Stamp).decode


async def _one_stream(
    host: str, port: int, token: str, since: float, result: FanOut, opened: asyncio.Event
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"GET /v1/track/{token}/stream HTTP/1.1\r\nHost: {host}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        status = await reader.readline()
        if b" 200 " not in status:
            raise ValueError(status.decode(errors="replace").strip())
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        result.opened += 1
        opened.set()
        while line := await reader.readline():
            if line.startswith(b"data: {"):
                received = time.time()
                at = _stamp(line[6:].strip()).at.timestamp()
                if at >= since:
                    result.latencies.append(received - at)
    finally:
        writer.close()


async def _subscribe(host: str, port: int, tokens: list[str], ready, stop, since: float) -> FanOut:
    """Open every stream (at most CONNECT_CONCURRENCY handshakes at once), tell the parent, and
    read until it says stop."""
    result = FanOut()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    settled = asyncio.Event()

    def one_settled() -> None:
        if result.opened + len(result.errors) >= len(tokens):
            settled.set()

    async def stream(token: str) -> None:
        opened = asyncio.Event()
        try:
            async with gate:
                task = asyncio.create_task(_one_stream(host, port, token, since, result, opened))
                waiter = asyncio.create_task(opened.wait())
                await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
            one_settled()
            await task
        except (OSError, ValueError, msgspec.DecodeError) as exc:
            result.errors.append(f"{type(exc).__name__}: {exc}")
            one_settled()

    tasks = [asyncio.create_task(stream(token)) for token in tokens]
    await settled.wait()
    ready.set()
    await asyncio.to_thread(stop.wait)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return result


def _subscriber_process(host, port, tokens, ready, stop, since, out) -> None:
    result = asyncio.run(_subscribe(host, port, tokens, ready, stop, since))
    out.put((result.latencies, result.opened, result.errors[:20]))


# status changes ---------------------------------------------------------------------------------


def _change_body(device_id: str, seq: int, shipment_id: str, event_type: str) -> bytes:
    event = {
        "event_id": str(uuid.uuid4()),
        "seq": seq,
        "type": event_type,
        "shipment_id": shipment_id,
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    batch = {"device_id": device_id, "batch_id": str(uuid.uuid4()), "events": [event]}
    return msgspec.json.encode(batch)


async def push_changes(server: Server, seeded: Seeded, bench: LiveBench, result: FanOut) -> None:
    """`changes` single-event pushes, paced at `rate` per second, round robin over shipments."""
    seqs = dict.fromkeys(seeded.device_tokens, 0)
    loaded: dict[str, bool] = {}
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as http:

        async def one(body: bytes, token: str) -> None:
            began = time.perf_counter()
            response = await http.post(
                "/v1/sync/push",
                content=body,
                headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            )
            result.push_latencies.append(time.perf_counter() - began)
            if response.status_code != 200:
                result.errors.append(f"push {response.status_code}: {response.text[:200]}")

        start = time.perf_counter()
        tasks = []
        for n in range(bench.changes):
            shipment_id, _, device = seeded.watched[n % len(seeded.watched)]
            event_type = "returned_to_hub" if loaded.get(shipment_id) else "scan_loaded"
            loaded[shipment_id] = not loaded.get(shipment_id)
            seqs[device] += 1
            body = _change_body(device, seqs[device], shipment_id, event_type)
            await asyncio.sleep(max(0.0, start + n / bench.rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(body, seeded.device_tokens[device])))
        await asyncio.gather(*tasks)


async def fan_out(server: Server, seeded: Seeded, bench: LiveBench, say) -> FanOut:
    tokens = [seeded.watched[j % len(seeded.watched)][1] for j in range(bench.subscribers)]
    host, port = server.base_url.removeprefix("http://").split(":")
    context = multiprocessing.get_context("spawn")
    ready, stop, out = context.Event(), context.Event(), context.Queue()
    since = time.time()
    process = context.Process(
        target=_subscriber_process, args=(host, int(port), tokens, ready, stop, since, out)
    )
    process.start()
    result = FanOut()
    try:
        while not ready.wait(0.2):
            if not process.is_alive():
                raise RuntimeError("the subscriber process died")
        say(
            f"[live] {bench.subscribers} SSE streams open; {bench.changes} changes at {bench.rate}/s"
        )
        await push_changes(server, seeded, bench, result)
        await asyncio.sleep(2.0)  # let the last messages arrive
    finally:
        stop.set()
    latencies, opened, errors = await asyncio.to_thread(out.get, True, 120)
    process.join(30)
    result.latencies, result.opened = latencies, opened
    result.errors += errors
    per_shipment = [0] * len(seeded.watched)
    for j in range(bench.subscribers):
        per_shipment[j % len(seeded.watched)] += 1
    result.expected = sum(per_shipment[n % len(seeded.watched)] for n in range(bench.changes))
    return result


# pings ------------------------------------------------------------------------------------------


def ping_bodies(device_id: str, batches: int, size: int, client: int) -> list[bytes]:
    """Distinct fix times per driver, 10 ms apart, ending a minute ago (inside any retention)."""
    span = timedelta(milliseconds=10 * batches * size)
    base = datetime.now(UTC) - span - timedelta(minutes=1)
    bodies = []
    for b in range(batches):
        pings = [
            {
                "at": (base + timedelta(milliseconds=10 * (b * size + k))).isoformat(),
                "lon": 13.40 + 0.0001 * ((k + client) % 100),
                "lat": 52.50 + 0.0001 * (k % 50),
                "accuracy_m": 8.0,
                "speed_mps": 6.5,
                "heading": float(k % 360),
            }
            for k in range(size)
        ]
        bodies.append(msgspec.json.encode({"device_id": device_id, "pings": pings}))
    return bodies


async def ingest_pings(server: Server, seeded: Seeded, bench: LiveBench) -> Pings:
    devices = list(seeded.device_tokens)[: bench.ping_clients]
    per_client = max(1, bench.ping_batches // len(devices))
    loads = [
        (seeded.device_tokens[d], ping_bodies(d, per_client, bench.ping_batch, i))
        for i, d in enumerate(devices)
    ]
    result = Pings(sent=sum(len(b) for _, b in loads) * bench.ping_batch)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as http:

        async def client(token: str, bodies: list[bytes]) -> None:
            headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
            for body in bodies:
                response = await http.post("/v1/tracking/pings", content=body, headers=headers)
                if response.status_code != 200:
                    result.errors.append(f"pings {response.status_code}: {response.text[:200]}")
                    continue
                result.accepted += response.json()["accepted"]

        meter = await CpuMeter(server.pids(), bench.database_url).start()
        began = time.perf_counter()
        await asyncio.gather(*(client(token, bodies) for token, bodies in loads))
        result.elapsed = time.perf_counter() - began
        result.cpu = await meter.stop()
    return result


# the run ----------------------------------------------------------------------------------------


def allow_open_files(needed: int) -> None:
    """Raise this process's soft limit on open files (inherited by the server and clients)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = hard if hard == resource.RLIM_INFINITY else min(hard, max(needed, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def run_live(bench: LiveBench, say: Callable[[str], None] = print) -> str:
    allow_open_files(bench.subscribers + 512)
    say("[live] fresh database, migrations")
    await fresh_database(bench.database_url)
    with running_server(bench.database_url, bench.workers, bench.pool_size) as server:
        say(f"[live] server on {server.base_url} (log {server.log_path})")
        async with httpx.AsyncClient(base_url=server.base_url, timeout=300) as http:
            admin = await ApiClient(http).sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
            seeded = await seed(admin, bench)
        fan = await fan_out(server, seeded, bench, say)
        say(f"[live] pings: {bench.ping_batches} batches of {bench.ping_batch}")
        pings = await ingest_pings(server, seeded, bench)
    for error in (fan.errors + pings.errors)[:5]:
        say(f"  error: {error}")
    return render(bench, fan, pings)


def render(bench: LiveBench, fan: FanOut, pings: Pings) -> str:
    box = machine()
    mark = " (quick)" if bench.quick else ""
    if bench.quick:
        mode = "QUICK MODE: smaller than the targets describe"
    else:
        mode = "full run" if bench == LiveBench(bench.database_url) else "custom run"
    header = (
        f"Lastmile live bench, {mode}; {box['date']}: {box['cpus']} CPUs, {box['memory']}; "
        f"{bench.workers} API worker(s), PostgreSQL channels backend\n"
    )
    p99 = ms(fan.latencies, 99)
    complete = len(fan.latencies) >= fan.expected and fan.opened == bench.subscribers
    rate = pings.accepted / pings.elapsed if pings.elapsed else 0.0
    per_k = 1000 / pings.accepted if pings.accepted else 0.0
    cpu = pings.cpu
    rows = [
        "| measure | figure | target | verdict |",
        "|---|---|---|---|",
        f"| commit → SSE subscriber ({fan.opened} of {bench.subscribers} streams open on "
        f"{bench.watched} shipments; {bench.changes} changes at {bench.rate:g}/s) | "
        f"p50 {ms(fan.latencies, 50):.1f} ms, p99 {p99:.1f} ms, max "
        f"{ms(fan.latencies, 100):.1f} ms ({len(fan.latencies):,} of {fan.expected:,} "
        f"deliveries) | p99 ≤ {TARGET_P99_MS:.0f} ms with 1,000 subscribers | "
        f"{verdict(complete and p99 <= TARGET_P99_MS)}{mark} |",
        f"| status change push (one event) | p50 {ms(fan.push_latencies, 50):.1f} ms, p99 "
        f"{ms(fan.push_latencies, 99):.1f} ms | — | — |",
        f"| pings ingested ({bench.ping_clients} drivers, batches of {bench.ping_batch:,}) | "
        f"{rate:,.0f} pings/s ({pings.accepted:,} of {pings.sent:,} in {pings.elapsed:.1f} s) | "
        f"≥ {TARGET_PINGS_PER_S:,} pings/s | "
        f"{verdict(rate >= TARGET_PINGS_PER_S and pings.accepted == pings.sent)}{mark} |",
    ]
    if cpu:
        rows.append(
            f"| CPU per 1,000 pings: server / PostgreSQL | {1000 * cpu.server * per_k:.1f} / "
            f"{1000 * cpu.postgres * per_k:.1f} ms | — | — |"
        )
    return header + "\n" + "\n".join(rows)
