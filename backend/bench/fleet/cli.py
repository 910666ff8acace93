"""The `fleet` subcommand of `scripts/bench`: its arguments."""

from __future__ import annotations

import argparse
from typing import Any

from backend.bench.fleet.spec import FleetBench, Timeline


def add_fleet_parser(commands: Any) -> None:
    fleet = commands.add_parser(
        "fleet",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="open-loop fleet: drivers, recipients and dispatch at realistic rates; capacity",
        description="Creates (drops first) the bench database lastmile_bench_fleet, seeds a "
        "fleet set-based, starts the API and runs simulated drivers (pushes, pings, pulls), "
        "recipients (tracking pages, SSE streams) and dispatch (edits) on their own schedules "
        "through a shift start, a steady state and a shift end. With --step, first the "
        "capacity search over those sizes on shorter phases. See docs/benchmarks.md.",
    )
    d = FleetBench(database_url="")
    add = fleet.add_argument
    add("--database-url", default=None, help="the bench database (name must contain 'bench')")
    add("--drivers", type=int, default=d.drivers, help="fleet size of the full run")
    add("--stops", type=int, default=d.stops, help="stops per driver's route")
    add("--minutes", type=float, default=d.timeline.steady / 60, help="steady state, minutes")
    add("--start-seconds", type=float, default=d.timeline.start, help="shift start window")
    add("--end-seconds", type=float, default=d.timeline.end, help="shift end window")
    add(
        "--step",
        default="",
        help="capacity search: fleet sizes, comma separated, e.g. "
        "500,1000,2000,5000; stops at the first size that misses a target",
    )
    add(
        "--search-seconds",
        default="60,60,30",
        help="the search's shift start, steady and shift end seconds",
    )
    add("--search-only", action="store_true", help="no full run after the search")
    add(
        "--past-miss",
        action="store_true",
        help="measure every size of --step, not only up to the first miss (how it degrades)",
    )
    add("--workers", type=int, default=d.workers, help="API worker processes")
    add("--pool-size", type=int, default=d.pool_size, help="LASTMILE_DB_POOL_SIZE per worker")
    add("--procs", type=int, default=d.procs, help="generator processes")
    add("--connections", type=int, default=d.connections, help="connections per generator process")
    add("--timeout", type=float, default=d.timeout, help="seconds from schedule; later = error")
    add("--no-calibrate", action="store_true", help="skip the CPU cost of each kind alone")
    add(
        "--reuse",
        action="store_true",
        help="use the fleet already seeded in the database if it is large enough (with "
        "`scripts/bench --keep fleet`, which keeps the database)",
    )
    add("--output", help="also write the table to this file")


def fleet_bench(args: argparse.Namespace, database_url: str) -> FleetBench:
    start, steady, end = (float(x) for x in args.search_seconds.split(","))
    return FleetBench(
        database_url=database_url,
        drivers=args.drivers,
        stops=args.stops,
        timeline=Timeline(args.start_seconds, 60 * args.minutes, args.end_seconds),
        steps=tuple(int(x) for x in args.step.split(",") if x),
        search_timeline=Timeline(start, steady, end),
        full_run=not args.search_only,
        search_past_miss=args.past_miss,
        workers=args.workers,
        pool_size=args.pool_size,
        procs=args.procs,
        connections=args.connections,
        timeout=args.timeout,
        calibrate=not args.no_calibrate,
        reuse=args.reuse,
    )
