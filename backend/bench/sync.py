"""`bench sync`: push throughput and pull latency end to end, against the raw insert limit.

Per server configuration (1 worker, then 2): a fresh bench database, migrated; the server
started; a fleet seeded through the API; snapshot and delta pulls timed; then every device
pushes its whole day in batches, all devices at once. The raw limit is measured once, with no
server running, on the database of the first configuration.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import httpx

from backend.bench import load, pulls, raw
from backend.bench.server import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CpuMeter,
    Server,
    fresh_database,
    running_server,
)
from backend.bench.table import WorkerResult, machine, render
from backend.simulator.config import SimConfig
from backend.simulator.fleet import DRIVER_PASSWORD, Fleet, bounded, setup_fleet
from backend.simulator.http import ApiClient


@dataclass(frozen=True)
class SyncBench:
    database_url: str
    drivers: int = 50
    stops: int = 250
    events: int = 100_000
    batch: int = 100
    workers: tuple[int, ...] = (1, 2)
    client_procs: int = 1
    pool_size: int = 10
    raw_pool: int = 10
    pull_requests: int = 200
    pull_clients: int = 8
    analyze: bool = True

    @property
    def per_device(self) -> int:
        return -(-self.events // self.drivers)


async def seed(admin: ApiClient, bench: SyncBench) -> tuple[Fleet, dict[str, str]]:
    config = SimConfig(
        devices=bench.drivers, stops_per_route=bench.stops, spare_shipments=0, concurrency=4
    )
    fleet = await setup_fleet(admin, config, uuid.uuid4().hex[:8])
    root = ApiClient(admin.http)
    signed = await bounded(
        4,
        (root.sign_in(seat.email, DRIVER_PASSWORD, seat.device_id) for seat in fleet.seats),
    )
    tokens = {seat.device_id: str(api.token) for seat, api in zip(fleet.seats, signed, strict=True)}
    return fleet, tokens


async def one_configuration(
    bench: SyncBench, workers: int, say: Callable[[str], None]
) -> tuple[WorkerResult, Fleet]:
    say(f"[{workers} worker(s)] fresh database, migrations")
    await fresh_database(bench.database_url)
    with running_server(bench.database_url, workers, bench.pool_size) as server:
        say(f"[{workers} worker(s)] server on {server.base_url} (log {server.log_path})")
        async with httpx.AsyncClient(base_url=server.base_url, timeout=300) as http:
            began = time.perf_counter()
            admin = await ApiClient(http).sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
            fleet, tokens = await seed(admin, bench)
            seeded = time.perf_counter() - began
            if bench.analyze:
                await analyze(bench.database_url)
            say(
                f"[{workers} worker(s)] seeded {bench.drivers} drivers x {bench.stops} stops "
                f"in {seeded:.1f} s; timing pulls"
            )
            timed = await time_pulls(bench, server, admin, fleet, tokens)
        loads = load.build_loads(fleet, tokens, bench.per_device, bench.batch)
        say(
            f"[{workers} worker(s)] pushing {sum(len(x.bodies) for x in loads):,} batches "
            f"from {len(loads)} devices ({bench.client_procs} client process(es))"
        )
        meter = await CpuMeter(server.pids(), bench.database_url).start()
        pushed = await load.push(server.base_url, loads, bench.client_procs)
        await meter.stop()
    for error in pushed.errors[:5]:
        say(f"  push error: {error}")
    if pushed.rejected or pushed.accepted != pushed.events:
        say(f"  accepted {pushed.accepted:,} of {pushed.events:,}; rejected {pushed.rejected:,}")
    (snapshot, snapshot_cpu), (delta, delta_cpu) = timed
    result = WorkerResult(workers, pushed, meter, snapshot, delta, seeded)
    result.pull_cpu = {"snapshot": snapshot_cpu, "delta": delta_cpu}
    return result, fleet


async def time_pulls(
    bench: SyncBench, server: Server, admin: ApiClient, fleet: Fleet, tokens: dict[str, str]
) -> tuple[tuple[pulls.PullRun, CpuMeter], tuple[pulls.PullRun, CpuMeter]]:
    """Snapshots first, then deltas (before any push: delivered shipments cannot be edited)."""
    device_tokens = [tokens[seat.device_id] for seat in fleet.seats]
    snapshot_cpu = await CpuMeter(server.pids(), bench.database_url).start()
    snapshot = await pulls.snapshot_pulls(
        server.base_url, device_tokens, bench.pull_requests, bench.pull_clients
    )
    await snapshot_cpu.stop()
    delta_tokens, delta_params = await pulls.prepare_deltas(
        admin, fleet, tokens, bench.pull_clients
    )
    delta_cpu = await CpuMeter(server.pids(), bench.database_url).start()
    delta = await pulls.timed_pulls(
        server.base_url, delta_tokens, delta_params, bench.pull_requests // len(delta_tokens)
    )
    await delta_cpu.stop()
    return (snapshot, snapshot_cpu), (delta, delta_cpu)


async def measure_raw(
    bench: SyncBench, fleet: Fleet, say: Callable[[str], None]
) -> tuple[load.PushRun, CpuMeter]:
    senders = raw.build_batches(fleet, bench.per_device, bench.batch)
    say(f"[raw] {bench.events:,} events straight into sync_events, pool of {bench.raw_pool}")
    return await raw.insert_raw(bench.database_url, senders, bench.raw_pool)


async def analyze(url: str) -> None:
    """Fresh statistics after the bulk load, as autovacuum would soon have them."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def postgres_version(url: str) -> str:
    connection = await asyncpg.connect(url)
    try:
        return (await connection.fetchval("SHOW server_version")).split()[0]
    finally:
        await connection.close()


async def run_sync(bench: SyncBench, say: Callable[[str], None] = print) -> str:
    results: list[WorkerResult] = []
    raw_run = None
    for workers in bench.workers:
        result, fleet = await one_configuration(bench, workers, say)
        results.append(result)
        if raw_run is None:
            raw_run = await measure_raw(bench, fleet, say)
    box = machine() | {"postgres": await postgres_version(bench.database_url)}
    header = (
        f"Lastmile sync bench, {box['date']}: {box['cpus']} CPUs, {box['memory']}, "
        f"PostgreSQL {box['postgres']}\n"
        f"{bench.drivers} devices x {bench.per_device:,} events (batches of {bench.batch}), "
        f"all devices at once; {bench.client_procs} client process(es); server pool "
        f"{bench.pool_size} per worker; raw pool {bench.raw_pool}; pulls: "
        f"{bench.pull_requests} requests from {bench.pull_clients} clients; statistics "
        f"{'refreshed (ANALYZE) after seeding' if bench.analyze else 'left to autovacuum'}\n"
    )
    return header + "\n" + render(results, raw_run)
