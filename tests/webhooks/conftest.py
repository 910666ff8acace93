from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.db.session import make_engine, make_sessionmaker
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, _truncate, make_settings
from tests.factories import Api
from tests.webhooks.receiver import Receiver


@pytest.fixture
async def hooks_api(db) -> AsyncIterator[Api]:
    """The API (admin) with private webhook URLs allowed, as in development."""
    await _truncate(db)
    app = create_app(make_settings(webhooks_allow_private=True))
    async with AsyncTestClient(app=app) as client:
        yield await Api.sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
async def sessionmaker():
    engine = make_engine(make_settings())
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    await server.stop()
