import pytest

from tests.factories import Api
from tests.manifests.support import Depot, make_depot


@pytest.fixture
async def depot(api: Api) -> Depot:
    return await make_depot(api)
