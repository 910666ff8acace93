from collections.abc import AsyncIterator

import pytest

from tests.live.conftest import Live, live_runtime


@pytest.fixture
async def live(app) -> AsyncIterator[Live]:
    """A live runtime on the memory backend in the test's own loop."""
    async for value in live_runtime("memory"):
        yield value


@pytest.fixture
async def pg_live(app) -> AsyncIterator[Live]:
    """A live runtime listening on PostgreSQL, to hear what the API process publishes."""
    async for value in live_runtime("postgres"):
        yield value
