"""`python -m backend.simulator`: drive a fleet of simulated handhelds against a running server.

Exit status: 0 when every check passed, 1 on a mismatch, 2 when the day could not be run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

import httpx

from backend.simulator.config import SimConfig
from backend.simulator.day import simulate
from backend.simulator.disruption import simulate_disruption
from backend.simulator.disruption_spec import DisruptionSpec, parse_disruption
from backend.simulator.http import ApiError

ROOT = Path(__file__).resolve().parents[2]
# scripts/serve keeps the demo admin's generated password here (see scripts/lib.sh).
SERVE_ADMIN_PASSWORD = ROOT / ".lastmile" / "admin_password"
# --disruption: the share of affected stops that must be delivered in window.
DISRUPTION_TARGET = 0.95


def default_password() -> str | None:
    if os.environ.get("LASTMILE_BOOTSTRAP_ADMIN_PASSWORD"):
        return os.environ["LASTMILE_BOOTSTRAP_ADMIN_PASSWORD"]
    if SERVE_ADMIN_PASSWORD.is_file():
        return SERVE_ADMIN_PASSWORD.read_text().strip() or None
    return None


def default_url() -> str:
    if os.environ.get("LASTMILE_BASE_URL"):
        return os.environ["LASTMILE_BASE_URL"]
    host = os.environ.get("LASTMILE_HOST") or "127.0.0.1"
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{host}:{os.environ.get('LASTMILE_PORT') or 8000}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    d = SimConfig()
    p = argparse.ArgumentParser(
        prog="scripts/simulate",
        description="Simulate handhelds through a delivery day against a running Lastmile API "
        "and verify that the server converged to what they did (docs/simulator.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = p.add_argument
    add(
        "--url",
        "--base-url",
        dest="base_url",
        default=default_url(),
        help="the API's address ($LASTMILE_BASE_URL, else http://$LASTMILE_HOST:$LASTMILE_PORT "
        "as scripts/serve uses them)",
    )
    add(
        "--admin-email",
        default=os.environ.get("LASTMILE_BOOTSTRAP_ADMIN_EMAIL", "admin@lastmile.local"),
    )
    add(
        "--admin-password",
        default=None,
        help="default: $LASTMILE_BOOTSTRAP_ADMIN_PASSWORD, else .lastmile/admin_password "
        "(the one scripts/serve prints)",
    )
    add("--devices", type=int, default=d.devices, help="handhelds, one driver and route each")
    add("--stops-per-route", type=int, default=d.stops_per_route, help="stops on each route")
    add("--seed", type=int, default=d.seed, help="every random choice derives from it")
    add("--date", type=dt.date.fromisoformat, default=None, help="route date (default today)")
    add("--step-delay", type=float, default=d.step_delay, help="seconds between stops")
    add(
        "--sync-rate",
        type=float,
        default=d.sync_rate,
        help="chance per stop that an online device pushes and pulls",
    )
    add(
        "--offline-rate",
        type=float,
        default=d.offline_rate,
        help="chance per stop that an online device loses coverage",
    )
    add("--max-batch", type=int, default=d.max_batch, help="events per push: 1..max")
    add(
        "--lost-response-rate",
        type=float,
        default=d.lost_response_rate,
        help="chance a push answer is lost (the device resends)",
    )
    add(
        "--duplicate-rate",
        type=float,
        default=d.duplicate_rate,
        help="chance an answered batch is sent again under a new batch id",
    )
    add(
        "--reorder-rate",
        type=float,
        default=d.reorder_rate,
        help="with two batches queued, chance the second goes first",
    )
    add(
        "--skewed-devices",
        type=int,
        default=d.skewed_devices,
        help="devices whose wall clock is wrong",
    )
    add("--max-skew-hours", type=float, default=d.max_skew_hours, help="largest clock error, hours")
    add(
        "--reboot-rate",
        type=float,
        default=d.reboot_rate,
        help="chance per stop of a reboot (new boot id)",
    )
    add("--fail-rate", type=float, default=d.fail_rate, help="chance a delivery attempt fails")
    add(
        "--poison-rate",
        type=float,
        default=d.poison_rate,
        help="chance of a scan of a stray label no manifest knows",
    )
    add("--no-dispatcher", action="store_true", help="no changes from dispatch during the day")
    add(
        "--action-timeout",
        type=float,
        default=d.action_timeout,
        help="seconds the dispatcher waits for a precondition",
    )
    add("--timeout", type=float, default=30.0, help="HTTP timeout per request, seconds")
    add("--verbose", action="store_true", help="say what the dispatcher does")
    add(
        "--disruption",
        type=_disruption,
        default=None,
        metavar="KIND@HH:MM",
        help="run a planned day with a live disruption instead: breakdown, unavailable, zone "
        "or spike, e.g. breakdown@11:00 (docs/simulator.md)",
    )
    add(
        "--travel-noise",
        type=float,
        default=0.1,
        help="with --disruption: +/- share of travel time",
    )
    return p.parse_args(argv)


def _disruption(text: str) -> DisruptionSpec:
    try:
        return parse_disruption(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def config_from(args: argparse.Namespace) -> SimConfig:
    return SimConfig(
        devices=args.devices,
        stops_per_route=args.stops_per_route,
        seed=args.seed,
        date=args.date,
        step_delay=args.step_delay,
        sync_rate=args.sync_rate,
        offline_rate=args.offline_rate,
        max_batch=args.max_batch,
        lost_response_rate=args.lost_response_rate,
        duplicate_rate=args.duplicate_rate,
        reorder_rate=args.reorder_rate,
        skewed_devices=args.skewed_devices,
        max_skew_hours=args.max_skew_hours,
        reboot_rate=args.reboot_rate,
        fail_rate=args.fail_rate,
        poison_rate=args.poison_rate,
        dispatcher=not args.no_dispatcher,
        action_timeout=args.action_timeout,
        verbose=args.verbose,
    )


async def main_async(args: argparse.Namespace) -> int:
    password = args.admin_password or default_password()
    if not password:
        print("no admin password: pass --admin-password", file=sys.stderr)
        return 2
    limits = httpx.Limits(max_connections=max(args.devices + 8, 16))
    if args.disruption is not None:
        async with httpx.AsyncClient(base_url=args.base_url, timeout=args.timeout) as http:
            outcome = await simulate_disruption(
                http,
                args.disruption,
                admin_email=args.admin_email,
                admin_password=password,
                drivers=args.devices,
                stops=args.stops_per_route,
                seed=args.seed,
                travel_noise=args.travel_noise,
            )
        print(outcome.render())
        return 0 if outcome.share >= DISRUPTION_TARGET else 1
    async with httpx.AsyncClient(
        base_url=args.base_url, timeout=args.timeout, limits=limits
    ) as http:
        report = await simulate(
            http,
            config_from(args),
            admin_email=args.admin_email,
            admin_password=password,
            say=lambda line: print(f"[simulate] {line}", file=sys.stderr, flush=True),
        )
    print(report.render())
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.devices < 1 or args.stops_per_route < 1:
        print("--devices and --stops-per-route must be at least 1", file=sys.stderr)
        return 2
    try:
        return asyncio.run(main_async(args))
    except httpx.ConnectError as exc:
        print(
            f"simulation could not run: cannot connect to {args.base_url}: {exc}", file=sys.stderr
        )
        return 2
    except (ApiError, httpx.HTTPError, ExceptionGroup, RuntimeError) as exc:
        print(f"simulation could not run: {_describe(exc)}", file=sys.stderr)
        return 2


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":
    sys.exit(main())
