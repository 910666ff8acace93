"""`scripts/bench webhooks`: webhook deliveries per second to a local receiver in its own
process, with 1 and 2 worker processes, against the raw limit (the same HTTP client posting
the same pre-signed bodies to the same receiver, no database), and again with dead endpoints
(connections refused) holding pending deliveries beside the healthy ones. It measures; it
does not gate. Beside each rate it reports the CPU spent per delivery (per post, raw): the
worker or client processes, the receiver, and PostgreSQL's processes working for the bench
database, read from /proc, which outside load changes far less than a rate. (The server's
shared processes, the WAL writer and the checkpointer, are left out: on a shared machine they
mostly work for the other databases.)"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from backend.bench.server import cpu_seconds
from backend.config import Settings
from backend.db.migrations import upgrade
from backend.db.scratch import recreate_database, with_database
from backend.webhooks.sender import Outgoing, Sender
from backend.webhooks.signing import message_id, new_secret, secret_key

BODY = (
    b'{"data": {"occurred_at": "2026-12-01T10:00:00Z", "reference": "ORDER-000001", '
    b'"sequence": 3, "shipment_id": "01939a4e-0000-7000-8000-000000000001", '
    b'"status": "delivered", "tracking_number": "LM0000000000AB"}, '
    b'"timestamp": "2026-12-01T10:00:01.000000Z", "type": "shipment.delivered"}'
)


@dataclass
class Cpu:
    """CPU µs per delivery (raw: per post) of the sending side, the receiver and PostgreSQL."""

    sender: float
    receiver: float
    postgres: float = 0.0

    @property
    def total(self) -> float:
        return self.sender + self.receiver + self.postgres

    def __str__(self) -> str:
        return (
            f"{self.total:.0f} µs = {self.sender:.0f} sender + {self.receiver:.0f} receiver"
            f" + {self.postgres:.0f} PostgreSQL"
        )


@dataclass
class WebhooksBench:
    database_url: str
    deliveries: int = 20_000
    healthy_endpoints: int = 20
    dead_endpoints: int = 1_000
    dead_per_endpoint: int = 3
    workers: tuple[int, ...] = (1, 2)
    max_in_flight: int = 128
    per_endpoint: int = 16
    time_limit: float = 90.0
    repeat: int = 1


def add_webhooks_parser(commands: Any) -> None:
    parser = commands.add_parser("webhooks", help="webhook deliveries/s vs the raw HTTP limit")
    d = WebhooksBench(database_url="")
    add = parser.add_argument
    add("--database-url", default=None, help="dropped and re-created; name must contain 'bench'")
    add("--deliveries", type=int, default=d.deliveries)
    add("--healthy-endpoints", type=int, default=d.healthy_endpoints)
    add("--dead-endpoints", type=int, default=d.dead_endpoints)
    add("--dead-per-endpoint", type=int, default=d.dead_per_endpoint)
    add("--workers", default=",".join(map(str, d.workers)))
    add("--max-in-flight", type=int, default=d.max_in_flight)
    add("--per-endpoint", type=int, default=d.per_endpoint)
    add("--time-limit", type=float, default=d.time_limit, help="seconds per measurement, at most")
    add("--repeat", type=int, default=d.repeat, help="runs of each configuration (median shown)")
    add("--output")


def bench_from(args: argparse.Namespace, url: str) -> WebhooksBench:
    return WebhooksBench(
        database_url=url,
        deliveries=args.deliveries,
        healthy_endpoints=args.healthy_endpoints,
        dead_endpoints=args.dead_endpoints,
        dead_per_endpoint=args.dead_per_endpoint,
        workers=tuple(int(w) for w in args.workers.split(",") if w),
        max_in_flight=args.max_in_flight,
        per_endpoint=args.per_endpoint,
        time_limit=args.time_limit,
        repeat=args.repeat,
    )


def run_webhooks(bench: WebhooksBench) -> str:
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    spawn = multiprocessing.get_context("spawn")
    port = _free_port()
    receiver = spawn.Process(target=_receiver_main, args=(port,), daemon=True)
    receiver.start()
    _wait_for_port(port)
    rows = [f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start", ""]
    try:
        asyncio.run(_prepare(bench))
        # Each configuration `repeat` times, interleaved, so a burst of outside load hits
        # every configuration alike; the medians are shown.
        raws: dict[int, list[float]] = {n: [] for n in bench.workers}
        runs: dict[tuple[int, int], list[float]] = {}
        cpus: dict[Any, list[Cpu]] = {}
        for _ in range(bench.repeat):
            for n in bench.workers:
                rate, cpu = _raw(spawn, receiver.pid, port, bench, n)
                raws[n].append(rate)
                cpus.setdefault(("raw", n), []).append(cpu)
                say(f"raw, {n} process(es): {rate:,.0f}/s, CPU per post {cpu}")
                for dead in (0, bench.dead_endpoints):
                    rate, cpu = _measure(spawn, receiver.pid, port, bench, n, dead)
                    runs.setdefault((n, dead), []).append(rate)
                    cpus.setdefault((n, dead), []).append(cpu)
                    say(
                        f"{n} worker(s), {dead} dead endpoints: {rate:,.0f} deliveries/s,"
                        f" CPU per delivery {cpu}"
                    )
        raw = {n: statistics.median(v) for n, v in raws.items()}
        rates = {key: statistics.median(v) for key, v in runs.items()}
        table = [("workers", "dead endpoints", "deliveries/s", "raw limit/s", "ratio", "runs")]
        for (n, dead), rate in sorted(rates.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            spread = "/".join(f"{r:,.0f}" for r in runs[n, dead])
            table.append(
                (
                    str(n),
                    str(dead),
                    f"{rate:,.0f}",
                    f"{raw[n]:,.0f}",
                    f"{rate / raw[n]:.2f}",
                    spread,
                )
            )
        for n in bench.workers:
            share = rates[n, bench.dead_endpoints] / rates[n, 0]
            rows.append(
                f"{n} worker(s): healthy rate with {bench.dead_endpoints} dead endpoints ="
                f" {share:.2f} of the clean rate (target >= 0.90)"
            )
        widths = [max(len(r[i]) for r in table) for i in range(6)]
        lines = [" | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in table]
        rows = [*lines, "", *rows, "", "CPU per delivery (raw: per post), median of the runs:"]
        for key, measured in cpus.items():
            name = (
                f"raw, {key[1]} process(es)"
                if key[0] == "raw"
                else f"{key[0]} worker(s), {key[1]} dead"
            )
            rows.append(f"  {name}: {_median_cpu(measured)}")
        rows.append("targets: >= 2,000 deliveries/s and >= 0.5 of the raw limit")
    finally:
        receiver.terminate()
        receiver.join(5)
    return "\n".join(rows)


async def _prepare(bench: WebhooksBench) -> None:
    await recreate_database(bench.database_url, marker="bench")
    settings = Settings.from_env({}, database_url=bench.database_url)
    await asyncio.to_thread(upgrade, settings)


async def _seed(bench: WebhooksBench, port: int, dead: int) -> None:
    """Endpoints, events and due deliveries, written straight to the tables."""
    connection = await asyncpg.connect(bench.database_url)
    try:
        await connection.execute(
            "TRUNCATE webhook_attempts, webhook_deliveries, webhook_events, webhook_endpoints"
        )
        secret = new_secret()
        dead_port = _free_port()
        await connection.execute(
            """
            INSERT INTO webhook_endpoints (id, url, event_types, secret, failing_since)
            SELECT lastmile_uuid7(), CASE WHEN i <= $1::int THEN $3::text || i ELSE $4::text || i END,
                   ARRAY['shipment.delivered'], $5,
                   -- Dead endpoints have been failing for a while, as in real life.
                   CASE WHEN i > $1::int THEN now() - interval '1 hour' END
            FROM generate_series(1, $1::int + $2::int) AS i
            """,
            bench.healthy_endpoints,
            dead,
            f"http://127.0.0.1:{port}/h",
            f"http://127.0.0.1:{dead_port}/dead",
            secret,
        )
        await connection.execute(
            """
            WITH ev AS (
                INSERT INTO webhook_events (id, type, body)
                SELECT lastmile_uuid7(), 'shipment.delivered', $1
                FROM generate_series(1, $2::int + $3::int) RETURNING id
            ), numbered AS (SELECT id, row_number() OVER () AS n FROM ev),
            eps AS (SELECT id, row_number() OVER (ORDER BY url LIKE '%/dead%', id) AS k
                    FROM webhook_endpoints)
            INSERT INTO webhook_deliveries (id, event_id, endpoint_id)
            SELECT lastmile_uuid7(), numbered.id, eps.id FROM numbered JOIN eps ON eps.k =
                CASE WHEN numbered.n <= $2::int THEN 1 + numbered.n % $4::int
                     ELSE $4::int + 1 + (numbered.n - $2::int) % greatest($5::int, 1) END
            """,
            BODY,
            bench.deliveries,
            dead * bench.dead_per_endpoint,
            bench.healthy_endpoints,
            dead,
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def _median_cpu(measured: list[Cpu]) -> Cpu:
    return Cpu(
        statistics.median(c.sender for c in measured),
        statistics.median(c.receiver for c in measured),
        statistics.median(c.postgres for c in measured),
    )


async def _healthy_delivered(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM webhook_deliveries d JOIN webhook_endpoints e"
            " ON e.id = d.endpoint_id WHERE d.status = 'delivered' AND e.url NOT LIKE '%/dead%'"
        )
    finally:
        await connection.close()


def _measure(
    spawn: Any, receiver: int, port: int, bench: WebhooksBench, workers: int, dead: int
) -> tuple[float, Cpu]:
    asyncio.run(_seed(bench, port, dead))
    stop, go, ready = spawn.Event(), spawn.Event(), spawn.Semaphore(0)
    procs = [
        spawn.Process(target=_worker_main, args=(bench, go, ready, stop), daemon=True)
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:  # the clock starts once every worker has started up
        ready.acquire(timeout=120)
    workers0 = cpu_seconds([proc.pid for proc in procs])
    postgres0 = asyncio.run(_postgres_cpu(bench.database_url))
    receiver0 = cpu_seconds([receiver])
    go.set()
    started = time.perf_counter()
    done = 0
    try:
        while time.perf_counter() - started < bench.time_limit:
            time.sleep(0.25)
            done = asyncio.run(_healthy_delivered(bench.database_url))
            if done >= bench.deliveries:
                break
    finally:
        elapsed = time.perf_counter() - started
        # Measured before the workers stop, while their database sessions still exist.
        workers_cpu = cpu_seconds([proc.pid for proc in procs]) - workers0
        postgres = asyncio.run(_postgres_cpu(bench.database_url))
        postgres_cpu = sum(cpu - postgres0.get(pid, 0.0) for pid, cpu in postgres.items())
        receiver_cpu = cpu_seconds([receiver]) - receiver0
        stop.set()
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.terminate()
    per = 1e6 / max(done, 1)
    return done / elapsed, Cpu(workers_cpu * per, receiver_cpu * per, postgres_cpu * per)


async def _postgres_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL process working for this database (its sessions
    and its autovacuum); a session that starts later counts from zero."""
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return {row["pid"]: cpu_seconds([row["pid"]]) for row in rows}


