"""The `live` subcommand of `scripts/bench`: its arguments and its run."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from backend.bench.live import LiveBench


def add_live_parser(commands: Any) -> None:
    live = commands.add_parser(
        "live",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="commit-to-subscriber latency over SSE, and pings ingested per second",
        description="Creates (drops first) the bench database, starts the API itself, opens "
        "SSE streams, pushes status changes and posts pings. See docs/benchmarks.md.",
    )
    d = LiveBench(database_url="")
    add = live.add_argument
    add("--database-url", default=None, help="the bench database (name must contain 'bench')")
    add("--quick", action="store_true", help="a short run: 200 streams, 100 changes, 40k pings")
    add("--subscribers", type=int, default=d.subscribers, help="SSE streams held open")
    add("--watched", type=int, default=d.watched, help="shipments the streams spread over")
    add("--changes", type=int, default=d.changes, help="status changes pushed")
    add("--rate", type=float, default=d.rate, help="status changes per second")
    add("--workers", type=int, default=d.workers, help="API worker processes")
    add("--ping-clients", type=int, default=d.ping_clients, help="drivers posting pings at once")
    add("--ping-batches", type=int, default=d.ping_batches, help="ping batches in all")
    add("--ping-batch", type=int, default=d.ping_batch, help="pings per batch (at most 1000)")
    add("--output", help="also write the table to this file")


def live_bench(args: argparse.Namespace, database_url: str) -> LiveBench:
    if args.quick:
        return LiveBench.quick_mode(database_url)
    return LiveBench(
        database_url=database_url,
        subscribers=args.subscribers,
        watched=args.watched,
        changes=args.changes,
        rate=args.rate,
        workers=args.workers,
        ping_clients=args.ping_clients,
        ping_batches=args.ping_batches,
        ping_batch=args.ping_batch,
    )


def run_and_print(
    run: Callable[[Callable[[str], None]], Coroutine[Any, Any, str]], output: str | None
) -> int:
    """Run a bench coroutine factory `run(say)`; print its table; 130 when interrupted."""

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def terminated(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminated)
    try:
        table = asyncio.run(run(say))
    except KeyboardInterrupt:
        say("interrupted; the server was stopped")
        return 130
    print(table)
    if output:
        with open(output, "w") as out:
            out.write(table + "\n")
    return 0
