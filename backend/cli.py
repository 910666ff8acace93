"""The `lastmile` command: serve, worker, migrate, seed-demo, seed-history, create-admin,
verify-evidence.

Settings come only from `LASTMILE_*` environment variables (docs/configuration.md) and are
checked before anything runs: a bad value prints which variable is wrong and exits with 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import msgspec

from backend.config import Settings, SettingsError
from backend.db.preflight import DatabaseProblem, create_if_missing, explain, require_migrated

if TYPE_CHECKING:
    from backend.kpis.seed import HistorySize, SeededHistory

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXIT_USAGE = 2
T = TypeVar("T")

log = logging.getLogger("lastmile.cli")


class CommandError(Exception):
    """A failure the user can act on: printed as one line, exit status 1, no traceback."""


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    overrides = {
        name: value
        for name in ("host", "port", "workers")
        if (value := getattr(args, name, None)) is not None
    }
    try:
        settings = Settings.from_env(**overrides)
        if args.command in ("serve", "worker"):
            _check_provider(settings)
    except SettingsError as exc:
        print(f"lastmile: {exc}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    for name in Settings.unknown_variables():
        print(f"lastmile: warning: {name} is not a setting; ignored", file=sys.stderr)
    try:
        args.run(settings, args)
    except CommandError as exc:
        print(f"lastmile {args.command}: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lastmile",
        description="Lastmile backend. Settings come from LASTMILE_* environment variables.",
    )
    parser.add_argument("--version", action="version", version=f"lastmile {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[..., None], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        return sub

    serve = command("serve", _serve, "serve the API (with the outbox worker inside by default)")
    serve.add_argument("--host", help="address to bind (default: LASTMILE_HOST)")
    serve.add_argument("--port", type=int, help="port to bind (default: LASTMILE_PORT)")
    serve.add_argument("--workers", type=int, help="API processes (default: LASTMILE_WORKERS)")
    command(
        "worker",
        _worker,
        "run the outbox and webhook workers and the periodic jobs alone (any number may run)",
    )
    migrate = command(
        "migrate", _migrate, "bring the database schema up to date (alembic upgrade head)"
    )
    migrate.add_argument(
        "--create-database",
        action="store_true",
        help="create the database first if it does not exist (when the server lets this role)",
    )
    command(
        "seed-demo",
        _seed_demo,
        "load the demo city once, and each day's shipments and routes once per day "
        "(run again the same day: nothing changes)",
    )
    history = command(
        "seed-history",
        _seed_history,
        "generate a large delivery history and its KPI facts (benchmarks, demos)",
    )
    history.add_argument("--shipments", type=int, default=1_000_000, help="default 1,000,000")
    history.add_argument("--days", type=int, default=90, help="days before today (default 90)")
    history.add_argument("--hubs", type=int, default=4, help="hubs (default 4)")
    history.add_argument("--drivers", type=int, default=200, help="drivers (default 200)")
    history.add_argument("--chunk", type=int, default=20_000, help="shipments per transaction")
    verify = command(
        "verify-evidence",
        _verify_evidence,
        "check an evidence bundle offline: its event chain, PODs and blob hashes",
    )
    verify.add_argument(
        "file", help="a bundle from GET /v1/shipments/{id}/evidence (.json or .zip)"
    )
    admin = command("create-admin", _create_admin, "create an admin account")
    admin.add_argument("--email", help="the admin's email (asked for when left out)")
    admin.add_argument(
        "--password", help="at least 10 characters, not a common one (asked for when left out)"
    )
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lastmile")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _check_provider(settings: Settings) -> None:
    """A notifications provider that cannot be loaded is a bad setting, found before start."""
    from backend.notifications.providers import load_provider

    spec = settings.notifications_provider
    try:
        load_provider(spec)
    except Exception as exc:
        raise SettingsError(
            f"LASTMILE_NOTIFICATIONS_PROVIDER={spec!r}: cannot load it ({type(exc).__name__}: "
            f"{exc}); use 'record' or 'module:factory'"
        ) from None


def _preflight(check: Callable[[Settings], T], settings: Settings) -> T:
    try:
        return check(settings)
    except DatabaseProblem as exc:
        raise CommandError(str(exc)) from None


# serve -------------------------------------------------------------------------------------------


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    _preflight(require_migrated, settings)
    options = {
        "host": settings.host,
        "port": settings.port,
        "log_config": _log_config(settings.log_level),  # JSON lines, in every process
        "access_log": False,  # the app writes its own access line, with the request id
    }
    if settings.workers > 1:
        # Each process builds its own app from the environment; they share the socket.
        uvicorn.run("backend.app:create_app", factory=True, workers=settings.workers, **options)
    else:
        from backend.app import create_app

        uvicorn.run(create_app(settings), **options)


def _log_config(level: str) -> dict[str, object]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "backend.lib.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
    }


# worker ------------------------------------------------------------------------------------------


def _worker(settings: Settings, args: argparse.Namespace) -> None:
    from backend.lib.logs import configure_logging

    _preflight(require_migrated, settings)
    configure_logging(settings.log_level)
    asyncio.run(_run_worker(settings))


async def _run_worker(settings: Settings) -> None:
    from backend.app import webhook_worker
    from backend.couriers.checks import CHECKS_KEY, load_checks
    from backend.db.session import make_engine, make_sessionmaker
    from backend.live.hub import LiveRuntime
    from backend.notifications.providers import NOTIFIER_KEY, notifier_from
    from backend.outbox.handlers import HANDLERS
    from backend.outbox.worker import OutboxWorker
    from backend.planning.settings import PlanningSettings
    from backend.planning.worker import PlanWorker, plan_workers_config
    from backend.system.jobs import PeriodicJobs

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    engine = make_engine(settings)
    # Handlers publish to the live feeds (after commit) and send through the configured provider.
    live = LiveRuntime(settings)
    info = live.session_info | {
        NOTIFIER_KEY: notifier_from(settings),
        CHECKS_KEY: load_checks(settings),
    }
    sessionmaker = make_sessionmaker(engine, info=info)
    worker = OutboxWorker(sessionmaker, HANDLERS, poll_seconds=settings.worker_poll_seconds)
    jobs = PeriodicJobs(sessionmaker, settings)  # tracking upkeep, ETAs, retention
    planner = PlanWorker(  # plans and disruption recoveries, solved in a thread
        sessionmaker,
        PlanningSettings.of(settings),
        poll_seconds=settings.worker_poll_seconds,
        **plan_workers_config(),
    )
    log.info("outbox worker started", extra={"fields": {"topics": sorted(HANDLERS)}})
    try:
        async with live.running(listen=False):
            await asyncio.gather(
                worker.run_forever(stop),
                jobs.run_forever(stop),
                webhook_worker(sessionmaker, settings).run_forever(stop),
                planner.run_forever(stop),
            )
    finally:
        await engine.dispose()
    log.info("outbox worker stopped")


# migrate -----------------------------------------------------------------------------------------


def _migrate(settings: Settings, args: argparse.Namespace) -> None:
    from alembic import command
    from alembic.config import Config

    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("alembic").setLevel(logging.INFO)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_quiet_alembic)
    if args.create_database and (created := _preflight(create_if_missing, settings)):
        print(f"created database {created}", file=sys.stderr)
    ini = PROJECT_ROOT / "alembic.ini"
    if not ini.is_file():
        raise CommandError(f"{ini} not found: run from a checkout of the project")
    config = Config(str(ini))
    config.attributes["database_url"] = settings.async_database_url
    try:
        command.upgrade(config, "head")
    except Exception as exc:
        raise CommandError(explain(exc, settings)) from exc
    print("database is up to date", file=sys.stderr)


def _quiet_alembic(record: logging.LogRecord) -> bool:
    """Alembic's lines about its own set-up say nothing to an operator; migrations applied do."""
    return not record.getMessage().startswith(("Context impl", "Will assume"))


