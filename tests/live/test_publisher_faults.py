"""The PostgreSQL live-feed publisher survives its connection being terminated mid-send, and
/readyz says so while it cannot publish.

The publisher reaches PostgreSQL through a loopback proxy that can keep back what it sends: the
NOTIFY statement is then on the wire, unanswered, when the test terminates its backend.
"""

import asyncio
from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.live.backends import PUBLISHER_NAME
from backend.live.messages import LiveMessage
from tests.conftest import TEST_URL, live_runtime, make_settings
from tests.live.proxy import Proxy
from tests.live.support import next_message

TERMINATE_PUBLISHER = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
    f" WHERE application_name = '{PUBLISHER_NAME}' AND datname = current_database()"
)


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    with Proxy(TEST_URL).running() as running:
        yield running


async def _publish_then_terminate_mid_send(runtime, db, proxy: Proxy, text: str) -> None:
    proxy.hold.set()
    proxy.held.clear()
    runtime.publisher.publish([LiveMessage(type="test.ping", data={"text": text})])
    assert await asyncio.to_thread(proxy.held.wait, 10), "the NOTIFY never left"
    assert await db.fetchval(TERMINATE_PUBLISHER) == 1
    proxy.hold.clear()


async def _until_health(runtime, expected: str | None, within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await _health_says(runtime, expected):
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.05)


async def _health_says(runtime, expected: str | None) -> bool:
    health = await runtime.health()
    return health is None if expected is None else expected in (health or "")


async def test_a_send_cut_mid_statement_is_sent_again_on_a_new_connection(app, db, proxy) -> None:
    async for live in live_runtime("postgres", database_url=proxy.url()):
        with live.runtime.hub.feed(lambda _: True) as feed:
            await _publish_then_terminate_mid_send(live.runtime, db, proxy, "first")
            message = await next_message(feed)
            assert (message.type, message.data) == ("test.ping", {"text": "first"})
            assert await live.runtime.health() is None


async def test_a_publisher_that_cannot_reconnect_is_reported_then_recovers(app, db, proxy) -> None:
    async for live in live_runtime("postgres", database_url=proxy.url()):
        runtime = live.runtime
        with runtime.hub.feed(lambda _: True) as feed:
            proxy.refuse.set()
            await _publish_then_terminate_mid_send(runtime, db, proxy, "kept")

            await _until_health(runtime, "publishing fails")
            proxy.refuse.clear()
            # The supervised loop tries again by itself; the batch was kept, not dropped.
            message = await next_message(feed, within=20)
            assert message.data == {"text": "kept"}

            await _until_health(runtime, None)


async def test_readyz_reports_a_publisher_that_cannot_publish(app, db, proxy) -> None:
    app = create_app(make_settings(database_url=proxy.url(), channels_backend="postgres"))
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/readyz")).status_code == 200
        proxy.refuse.set()
        assert await db.fetchval(TERMINATE_PUBLISHER) == 1
        await asyncio.sleep(0.5)  # the closed connection is noticed
        down = await client.get("/readyz")
        proxy.refuse.clear()
        up = await client.get("/readyz")
    assert down.status_code == 503, down.text
    assert "live-feed publisher" in down.json()["detail"]
    assert down.headers["retry-after"] == "5"
    assert up.status_code == 200, up.text
