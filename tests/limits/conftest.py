import asyncpg
import pytest

from tests.conftest import _truncate
from tests.live.conftest import redis_url  # noqa: F401 - the suite's own Redis server


@pytest.fixture
async def truncated(db: asyncpg.Pool) -> None:
    """Empty tables, for tests that build their own app with the settings they need."""
    await _truncate(db)