# seed-demo ---------------------------------------------------------------------------------------


def _seed_demo(settings: Settings, args: argparse.Namespace) -> None:
    from backend.demo import DemoError, seed_demo

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    _preflight(require_migrated, settings)
    try:
        result = asyncio.run(seed_demo(settings))
    except DemoError as exc:
        raise CommandError(f"{exc} (drop the database to start afresh)") from None
    except Exception as exc:
        if "does not exist" in str(exc) and "relation" in str(exc):
            raise CommandError("the database has no tables yet: run `lastmile migrate`") from exc
        if isinstance(exc, OSError):
            raise CommandError(explain(exc, settings)) from exc
        raise
    print(result.describe())


def _seed_history(settings: Settings, args: argparse.Namespace) -> None:
    from backend.kpis.seed import HistorySize

    size = HistorySize(args.shipments, args.days, args.hubs, args.drivers, args.chunk)
    try:
        size.check()
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    _preflight(require_migrated, settings)
    try:
        seeded = asyncio.run(_run_seed_history(settings, size))
    except OSError as exc:
        raise CommandError(explain(exc, settings)) from exc
    print(
        f"seeded {seeded.shipments:,} shipments and {seeded.events:,} events from"
        f" {seeded.first_day} to {seeded.last_day} (run {seeded.tag}) in {seeded.seconds:,.0f} s"
    )


