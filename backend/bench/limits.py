"""`scripts/bench limits`: what the rate limiter costs.

Two parts. The stores alone, in this process: the time of one hit, sequentially (latency) and
with 16 hits at once (throughput). Then end to end: one API worker under a concurrent load of a
cheap signed-in request (`GET /v1/hubs?limit=1`, one small query: the limiter's share is as
large as it gets), with the per-account rule off and then kept in each store, at a rate so
high it never refuses, so every request pays for one hit. On a shared machine throughput
swings with the neighbours' load; the CPU time per request (API process, PostgreSQL, Redis)
is the steadier figure, so both are printed, and the configurations alternate over rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import httpx
from redis.asyncio import Redis

from backend.bench.server import CpuMeter, api_process, cpu_seconds, free_port, fresh_database
from backend.bench.table import machine, ms
from backend.limits.postgres import PostgresStore
from backend.limits.rates import Rate
from backend.limits.redis_store import RedisStore
from backend.limits.stores import MemoryStore, Store

ADMIN_EMAIL = "admin@bench.lastmile"
ADMIN_PASSWORD = "bench-admin-password"
NEVER_REFUSES = "100000000/1s"
STORES = ("memory", "postgres", "redis")


@dataclass
class LimitsBench:
    database_url: str
    hits: int = 5_000
    concurrency: int = 16
    seconds: float = 5.0
    warmup: float = 1.5
    rounds: int = 2


@dataclass
class StoreRun:
    name: str
    sequential_us: float
    concurrent_per_s: float


@dataclass
class HttpRun:
    store: str
    requests: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    cpu_api: float = 0.0
    cpu_postgres: float = 0.0
    cpu_redis: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def cpu_us(self, seconds: float) -> float:
        return 1e6 * seconds / self.requests if self.requests else 0.0

    def add(self, other: HttpRun) -> None:
        for name in ("requests", "elapsed", "errors", "cpu_api", "cpu_postgres", "cpu_redis"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.latencies += other.latencies


@dataclass
class RedisServer:
    url: str
    pid: int


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer | None]:
    """A Redis of our own on a free port (nothing kept on disk), or None without the binary."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        yield RedisServer(f"redis://127.0.0.1:{port}/0", process.pid)
    finally:
        process.terminate()
        process.wait(10)


async def time_store(name: str, store: Store, bench: LimitsBench) -> StoreRun:
    rate = Rate(100_000_000, 1)
    for n in range(100):  # connections opened, statements prepared
        await store.hit(f"warm{n}", rate)
    started = time.perf_counter()
    for n in range(bench.hits):
        await store.hit(f"seq{n % 50}", rate)
    sequential = (time.perf_counter() - started) / bench.hits

    async def worker(index: int) -> None:
        for n in range(bench.hits // bench.concurrency):
            await store.hit(f"c{index}:{n % 50}", rate)

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(bench.concurrency)))
    done = bench.hits // bench.concurrency * bench.concurrency
    return StoreRun(name, sequential * 1e6, done / (time.perf_counter() - started))


async def stores_alone(bench: LimitsBench, redis_url: str | None) -> list[StoreRun]:
    runs = [await time_store("memory", MemoryStore(), bench)]
    postgres = PostgresStore(bench.database_url)
    try:
        runs.append(await time_store("postgres", postgres, bench))
        await (await postgres._connections()).execute("TRUNCATE rate_limits")
    finally:
        await postgres.close()
    if redis_url:
        store = RedisStore(Redis.from_url(redis_url), prefix="bench:")
        try:
            runs.append(await time_store("redis", store, bench))
        finally:
            await store.close()
    return runs


def server_env(bench: LimitsBench, store: str, redis_url: str | None) -> dict[str, str]:
    env = {
        "LASTMILE_DATABASE_URL": bench.database_url,
        "LASTMILE_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "LASTMILE_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LASTMILE_EMBEDDED_WORKER": "false",
        "LASTMILE_RATE_LIMIT_ACCOUNT": "off" if store == "off" else NEVER_REFUSES,
        "LASTMILE_RATE_LIMIT_BACKEND": "memory" if store == "off" else store,
    }
    if redis_url:
        env["LASTMILE_REDIS_URL"] = redis_url
    return env


