import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.db.session import make_engine, make_sessionmaker
from backend.live.hub import LiveRuntime
from tests.conftest import make_settings


@dataclass
class Live:
    """A live runtime in the test's own event loop, with a sessionmaker that publishes to it."""

    runtime: LiveRuntime
    sessionmaker: async_sessionmaker[AsyncSession]
    engine: AsyncEngine


async def live_runtime(backend: str) -> AsyncIterator[Live]:
    settings = make_settings(channels_backend=backend)
    runtime = LiveRuntime(settings)
    engine = make_engine(settings)
    try:
        async with runtime.running():
            yield Live(runtime, make_sessionmaker(engine, info=runtime.session_info), engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def live(app) -> AsyncIterator[Live]:
    """Memory backend: publisher and subscribers in this process."""
    async for value in live_runtime("memory"):
        yield value


@pytest.fixture
async def pg_live(app) -> AsyncIterator[Live]:
    """PostgreSQL LISTEN/NOTIFY backend."""
    async for value in live_runtime("postgres"):
        yield value


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False
