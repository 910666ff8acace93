"""The operator's first hour: every command fails in one line, settings are checked up front, and
several API processes start cleanly on a fresh database.

Commands run as subprocesses (the real console script) against a database of their own beside
the suite's.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from backend.bench.server import free_port
from backend.config import Settings, SettingsError
from backend.db.scratch import drop_database
from tests.conftest import TEST_URL

LASTMILE = Path(sys.executable).with_name("lastmile")
SERVER, _, TEST_DB = TEST_URL.rpartition("/")
OPS_DB = f"{SERVER}/{TEST_DB}_ops"
MISSING_DB = f"{SERVER}/{TEST_DB}_missing"


def _env(database_url: str | None = None, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LASTMILE_")}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["LASTMILE_DATABASE_URL"] = database_url
    return env | settings


def run(*args: str, database_url: str | None = None, **settings: str):
    return subprocess.run(
        [str(LASTMILE), *args],
        env=_env(database_url, **settings),
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["seed-demo"],
        ["worker"],
        ["create-admin", "--email=a@b.c", "--password=pw-1234567890"],
    ],
)
def test_a_missing_database_is_one_line_and_exit_1(command: list[str]) -> None:
    result = run(*command, database_url=MISSING_DB)
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert f'"{TEST_DB}_missing" does not exist' in line
    assert "scripts/serve" in line


def test_a_bad_notifications_provider_is_one_line_and_exit_2() -> None:
    result = run(
        "worker", database_url=MISSING_DB, LASTMILE_NOTIFICATIONS_PROVIDER="no.such:provider"
    )
    assert result.returncode == 2
    assert "LASTMILE_NOTIFICATIONS_PROVIDER" in one_line(result.stderr)


def test_version_and_unknown_variables_named() -> None:
    version = run("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("lastmile 0.")
    typo = run("seed-demo", database_url=MISSING_DB, LASTMILE_PROT="9000")
    assert "LASTMILE_PROT (did you mean LASTMILE_PORT?) is not a setting" in typo.stderr


def test_settings_are_checked_and_explained() -> None:
    base = {"LASTMILE_DATABASE_URL": TEST_URL}
    assert Settings.from_env(base | {"LASTMILE_LOG_LEVEL": "debug"}).log_level == "DEBUG"
    with pytest.raises(SettingsError, match="allowed: DEBUG, INFO, WARNING, ERROR"):
        Settings.from_env(base | {"LASTMILE_LOG_LEVEL": "loud"})
    # Each route has its own body limit (docs/limits.md): a blob limit above the general one
    # is what lets uploads be larger than other bodies, not a contradiction.
    assert (
        Settings.from_env(
            base | {"LASTMILE_BLOB_MAX_BYTES": "2000000", "LASTMILE_MAX_BODY_BYTES": "1000000"}
        ).blob_max_bytes
        == 2_000_000
    )
    for bad in ("ftp://example.com", "example.com", "http://h:port", "http://h/?q=1"):
        with pytest.raises(SettingsError, match="LASTMILE_PUBLIC_URL"):
            Settings.from_env(base | {"LASTMILE_PUBLIC_URL": bad})
    assert Settings.from_env(base, port=9100).public_base_url == "http://127.0.0.1:9100"
    assert Settings.from_env(base, host="0.0.0.0").public_base_url == "http://127.0.0.1:8000"
    given = Settings.from_env(base | {"LASTMILE_PUBLIC_URL": "https://t.example.com/"})
    assert given.public_base_url == "https://t.example.com"
    assert Settings.unknown_variables({"LASTMILE_ZZZ": "1", "LASTMILE_PORT": "1"}) == [
        "LASTMILE_ZZZ"
    ]


@pytest.fixture(scope="module")
async def ops_db() -> AsyncIterator[str]:
    await drop_database(OPS_DB, marker="test")
    yield OPS_DB
    await drop_database(OPS_DB, marker="test")


def _two_workers_start_and_stop(database_url: str) -> list[dict]:
    """`lastmile serve --workers 2` until ready, then TERM: its stderr, each line as JSON."""
    port = free_port()
    server = subprocess.Popen(
        [str(LASTMILE), "serve", "--workers", "2", "--port", str(port)],
        env=_env(
            database_url,
            LASTMILE_SECRET_KEY="operator-test-secret-key-0123456789-abcdef",
            LASTMILE_BOOTSTRAP_ADMIN_EMAIL="admin@ops.test",
            LASTMILE_BOOTSTRAP_ADMIN_PASSWORD="ops-admin-password",
            LASTMILE_DB_POOL_SIZE="2",
        ),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        time.sleep(3)  # the second worker's start-up, if it came later
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


async def test_migrate_creates_a_missing_database_then_two_workers_start_cleanly(
    ops_db: str,
) -> None:
    created = run("migrate", "--create-database", database_url=ops_db)
    assert created.returncode == 0, created.stderr
    assert f"created database {TEST_DB}_ops" in created.stderr
    assert "Context impl" not in created.stderr
    again = run("migrate", "--create-database", database_url=ops_db)
    assert again.returncode == 0 and "created database" not in again.stderr

    records = await asyncio.to_thread(_two_workers_start_and_stop, ops_db)
    assert sum(r["msg"] == "Application startup complete." for r in records) == 2, records
    assert [r for r in records if r["level"] in ("error", "critical")] == []
    connection = await asyncpg.connect(ops_db)
    try:
        admins = await connection.fetchval(
            "SELECT count(*) FROM users WHERE email = 'admin@ops.test'"
        )
    finally:
        await connection.close()
    assert admins == 1


async def test_the_root_links_to_docs_and_health(client: AsyncTestClient) -> None:
    data = (await client.get("/")).json()
    assert data["links"]["docs"] == "/schema"
    assert data["links"]["health"] == "/healthz"
    page = await client.get("/", headers={"accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert 'href="/readyz"' in page.text


def test_simulate_names_the_url_it_cannot_reach_and_follows_lastmile_port() -> None:
    port = free_port()  # nothing listens there
    result = subprocess.run(
        [sys.executable, "-m", "backend.simulator", "--devices", "1"],
        env=_env(LASTMILE_PORT=str(port), LASTMILE_BOOTSTRAP_ADMIN_PASSWORD="x-password"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert f"cannot connect to http://127.0.0.1:{port}" in one_line(result.stderr)
    helped = subprocess.run(
        [sys.executable, "-m", "backend.simulator", "--help"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "--url" in helped.stdout
    assert "(default: 0.3)" in helped.stdout  # every flag shows its default


def test_bench_help_lists_every_bench() -> None:
    helped = subprocess.run(
        [sys.executable, "-m", "backend.bench", "--help"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for bench in ("sync", "live"):
        assert f"\n    {bench} " in helped.stdout
    assert "--keep" in helped.stdout
