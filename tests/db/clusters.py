"""A PostgreSQL primary of our own (wal_level=replica) and a streaming replica of it.

The shared server on 5432 is never reconfigured or restarted: `initdb` makes a throwaway
cluster in a temp dir, `pg_basebackup -R` copies it into a hot standby, and both are stopped and
removed afterwards. They listen on unix sockets in that private dir only (no TCP port to find
free, none to collide with), and the standby streams from the primary over its socket. As root,
the servers run as `postgres`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg

SERVER_SETTINGS = {
    "listen_addresses": "''",
    "wal_level": "replica",
    "max_wal_senders": "4",
    "hot_standby": "on",
    "fsync": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "60",
}


def pg_bin() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if candidates:
        return candidates[0].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def missing_prerequisite() -> str | None:
    """Why the replica tests cannot run here, or None."""
    binaries = pg_bin()
    if binaries is None:
        return "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) are not installed"
    share = subprocess.run(
        [str(binaries / "pg_config"), "--sharedir"], capture_output=True, text=True
    ).stdout.strip()
    if share and not Path(share, "extension", "postgis.control").exists():
        return "PostGIS is not installed for the local PostgreSQL server binaries"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres OS user to run a cluster as"
    return None


@dataclass
class Server:
    data: Path
    port: int  # names the socket file in the private dir
    log: Path
    sockets: Path

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.sockets}&port={self.port}"


class Clusters:
    """A primary and its replica, each a `Server`."""

    def __init__(self) -> None:
        self.bin = pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="lastmile-replica-"))
        self.primary = Server(self.root / "primary", 5432, self.root / "primary.log", self.root)
        self.replica = Server(self.root / "replica", 5433, self.root / "replica.log", self.root)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd="/", timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stderr or result.stdout}")

    def create(self) -> None:
        self._run(
            "initdb", "-D", str(self.primary.data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        settings = "".join(f"{key} = {value}\n" for key, value in SERVER_SETTINGS.items())
        settings += f"unix_socket_directories = '{self.root}'\n"
        with (self.primary.data / "postgresql.conf").open("a") as conf:
            conf.write(settings)
        self.start(self.primary)

    def make_replica(self) -> None:
        """A hot standby of the primary, streaming (`-R` writes its primary_conninfo)."""
        self._run(
            "pg_basebackup", "-h", str(self.root), "-p", str(self.primary.port), "-U", "postgres",
            "-D", str(self.replica.data), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        self.start(self.replica)

    def start(self, server: Server) -> None:
        self._run(
            "pg_ctl", "-D", str(server.data), "-l", str(server.log), "-w", "-t", "60",
            "-o", f"-p {server.port}", "start",
        )  # fmt: skip

    def stop(self, server: Server) -> None:
        self._run("pg_ctl", "-D", str(server.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        for server in (self.replica, self.primary):
            if (server.data / "postmaster.pid").exists():
                with contextlib.suppress(RuntimeError):
                    self._run("pg_ctl", "-D", str(server.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    async def streaming(self) -> bool:
        connection = await asyncpg.connect(self.primary.url("postgres"))
        try:
            count = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
            )
        finally:
            await connection.close()
        return count > 0
