"""`scripts/bench BENCH`: measurements against targets (docs/benchmarks.md). A bench measures, it
does not gate: the exit status is 0 whatever the figures, non-zero only when it could not run.
Each drops and re-creates its own database (the name must contain 'bench'), starts the API
itself, and removes the database and the server logs when it ends, unless --keep."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

import asyncpg

from backend.bench.fleet.cli import add_fleet_parser, fleet_bench
from backend.bench.fleet.run import fleet_table
from backend.bench.kpis import add_kpis_parser, kpis_bench, run_kpis
from backend.bench.limits import LimitsBench, run_limits
from backend.bench.live import run_live
from backend.bench.live_cli import add_live_parser, live_bench, run_and_print
from backend.bench.middleware import run_middleware
from backend.bench.offers import OffersBench, run_offers
from backend.bench.planning_cli import add_planning_parser, run_planning_command
from backend.bench.server import KEEP_VARIABLE
from backend.bench.sync import SyncBench, run_sync
from backend.bench.webhooks import add_webhooks_parser, bench_from, run_webhooks
from backend.db.scratch import drop_database, with_database

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the bench database and the server logs when the bench ends",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="BENCH", title="benches (scripts/bench BENCH -h)"
    )
    sync = commands.add_parser(
        "sync",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="push throughput and pull latency, end to end and raw",
        description="Creates (drops first) the bench database, starts the API itself with 1 "
        "and then 2 workers, seeds a fleet and measures. See docs/benchmarks.md.",
    )
    d = SyncBench(database_url="")
    add = sync.add_argument
    add(
        "--database-url",
        default=None,
        help="the bench database, dropped and re-created; its name must contain 'bench' "
        "(default: lastmile_bench on the server of $LASTMILE_DATABASE_URL, else local)",
    )
    add("--drivers", type=int, default=d.drivers, help="devices pushing at once")
    add("--stops", type=int, default=d.stops, help="stops per driver's route")
    add("--events", type=int, default=d.events, help="events pushed per configuration")
    add("--batch", type=int, default=d.batch, help="events per push")
    add(
        "--workers",
        default=",".join(map(str, d.workers)),
        help="server worker counts to measure, comma separated",
    )
    add("--client-procs", type=int, default=d.client_procs, help="client processes for pushes")
    add("--pool-size", type=int, default=d.pool_size, help="LASTMILE_DB_POOL_SIZE of the server")
    add("--raw-pool", type=int, default=d.raw_pool, help="connections for the raw insert")
    add("--pull-requests", type=int, default=d.pull_requests)
    add("--pull-clients", type=int, default=d.pull_clients)
    add(
        "--no-analyze",
        action="store_true",
        help="do not ANALYZE after seeding (leave statistics to autovacuum)",
    )
    add("--output", help="also write the table to this file")
    add_live_parser(commands)
    add_fleet_parser(commands)
    add_kpis_parser(commands)
    limits = commands.add_parser(
        "limits",
        help="the rate limiter's cost: each store alone, and on a signed-in request",
        description="Creates (drops first) the bench database, times the stores, then starts "
        "the API (1 worker) once per store. About a minute. See docs/benchmarks.md.",
    )
    limits.add_argument("--database-url", default=None, help="name must contain 'bench'")
    limits.add_argument("--seconds", type=float, default=5.0, help="measured load per row, round")
    limits.add_argument("--rounds", type=int, default=2, help="rounds over the configurations")
    limits.add_argument("--output", help="also write the table to this file")
    offers = commands.add_parser(
        "offers",
        help="offer eligibility over many couriers, and 50 concurrent accepts of one offer",
        description="Creates (drops first) the bench database, seeds couriers and measures "
        "offers in-process through OfferService. See docs/benchmarks.md.",
    )
    o = OffersBench(database_url="")
    offers.add_argument("--database-url", default=None, help="name must contain 'bench'")
    offers.add_argument("--couriers", type=int, default=o.couriers)
    offers.add_argument("--offers", type=int, default=o.offers, help="offers timed")
    offers.add_argument("--contenders", type=int, default=o.contenders)
    offers.add_argument("--rounds", type=int, default=o.rounds, help="contention rounds")
    offers.add_argument("--output", help="also write the table to this file")
    commands.add_parser(
        "middleware",
        help="what the in-server retry of transient faults costs a request (no database)",
        description="In-process ASGI calls with a no-op middleware and with the retry "
        "middleware, alternated; the best round of each. See docs/benchmarks.md.",
    )
    add_webhooks_parser(commands)
    add_planning_parser(commands)
    return parser.parse_args(argv)


def database_url(args: argparse.Namespace, name: str = "lastmile_bench") -> str:
    if args.database_url:
        return args.database_url
    server = os.environ.get("LASTMILE_DATABASE_URL") or DEFAULT_SERVER
    return with_database(server.replace("postgresql+asyncpg://", "postgresql://"), name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.keep:
        os.environ[KEEP_VARIABLE] = "1"
    try:
        return run_bench(args)
    finally:
        if not args.keep and args.command != "middleware":
            name = "lastmile_bench_fleet" if args.command == "fleet" else "lastmile_bench"
            asyncio.run(_drop_quietly(database_url(args, name)))


async def _drop_quietly(url: str) -> None:
    try:
        await drop_database(url, marker="bench")
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"bench database not dropped: {exc}", file=sys.stderr)


def run_bench(args: argparse.Namespace) -> int:
    if args.command == "middleware":
        return run_middleware()
    if args.command == "limits":
        bench_limits = LimitsBench(database_url(args), seconds=args.seconds, rounds=args.rounds)
        return run_and_print(lambda say: run_limits(bench_limits, say), args.output)
    if args.command == "offers":
        bench_offers = OffersBench(
            database_url(args), args.couriers, args.offers, args.contenders, args.rounds
        )
        return run_and_print(lambda say: run_offers(bench_offers, say), args.output)
    if args.command == "planning":
        return run_planning_command(args, database_url(args))
    if args.command == "webhooks":
        table = run_webhooks(bench_from(args, database_url(args)))
        print(table)
        if args.output:
            with open(args.output, "w") as out:
                out.write(table + "\n")
        return 0
    if args.command == "kpis":
        url = args.database_url or database_url(args).replace(
            "lastmile_bench", "lastmile_bench_kpis"
        )
        bench_kpis = kpis_bench(args, url)
        return run_and_print(lambda say: run_kpis(bench_kpis, say), args.output)
    if args.command == "fleet":
        bench_fleet = fleet_bench(args, database_url(args, "lastmile_bench_fleet"))
        return run_and_print(lambda say: fleet_table(bench_fleet, say), args.output)
    if args.command == "live":
        bench_live = live_bench(args, database_url(args))
        return run_and_print(lambda say: run_live(bench_live, say), args.output)
    bench = SyncBench(
        database_url=database_url(args),
        drivers=args.drivers,
        stops=args.stops,
        events=args.events,
        batch=args.batch,
        workers=tuple(int(w) for w in args.workers.split(",") if w),
        client_procs=args.client_procs,
        pool_size=args.pool_size,
        raw_pool=args.raw_pool,
        pull_requests=args.pull_requests,
        pull_clients=args.pull_clients,
        analyze=not args.no_analyze,
    )

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def terminated(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # unwinds through the finally blocks that stop the server

    signal.signal(signal.SIGTERM, terminated)
    try:
        table = asyncio.run(run_sync(bench, say))
    except KeyboardInterrupt:
        say("interrupted; the server was stopped")
        return 130
    print(table)
    if args.output:
        with open(args.output, "w") as out:
            out.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
