"""Test harness: one database of our own per run, built by the real migrations.

The server is reached through `LASTMILE_TEST_DATABASE_URL` (default: the local PostgreSQL); the
database named there is dropped and re-created at the start, so it must never be the demo's.
Every test starts from empty tables.
"""

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.app import create_app
from backend.auth import passwords
from backend.config import Settings
from backend.db.migrations import upgrade
from backend.db.scratch import recreate_database
from backend.db.session import make_engine, make_sessionmaker
from backend.live.hub import LiveRuntime
from backend.system.jobs import PeriodicJobs
from tests.factories import Api

# Production-strength argon2 costs ~0.2 s of CPU per hash; the suite signs in hundreds of users.
# Hashes keep their own parameters, so verification works across both.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

TEST_URL = os.environ.get(
    "LASTMILE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/lastmile_test"
)
ADMIN_EMAIL = "admin@test.lastmile"
ADMIN_PASSWORD = "admin-password-1"
RATE_LIMIT_SETTINGS = [
    "rate_limit_sign_in_account",
    "rate_limit_sign_in_address",
    "rate_limit_account",
    "rate_limit_instructions",
    "rate_limit_streams",
]


def make_settings(**overrides: object) -> Settings:
    """Settings for an app against the test database; overrides win."""
    env = {"LASTMILE_DATABASE_URL": TEST_URL}
    defaults: dict[str, object] = {
        "embedded_worker": False,
        "secret_key": "test-secret-key-0123456789-abcdefghijklmnop",
        "bootstrap_admin_email": ADMIN_EMAIL,
        "bootstrap_admin_password": ADMIN_PASSWORD,
        "log_level": "WARNING",
        # The suite signs in hundreds of users from one address: rate limits are off unless a
        # test sets them (tests/limits does, with small values).
        **{name: "off" for name in RATE_LIMIT_SETTINGS},
    }
    return Settings.from_env(env, **(defaults | overrides))


@pytest.fixture(scope="session")
def settings() -> Settings:
    return make_settings()


@pytest.fixture(scope="session")
async def database(settings: Settings) -> str:
    await recreate_database(settings.plain_database_url, marker="test")
    await asyncio.to_thread(upgrade, settings)
    return settings.plain_database_url


@pytest.fixture(scope="session")
async def db(database: str) -> AsyncIterator[asyncpg.Pool]:
    """A plain asyncpg pool for assertions straight against the tables."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=4)
    yield pool
    await pool.close()


async def _truncate(pool: asyncpg.Pool) -> None:
    tables = await pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        " AND tablename NOT IN ('alembic_version', 'spatial_ref_sys')"
    )
    names = ", ".join(f'"{row["tablename"]}"' for row in tables)
    await pool.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture
async def app(settings: Settings, db: asyncpg.Pool) -> AsyncIterator[Litestar]:
    await _truncate(db)
    yield create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def api(client: AsyncTestClient) -> Api:
    """The API signed in as the bootstrap admin, with factories for common objects."""
    return await Api.sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
async def jobs(app: Litestar) -> AsyncIterator[PeriodicJobs]:
    """The periodic jobs on an engine of the test's own event loop (the app runs in another)."""
    settings = app.state.settings
    engine = make_engine(settings)
    yield PeriodicJobs(make_sessionmaker(engine), settings)
    await engine.dispose()


@dataclass
class Live:
    """A live runtime in the test's own event loop, with a sessionmaker that publishes to it."""

    runtime: LiveRuntime
    sessionmaker: async_sessionmaker[AsyncSession]
    engine: AsyncEngine


async def live_runtime(backend: str, **overrides: object) -> AsyncIterator[Live]:
    settings = make_settings(channels_backend=backend, **overrides)
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
