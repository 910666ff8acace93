"""The `lastmile` command as people run it: settings checked first, migrate, seed-demo, admins.

Runs the real console script (as a subprocess where start-up matters, in-process otherwise)
against a throwaway database of its own on the test server: never the suite's database, which
other tests truncate, nor the demo's.
"""

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from backend.cli import main
from backend.db.scratch import drop_database, recreate_database
from backend.lib.clock import utcnow
from tests.conftest import TEST_URL

LASTMILE = Path(sys.executable).with_name("lastmile")
SERVER, _, TEST_DB = TEST_URL.rpartition("/")
CLI_DB = f"{TEST_DB}_cli"  # beside the suite's own database, so parallel runs stay apart


def run(*args: str, database_url: str | None = None, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LASTMILE_")}
    clean.pop("DATABASE_URL", None)
    if database_url:
        clean["LASTMILE_DATABASE_URL"] = database_url
    return subprocess.run(
        [str(LASTMILE), *args],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
        check=False,
    )


async def in_process(*args: str) -> int:
    """`main` in this process, in a thread (it runs its own event loop): no start-up cost."""
    try:
        await asyncio.to_thread(main, list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(scope="module")
async def cli_db() -> AsyncIterator[str]:
    url = f"{SERVER}/{CLI_DB}"
    await recreate_database(url, marker="test")
    yield url
    await drop_database(url, marker="test")


@pytest.fixture(scope="module")
async def migrated(cli_db: str) -> str:
    result = run("migrate", database_url=cli_db)
    assert result.returncode == 0, result.stderr
    return cli_db


def test_console_script_is_installed() -> None:
    assert LASTMILE.is_file(), f"{LASTMILE} missing: run `uv sync`"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("LASTMILE_PORT", "eighty"), ("LASTMILE_PORT", "70000"), ("LASTMILE_LOG_LEVEL", "LOUD")],
)
def test_a_bad_setting_exits_2_naming_the_variable(variable: str, value: str) -> None:
    result = run("migrate", **{variable: value})
    assert result.returncode == 2
    assert variable in result.stderr
    assert value in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_url_that_is_not_postgres_exits_2() -> None:
    result = run("worker", database_url="mysql://root@127.0.0.1/lastmile")
    assert result.returncode == 2
    assert "LASTMILE_DATABASE_URL" in result.stderr


async def test_migrate_against_an_unreachable_server_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LASTMILE_DATABASE_URL", "postgresql://postgres:pw@127.0.0.1:9/nothing")
    assert await in_process("migrate") == 1
    err = capsys.readouterr().err
    assert "cannot reach the database" in err
    assert "pw@" not in err  # passwords are not echoed
    assert "Traceback" not in err


async def test_migrate_is_repeatable(migrated: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LASTMILE_DATABASE_URL", migrated)
    assert await in_process("migrate") == 0
    connection = await asyncpg.connect(migrated)
    try:
        assert await connection.fetchval("SELECT count(*) FROM alembic_version") == 1
        assert await connection.fetchval("SELECT postgis_lib_version()")
    finally:
        await connection.close()


async def _counts(url: str) -> dict[str, object]:
    today = utcnow().date()
    connection = await asyncpg.connect(url)
    try:
        return {
            "hubs": await connection.fetchval("SELECT count(*) FROM hubs"),
            "zones": await connection.fetchval("SELECT count(*) FROM zones"),
            "pickup_points": await connection.fetchval("SELECT count(*) FROM pickup_points"),
            "shipments": await connection.fetchval("SELECT count(*) FROM shipments"),
            "outside_zones": await connection.fetchval(
                "SELECT count(*) FROM shipments WHERE outside_zones"
            ),
            "drivers": await connection.fetchval("SELECT count(*) FROM drivers"),
            "vehicles": await connection.fetchval("SELECT count(*) FROM vehicles"),
            "users": await connection.fetchval("SELECT count(*) FROM users"),
            "routes": dict(
                await connection.fetch(
                    "SELECT status, count(*) FROM routes WHERE date = $1 GROUP BY status", today
                )
            ),
            "unrouted": await connection.fetchval(
                "SELECT count(*) FROM shipments s WHERE NOT EXISTS"
                " (SELECT 1 FROM stops WHERE shipment_id = s.id AND active)"
            ),
            "windows_outside_today": await connection.fetchval(
                "SELECT count(*) FROM shipments WHERE window_start IS NOT NULL AND"
                " ((window_start AT TIME ZONE 'UTC')::date <> $1"
                "  OR window_end - window_start <> interval '2 hours')",
                today,
            ),
            "with_requirements": await connection.fetchval(
                "SELECT count(*) FROM shipments WHERE requirements <> '{}'::jsonb"
            ),
        }
    finally:
        await connection.close()


async def test_seed_demo_builds_the_city_once(migrated: str) -> None:
    first = run("seed-demo", database_url=migrated)
    assert first.returncode == 0, first.stderr
    assert "dispatcher@lastmile.local" in first.stdout
    assert "driver5@lastmile.local" in first.stdout
    counts = await _counts(migrated)
    assert counts["hubs"] == 1
    assert counts["zones"] >= 4
    assert counts["pickup_points"] == 2
    assert counts["shipments"] >= 400
    assert counts["outside_zones"] == 0
    assert counts["drivers"] == counts["vehicles"] == 5
    assert counts["users"] == 6  # the dispatcher and five drivers
    assert counts["routes"] == {"published": 5}
    assert counts["unrouted"] == 0
    assert counts["windows_outside_today"] == 0
    assert 0 < counts["with_requirements"] < counts["shipments"]

    second = run("seed-demo", database_url=migrated)
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout
    assert "dispatcher@lastmile.local" in second.stdout
    assert await _counts(migrated) == counts


async def test_create_admin(
    migrated: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LASTMILE_DATABASE_URL", migrated)
    email, password = "Chief@Example.com", "chief-password"
    assert await in_process("create-admin", "--email", email, "--password", password) == 0
    assert "created admin chief@example.com" in capsys.readouterr().out
    assert await in_process("create-admin", "--email", email.lower(), "--password", password) == 1
    assert "already exists" in capsys.readouterr().err
    assert await in_process("create-admin", "--email", "x@example.com", "--password", "short") == 1
    assert "--password" in capsys.readouterr().err
