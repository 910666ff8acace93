"""`bench fleet`: seed once, then per fleet size a run of the generator processes against the
server, with the CPU of the server, of PostgreSQL and of the generator measured around it."""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from backend.bench.fleet.actors import Clock, Driver, decode_pull, head
from backend.bench.fleet.generator import Outcome, Share, generator_process
from backend.bench.fleet.report import Calibration, StepResult, render
from backend.bench.fleet.seed import Names, bind_devices, seed_fleet, seeded_fleet
from backend.bench.fleet.spec import FleetBench, Timeline
from backend.bench.live import allow_open_files
from backend.bench.server import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SECRET_KEY,
    CpuMeter,
    Server,
    api_process,
    fresh_database,
)
from backend.bench.wire import WireConnection

CALIBRATION_CLIENTS = 8


def server_env(bench: FleetBench, streams: int) -> dict[str, str]:
    """The API as deployed, with two changes so the limits do not distort what is measured:
    the rate limiter counts in memory (no actor comes near its budget; a shared store would
    add a statement per request) and the live connection cap fits the streams held open."""
    return {
        "LASTMILE_DATABASE_URL": bench.database_url,
        "LASTMILE_SECRET_KEY": SECRET_KEY,
        "LASTMILE_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "LASTMILE_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LASTMILE_DB_POOL_SIZE": str(bench.pool_size),
        "LASTMILE_WORKERS": str(bench.workers),
        "LASTMILE_RATE_LIMIT_BACKEND": "memory",
        "LASTMILE_LIVE_MAX_CONNECTIONS": str(max(5_000, streams + 1_000)),
    }


@dataclass
class FleetRun:
    steps: list[StepResult]
    calibration: Calibration | None
    table: str


async def fleet_table(bench: FleetBench, say: Callable[[str], None] = print) -> str:
    return (await run_fleet(bench, say)).table


async def run_fleet(bench: FleetBench, say: Callable[[str], None] = print) -> FleetRun:
    seeded = bench.seeded
    streams = round(bench.rates.streams_per_driver * seeded)
    allow_open_files(streams + bench.procs * bench.connections + 1_024)
    reused = await seeded_fleet(bench.database_url, seeded, bench.stops) if bench.reuse else None
    seed_seconds: float | None = None
    if reused:
        tag = reused
        say(f"[fleet] reusing the fleet seeded in {bench.database_url}")
    else:
        tag = secrets.token_hex(4)
        say(f"[fleet] fresh database; seeding {seeded:,} drivers x {bench.stops} stops")
        await fresh_database(bench.database_url)
        seed_seconds = await seed_fleet(bench.database_url, tag, seeded, bench.stops)
        say(f"[fleet] seeded in {seed_seconds:.0f} s")
    run_label = secrets.token_hex(2)
    env = server_env(bench, streams)
    steps: list[StepResult] = []
    with api_process(env, workers=bench.workers, log_prefix="lastmile-bench-fleet-") as server:
        say(f"[fleet] server on {server.base_url}, {bench.workers} worker(s)")
        calibration = None
        if bench.calibrate:
            calibration = await calibrate(bench, server, tag, f"{run_label}c")
            say("[fleet] calibrated CPU per request kind")
        for n, size in enumerate(bench.steps, start=1):
            step = f"{run_label}s{n}"
            result = await one_step(bench, server, tag, size, step, bench.search_timeline, say)
            steps.append(result)
            if not result.passed and not bench.search_past_miss:
                break
        if bench.full_run:
            step = f"{run_label}full"
            steps.append(
                await one_step(bench, server, tag, bench.drivers, step, bench.timeline, say)
            )
    table = render(bench, seeded, seed_seconds, steps, calibration)
    return FleetRun(steps, calibration, table)