async def _run_seed_history(settings: Settings, size: HistorySize) -> SeededHistory:
    from backend.db.session import make_engine, make_sessionmaker
    from backend.kpis.seed import seed_history

    engine = make_engine(settings)
    try:
        return await seed_history(make_sessionmaker(engine), size)
    finally:
        await engine.dispose()


# verify-evidence ---------------------------------------------------------------------------------


def _verify_evidence(settings: Settings, args: argparse.Namespace) -> None:
    """Needs no database and no secret: everything is recomputed from the file itself."""
    from backend.pod.evidence import verify_file

    try:
        report = verify_file(args.file)
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    print(report.text())
    if not report.ok:
        sys.exit(1)


# create-admin ------------------------------------------------------------------------------------


def _create_admin(settings: Settings, args: argparse.Namespace) -> None:
    from backend.auth.schemas import UserCreate

    email = args.email or _ask("email: ")
    password = args.password or _ask_password()
    try:
        data = msgspec.convert({"email": email, "password": password, "role": "admin"}, UserCreate)
    except msgspec.ValidationError as exc:
        text, _, path = str(exc).rpartition(" - at `$.")
        raise CommandError(f"--{path.rstrip('`')}: {text}" if path else str(exc)) from None
    _preflight(require_migrated, settings)
    asyncio.run(_insert_admin(settings, data.email, data.password))
    print(f"created admin {data.email.lower()}")


async def _insert_admin(settings: Settings, email: str, password: str) -> None:
    from backend.auth.users import UserService
    from backend.db.session import make_engine, make_sessionmaker, unit_of_work
    from backend.lib.errors import DomainError

    engine = make_engine(settings)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            await UserService(session).create(email, password, "admin")
    except DomainError as exc:
        raise CommandError(exc.detail) from None
    except OSError as exc:
        raise CommandError(explain(exc, settings)) from exc
    finally:
        await engine.dispose()


def _ask(prompt: str) -> str:
    if not sys.stdin.isatty():
        raise CommandError(f"missing --{prompt.rstrip(': ')} (no terminal to ask on)")
    with contextlib.suppress(EOFError):
        return input(prompt).strip()
    raise CommandError("no answer")


def _ask_password() -> str:
    if not sys.stdin.isatty():
        raise CommandError("missing --password (no terminal to ask on)")
    first = getpass.getpass("password (10 characters or more, not a common one): ")
    if getpass.getpass("again: ") != first:
        raise CommandError("the two passwords differ")
    return first


if __name__ == "__main__":
    main()
