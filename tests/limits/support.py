from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar.testing import AsyncTestClient

from backend.app import create_app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings
from tests.factories import Api


@asynccontextmanager
async def client_with(**settings: object) -> AsyncIterator[AsyncTestClient]:
    """A client of an app whose settings (limits, mostly) the test chooses."""
    async with AsyncTestClient(app=create_app(make_settings(**settings))) as client:
        yield client


async def admin(client: AsyncTestClient) -> Api:
    return await Api.sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)


def assert_rate_limited(response, code: str = "rate_limited") -> int:
    """429 problem+json naming its code, with Retry-After in whole seconds; the wait."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    wait = int(response.headers["retry-after"])
    assert wait >= 1
    return wait