def _worker_main(bench: WebhooksBench, go: Any, ready: Any, stop_flag: Any) -> None:
    from backend.db.session import make_engine, make_sessionmaker
    from backend.webhooks.worker import WebhookWorker

    async def main() -> None:
        settings = Settings.from_env({}, database_url=bench.database_url, db_pool_size=4)
        engine = make_engine(settings)
        worker = WebhookWorker(
            make_sessionmaker(engine),
            allow_private=True,
            max_in_flight=bench.max_in_flight,
            per_endpoint=bench.per_endpoint,
            claim_size=200,
            poll_seconds=0.05,
        )
        stop = asyncio.Event()
        ready.release()
        await asyncio.to_thread(go.wait)

        async def watch() -> None:
            await asyncio.to_thread(stop_flag.wait)
            stop.set()

        await asyncio.gather(worker.run(stop), watch())
        await engine.dispose()

    asyncio.run(main())


def _raw(
    spawn: Any, receiver: int, port: int, bench: WebhooksBench, processes: int
) -> tuple[float, Cpu]:
    """The same client, the same pre-signed bodies, the same receiver; no database."""
    queue, go, ready = spawn.Queue(), spawn.Event(), spawn.Semaphore(0)
    per_process = bench.deliveries // processes
    procs = [
        spawn.Process(
            target=_raw_main, args=(port, per_process, bench.max_in_flight, queue, go, ready)
        )
        for _ in range(processes)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:  # all start sending together
        ready.acquire(timeout=120)
    receiver0 = cpu_seconds([receiver])
    go.set()
    results = [queue.get(timeout=bench.time_limit + 120) for _ in procs]
    receiver_cpu = cpu_seconds([receiver]) - receiver0
    for proc in procs:
        proc.join(10)
    # Each process times its own sending (not its start-up) and its CPU; they run side by side.
    sent = sum(result[0] for result in results)
    per = 1e6 / max(sent, 1)
    cpu = Cpu(sum(result[2] for result in results) * per, receiver_cpu * per)
    return sent / max(result[1] for result in results), cpu


def _raw_main(port: int, count: int, concurrency: int, queue: Any, go: Any, ready: Any) -> None:
    async def main() -> tuple[int, float, float]:
        keys = [secret_key(new_secret())]
        url = f"http://127.0.0.1:{port}/raw"
        items = [
            Outgoing(i, "raw", 1, message_id(f"{i:032x}"), url, keys, BODY) for i in range(count)
        ]
        ok = 0
        async with Sender(allow_private=True, max_connections=concurrency) as sender:
            ready.release()
            await asyncio.to_thread(go.wait)
            started, cpu0 = time.perf_counter(), time.process_time()

            async def lane(start: int) -> None:
                nonlocal ok
                for item in items[start::concurrency]:
                    outcome = await sender.send(item, datetime.now(UTC))
                    ok += outcome.delivered

            await asyncio.gather(*(lane(i) for i in range(concurrency)))
            return ok, time.perf_counter() - started, time.process_time() - cpu0

    queue.put(asyncio.run(main()))


def _receiver_main(port: int) -> None:
    from backend.bench.receiver import serve_on

    serve_on(port)


def _wait_for_port(port: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def default_url(server: str) -> str:
    return with_database(server, "lastmile_bench_webhooks")
