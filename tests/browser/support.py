"""A real server for browser tests: uvicorn on a free loopback port against the test database,
and headless Chromium (Debian's, through Playwright) with a screenshot of every page at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, TEST_URL, make_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def free_port(attempts: int = 50) -> int:
    """A free loopback port. On a busy machine the ephemeral range can run out for a moment
    (thousands of sockets in TIME_WAIT): ask again a little later, a bounded number of times."""
    for attempt in range(attempts):
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                return sock.getsockname()[1]
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


def wait_until_up(url: str, process: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not come up")


@contextmanager
def running_server(**settings: str) -> Iterator[str]:
    """`http://127.0.0.1:<port>` of a uvicorn serving the app; the bootstrap admin is created at
    start. Live positions are not throttled, so every ping a test posts is announced."""
    port = free_port()
    env = (
        os.environ
        | {
            "LASTMILE_DATABASE_URL": TEST_URL,
            "LASTMILE_SECRET_KEY": make_settings().secret_key,
            "LASTMILE_EMBEDDED_WORKER": "false",
            "LASTMILE_LOG_LEVEL": "WARNING",
            "LASTMILE_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
            "LASTMILE_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "LASTMILE_LIVE_POSITION_INTERVAL_SECONDS": "0",
            "LASTMILE_RATE_LIMIT_SIGN_IN_ACCOUNT": "off",
            "LASTMILE_RATE_LIMIT_SIGN_IN_ADDRESS": "off",
            "LASTMILE_RATE_LIMIT_ACCOUNT": "off",
            "LASTMILE_RATE_LIMIT_INSTRUCTIONS": "off",
            "LASTMILE_RATE_LIMIT_STREAMS": "off",
        }
        | {f"LASTMILE_{k.upper()}": v for k, v in settings.items()}
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / f"server-{port}.log").open("wb")
    command = [sys.executable, "-m", "uvicorn", "backend.app:create_app", "--factory"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process, time.monotonic() + 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()