async def load(
    base_url: str,
    token: str,
    bench: LimitsBench,
    run: HttpRun,
    on_measure: Callable[[], Awaitable[object]],
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=bench.concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as http:
        measuring = False

        async def client(deadline: float) -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await http.get("/v1/hubs?limit=1", headers=headers)
                if not measuring:
                    continue
                if response.status_code != 200:
                    run.errors += 1
                run.requests += 1
                run.latencies.append(time.perf_counter() - started)

        warm_end = time.perf_counter() + bench.warmup
        await asyncio.gather(*(client(warm_end) for _ in range(bench.concurrency)))
        await on_measure()
        measuring = True
        started = time.perf_counter()
        end = started + bench.seconds
        await asyncio.gather(*(client(end) for _ in range(bench.concurrency)))
        run.elapsed = time.perf_counter() - started


async def end_to_end(bench: LimitsBench, store: str, redis: RedisServer | None) -> HttpRun:
    run = HttpRun(store)
    env = server_env(bench, store, redis.url if redis else None)
    with api_process(env, log_prefix="lastmile-bench-limits-") as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            answer = await http.post(
                "/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            )
            answer.raise_for_status()
        token = answer.json()["access_token"]
        redis_pids = [redis.pid] if redis else []
        meter = CpuMeter(server.pids(), bench.database_url)
        redis0 = cpu_seconds(redis_pids)
        await load(server.base_url, token, bench, run, on_measure=meter.start)
        await meter.stop()
        run.cpu_api, run.cpu_postgres = meter.server, meter.postgres
        run.cpu_redis = cpu_seconds(redis_pids) - redis0
    return run


async def run_limits(bench: LimitsBench, say: Callable[[str], None] = print) -> str:
    say("[limits] fresh database, migrations")
    await fresh_database(bench.database_url)
    with redis_server() as redis:
        say(f"[limits] stores alone, {bench.hits} hits each")
        stores = await stores_alone(bench, redis.url if redis else None)
        names = ("off", *(s for s in STORES if s != "redis" or redis))
        totals = {name: HttpRun(name) for name in names}
        for round_ in range(1, bench.rounds + 1):
            for name in names:
                say(f"[limits] round {round_}: end to end, per-account rule {name}")
                totals[name].add(await end_to_end(bench, name, redis))
    return render(bench, stores, list(totals.values()))


def render(bench: LimitsBench, stores: list[StoreRun], runs: list[HttpRun]) -> str:
    box = machine()
    lines = [
        f"Lastmile limits bench; {box['date']}: {box['cpus']} CPUs, {box['memory']}, "
        f"load average {os.getloadavg()[0]:.1f} at the end\n",
        "| store alone | one hit, sequential | hits/s, 16 at once |",
        "|---|---|---|",
    ]
    lines += [
        f"| {r.name} | {r.sequential_us:.0f} µs | {r.concurrent_per_s:,.0f} |" for r in stores
    ]
    base = runs[0]
    lines += [
        "",
        f"`GET /v1/hubs?limit=1`, 1 API worker, {bench.concurrency} clients, {bench.rounds} "
        f"rounds of {bench.seconds:.0f} s per row, alternating; CPU per request in µs:\n",
        "| per-account rule | requests/s | vs off | p50 ms | p99 ms | CPU API | CPU PostgreSQL "
        "| CPU Redis | CPU total vs off | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    base_cpu = _cpu_total(base) or 1.0
    lines += [
        f"| {r.store} | {r.rate:,.0f} | {r.rate / (base.rate or 1.0):.2f} | "
        f"{ms(r.latencies, 50):.1f} | {ms(r.latencies, 99):.1f} | {r.cpu_us(r.cpu_api):.0f} | "
        f"{r.cpu_us(r.cpu_postgres):.0f} | {r.cpu_us(r.cpu_redis):.0f} | "
        f"{_cpu_total(r) / base_cpu:.2f} | {r.errors} |"
        for r in runs
    ]
    return "\n".join(lines)


def _cpu_total(run: HttpRun) -> float:
    return run.cpu_us(run.cpu_api + run.cpu_postgres + run.cpu_redis)
