from collections.abc import AsyncIterator

import pytest
from litestar import Litestar

from backend.db.session import make_engine, make_sessionmaker
from backend.system.jobs import PeriodicJobs


@pytest.fixture
async def jobs(app: Litestar) -> AsyncIterator[PeriodicJobs]:
    """The periodic jobs on an engine of the test's own event loop (the app runs in another)."""
    settings = app.state.settings
    engine = make_engine(settings)
    yield PeriodicJobs(make_sessionmaker(engine), settings)
    await engine.dispose()
