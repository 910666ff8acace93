"""`scripts/bench kpis`: 30-day KPI queries grouped by day and by driver on a seeded history
(`lastmile seed-history`), through the real API on loopback, against p95 <= 300 ms."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import httpx

from backend.bench.server import ADMIN_EMAIL, ADMIN_PASSWORD, fresh_database, running_server
from backend.bench.table import ms
from backend.config import Settings
from backend.db.session import make_engine, make_sessionmaker
from backend.kpis.seed import HistorySize, progress_bar, seed_history

TARGET_P95_MS = 300.0
RANGE_DAYS = 30


@dataclass
class KpisBench:
    database_url: str
    size: HistorySize
    queries: int = 40
    reuse: bool = False
    late: int = 1_000


def add_kpis_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    kpis = commands.add_parser(
        "kpis",
        help="30-day KPI queries by day and by driver on a seeded history",
        description="Creates (drops first) the bench database, seeds a history with "
        "`lastmile seed-history`'s code, starts the API and times KPI queries. "
        "See docs/benchmarks.md.",
    )
    d = HistorySize()
    add = kpis.add_argument
    add("--database-url", default=None, help="must contain 'bench' (default: lastmile_bench_kpis)")
    add("--shipments", type=int, default=d.shipments, help="history size (default 1,000,000)")
    add("--days", type=int, default=d.days, help="days of history")
    add("--drivers", type=int, default=d.drivers)
    add("--hubs", type=int, default=d.hubs)
    add("--queries", type=int, default=40, help="timed queries per grouping")
    add("--late", type=int, default=1_000, help="shipments marked changed for the late run")
    add("--reuse", action="store_true", help="keep the database and its history if seeded")
    add("--output", help="also write the table to this file")


def kpis_bench(args: argparse.Namespace, url: str) -> KpisBench:
    size = HistorySize(args.shipments, args.days, args.hubs, args.drivers)
    return KpisBench(url, size, args.queries, args.reuse, args.late)


async def run_kpis(bench: KpisBench, say: Callable[[str], None]) -> str:
    seeded = await _history(bench, say)
    last_day = dt.date.fromisoformat(seeded)
    window = {"from": (last_day - dt.timedelta(days=RANGE_DAYS - 1)).isoformat(), "to": seeded}
    timings: dict[str, list[float]] = {}
    with running_server(bench.database_url, workers=1, pool_size=4) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
            token = await _sign_in(client)
            headers = {"Authorization": f"Bearer {token}"}
            for group_by in ("day", "driver"):
                params = window | {"group_by": group_by}
                rows = await _time(client, headers, params, 3)  # warm-up, not counted
                say(f"{group_by}: {rows[1]} rows")
                timings[group_by] = (await _time(client, headers, params, bench.queries))[0]
            csv = window | {"group_by": "driver"}
            csv_headers = headers | {"Accept": "text/csv"}
            timings["driver, CSV"] = (await _time(client, csv_headers, csv, 10))[0]
            late = []
            for _ in range(5):
                await _mark_changed(bench.database_url, bench.late)
                late += (await _time(client, headers, window | {"group_by": "day"}, 1))[0]
            timings[f"day, after {bench.late:,} shipments changed"] = late
    return _render(bench, seeded, window, timings)


async def _history(bench: KpisBench, say: Callable[[str], None]) -> str:
    """The last seeded day: seeds a fresh database unless `reuse` finds one seeded."""
    if bench.reuse:
        try:
            connection = await asyncpg.connect(bench.database_url)
            try:
                last = await connection.fetchval("SELECT max(date) FROM routes")
            finally:
                await connection.close()
            if last is not None:
                say(f"reusing the history in {bench.database_url} (last day {last})")
                return str(last)
        except (OSError, asyncpg.PostgresError):
            pass
    say(f"seeding {bench.size.shipments:,} shipments into {bench.database_url}")
    await fresh_database(bench.database_url)
    engine = make_engine(Settings.from_env({"LASTMILE_DATABASE_URL": bench.database_url}))
    try:
        seeded = await seed_history(make_sessionmaker(engine), bench.size, progress=progress_bar)
    finally:
        await engine.dispose()
    say(f"seeded {seeded.events:,} events in {seeded.seconds:,.0f} s; analyzing")
    connection = await asyncpg.connect(bench.database_url)
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    return seeded.last_day


async def _sign_in(client: httpx.AsyncClient) -> str:
    body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    response = await client.post("/v1/auth/token", json=body)
    response.raise_for_status()
    return str(response.json()["access_token"])


async def _time(
    client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, str], n: int
) -> tuple[list[float], int]:
    seconds, rows = [], 0
    for _ in range(n):
        started = time.perf_counter()
        response = await client.get("/v1/kpis", params=params, headers=headers)
        seconds.append(time.perf_counter() - started)
        response.raise_for_status()
        if response.headers["content-type"].startswith("application/json"):
            rows = len(response.json()["rows"])
    return seconds, rows


async def _mark_changed(url: str, count: int) -> None:
    """As if late events had arrived for `count` shipments of the history."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO kpi_dirty_shipments (shipment_id)"
            " SELECT shipment_id FROM kpi_shipment_facts TABLESAMPLE SYSTEM (1) LIMIT $1",
            count,
        )
    finally:
        await connection.close()


def _render(
    bench: KpisBench, last_day: str, window: dict[str, str], timings: dict[str, list[float]]
) -> str:
    lines = [
        f"KPI queries, {window['from']} to {window['to']} ({RANGE_DAYS} days), history of "
        f"{bench.size.shipments:,} shipments over {bench.size.days} days ending {last_day}; "
        f"{os.cpu_count()} cores, {platform.machine()}, {dt.date.today()}",
        "",
        "| query | n | p50 ms | p95 ms | target p95 ms | p95 / target |",
        "|---|---|---|---|---|---|",
    ]
    for name, values in timings.items():
        p95 = ms(values, 95)
        lines.append(
            f"| {name} | {len(values)} | {ms(values, 50):.1f} | {p95:.1f} | {TARGET_P95_MS:.0f}"
            f" | {p95 / TARGET_P95_MS:.2f} |"
        )
    return "\n".join(lines)
