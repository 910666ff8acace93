import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from backend.bench.server import free_port


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis server of the suite's own (redis-server on a free port, nothing kept on disk);
    without the binary, one already answering on 127.0.0.1:6379."""
    binary = shutil.which("redis-server")
    if binary is None:
        if not redis_answers(6379):
            pytest.skip("no redis-server to start (apt-get install redis-server) and none on :6379")
        yield "redis://127.0.0.1:6379/0"
        return
    port = free_port()
    command = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if redis_answers(port):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"redis-server did not answer on port {port}")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
