"""The bench's own database and API server: created, migrated, started and always stopped.

The database is dropped and re-created, so its name must contain "bench" (never the demo's
`lastmile` nor a test database). The server is uvicorn in a subprocess on a free loopback port.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from backend.config import Settings
from backend.db.migrations import upgrade
from backend.db.scratch import recreate_database

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = "admin@bench.local"
ADMIN_PASSWORD = "bench-password"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789"
# Set by `scripts/bench --keep`: the bench database and the server logs stay for a look.
KEEP_VARIABLE = "LASTMILE_BENCH_KEEP"


async def fresh_database(url: str) -> None:
    await recreate_database(url, marker="bench")
    await asyncio.to_thread(upgrade, Settings.from_env({"LASTMILE_DATABASE_URL": url}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    workers: int
    log_path: Path

    def pids(self) -> list[int]:
        """The uvicorn supervisor and its worker processes."""
        return [self.process.pid, *children(self.process.pid)]


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
            found += children(int(entry.name))
    return found


@contextmanager
def running_server(database_url: str, workers: int, pool_size: int) -> Iterator[Server]:
    """uvicorn with `workers` processes; stopped on the way out, whatever happened."""
    env = {
        "LASTMILE_DATABASE_URL": database_url,
        "LASTMILE_SECRET_KEY": SECRET_KEY,
        "LASTMILE_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "LASTMILE_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LASTMILE_DB_POOL_SIZE": str(pool_size),
    }
    with api_process(env, workers=workers, log_prefix=f"lastmile-bench-{workers}w-") as server:
        yield server


@contextmanager
def api_process(
    env: dict[str, str],
    *,
    workers: int = 1,
    log_prefix: str = "lastmile-",
    keep_log: bool | None = None,
) -> Iterator[Server]:
    """The API under uvicorn on a free loopback port, with `LASTMILE_*` settings from `env`
    (over this process's environment); stopped on the way out, whatever happened. Its log is
    removed then, unless `keep_log` (default: `scripts/bench --keep`) or the server failed."""
    if keep_log is None:
        keep_log = os.environ.get(KEEP_VARIABLE) == "1"
    port = free_port()
    log_path = Path(tempfile.mkstemp(prefix=log_prefix, suffix=".log")[1])
    command = [
        str(Path(sys.executable).parent / "uvicorn"),
        "backend.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=os.environ | {"LASTMILE_LOG_LEVEL": "WARNING"} | env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, f"http://127.0.0.1:{port}", workers, log_path)
    failed = False
    try:
        wait_ready(server)
        yield server
    except BaseException:
        failed = True  # its log says why
        raise
    finally:
        stop(process)
        if not (keep_log or failed):
            log_path.unlink(missing_ok=True)


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited; see {server.log_path}")
        try:
            if httpx.get(server.base_url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not get ready in {timeout:.0f} s; see {server.log_path}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            # The supervisor and its workers share the session this process group leads.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


# CPU accounting from /proc, to tell where the time of a phase went ----------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


async def postgres_pids(database_url: str) -> list[int]:
    """Backends of the bench database and the server's own background processes (WAL writer,
    checkpointer, …), not the sessions of other databases on a shared server."""
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE (datname = current_database()"
            " OR backend_type <> 'client backend') AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


class CpuMeter:
    """CPU seconds used by the server processes and by PostgreSQL (for the bench database)
    between `start` and `stop`. Backends that start during the phase count from zero."""

    def __init__(self, server_pids: list[int], database_url: str) -> None:
        self.server_pids = server_pids
        self.database_url = database_url
        self.server = 0.0
        self.postgres = 0.0
        self._server0 = 0.0
        self._pg0: dict[int, float] = {}

    async def start(self) -> CpuMeter:
        self._server0 = cpu_seconds(self.server_pids)
        self._pg0 = {pid: cpu_seconds([pid]) for pid in await postgres_pids(self.database_url)}
        return self

    async def stop(self) -> CpuMeter:
        self.server = cpu_seconds(self.server_pids) - self._server0
        pids = await postgres_pids(self.database_url)
        self.postgres = sum(cpu_seconds([pid]) - self._pg0.get(pid, 0.0) for pid in pids)
        return self