async def one_step(
    bench: FleetBench,
    server: Server,
    tag: str,
    drivers: int,
    step: str,
    timeline: Timeline,
    say: Callable[[str], None],
) -> StepResult:
    await bind_devices(bench.database_url, tag, drivers, step)
    names = Names(tag, bench.stops, step)
    say(
        f"[fleet] {drivers:,} drivers: {timeline.start:.0f} s shift start, "
        f"{timeline.steady:.0f} s steady, {timeline.end:.0f} s shift end"
    )
    context = multiprocessing.get_context("spawn")
    ready, out = context.Queue(), context.Queue()
    go, start = context.Event(), context.Value("d", 0.0)
    procs = max(1, min(bench.procs, drivers))
    shares = [
        Share(
            i,
            procs,
            server.base_url,
            names,
            drivers,
            timeline,
            bench.rates,
            bench.connections,
            bench.timeout,
            seed=zlib.crc32(f"{step}-{i}".encode()),
        )
        for i in range(procs)
    ]
    children = [
        context.Process(target=generator_process, args=(share, ready, go, start, out))
        for share in shares
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for child in children:
        child.start()
    outcome = Outcome()
    try:
        for _ in children:
            await asyncio.to_thread(ready.get, True, 600)
        meter = await CpuMeter(server.pids(), bench.database_url).start()
        start.value = time.time() + 0.5
        go.set()
        began = time.monotonic()
        for _ in children:
            outcome.merge(await asyncio.to_thread(out.get, True, timeline.total + 600))
        wall = time.monotonic() - began
        await meter.stop()
    finally:
        for child in children:
            child.join(timeout=10)
            if child.is_alive():
                child.kill()
                child.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lifetime = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = StepResult(
        drivers, timeline, outcome, meter.server, meter.postgres, outcome.cpu, wall, lifetime
    )
    say(f"[fleet] {drivers:,} drivers: {'PASS' if result.passed else 'MISS'} ({result.summary()})")
    return result


# CPU per request kind, each kind alone ----------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    name: str
    requests: int


_KINDS = (
    _Kind("snapshot", 48),
    _Kind("delta pull", 400),
    _Kind("push", 200),
    _Kind("ping", 400),
    _Kind("tracking page", 400),
)


async def calibrate(bench: FleetBench, server: Server, tag: str, step: str) -> Calibration:
    """Closed loop, one kind at a time, `CALIBRATION_CLIENTS` drivers on their own devices:
    server and PostgreSQL CPU seconds per request of each kind (pushes of 10 events, the middle
    of 1-20)."""
    clients = min(CALIBRATION_CLIENTS, bench.seeded)
    await bind_devices(bench.database_url, tag, clients, step)
    names = Names(tag, bench.stops, step)
    host = server.base_url.removeprefix("http://")
    drivers = [Driver(k, names, host) for k in range(clients)]
    clock = Clock(time.time(), time.monotonic())
    connections = [await WireConnection.open(server.base_url) for _ in drivers]
    figures: dict[str, tuple[float, float, int]] = {}
    try:
        for kind in _KINDS:
            per_client = max(1, kind.requests // clients)

            async def loop(
                driver: Driver,
                connection: WireConnection,
                kind: str = kind.name,
                count: int = per_client,
            ) -> None:
                for n in range(count):
                    if kind == "push":
                        answer = await connection.request(
                            driver.push_head, driver.push_body(10, clock)
                        )
                    elif kind == "ping":
                        answer = await connection.request(driver.ping_head, driver.ping_body())
                    elif kind == "tracking page":
                        token = names.tracking_token(driver.k, n % bench.stops)
                        answer = await connection.request(head(host, "GET", f"/t/{token}", {}))
                    else:
                        path_head = (
                            driver.snapshot_head if kind == "snapshot" else driver.delta_head()
                        )
                        answer = await connection.request(path_head)
                        driver.cursor = decode_pull(answer.body).cursor or driver.cursor
                    if answer.status != 200:
                        raise RuntimeError(
                            f"calibration {kind}: {answer.status} {answer.body[:200]!r}"
                        )

            meter = await CpuMeter(server.pids(), bench.database_url).start()
            await asyncio.gather(*(loop(d, c) for d, c in zip(drivers, connections, strict=True)))
            await meter.stop()
            figures[kind.name] = (meter.server, meter.postgres, per_client * clients)
    finally:
        for connection in connections:
            await connection.close()
    return Calibration(figures)
