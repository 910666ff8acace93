"""Replica reads against a real streaming replica: a primary and a hot standby the test starts.

Staleness is made visible by pausing the replica's replay: a change made on the primary after
the pause is on the primary only, so a read that misses it was served by the replica, and a read
that shows it was served by the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.config import Settings, SettingsError
from backend.db.migrations import upgrade
from backend.db.replicas import (
    FRESH_COOKIE,
    PrimaryPositions,
    ReplicaRouter,
    read_from_replica,
)
from backend.db.scratch import recreate_database
from backend.db.session import make_engine, make_sessionmaker
from backend.live.hub import LiveRuntime
from backend.live.service import LiveService
from backend.live.stream import ShipmentStream
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, _truncate, make_settings
from tests.db.clusters import Clusters, missing_prerequisite
from tests.factories import Api
from tests.recipients.support import scene

DATABASE = "lastmile_replica_test"
WAIT_SECONDS = 60.0
# Every path a replica may serve; sync (pull above all) and every writer are absent.
REPLICA_READERS = {
    "/v1/track/{token:str}",
    "/v1/track/{token:str}/pickup-points",
    "/v1/track/{token:str}/stream",
    "/t/{token:str}",
    "/v1/tracking/positions",
}


@pytest.fixture(scope="module")
async def clusters() -> AsyncIterator[Clusters]:
    reason = missing_prerequisite()
    if reason:
        pytest.skip(f"no replica can be started here: {reason}")
    clusters = Clusters()
    try:
        await asyncio.to_thread(clusters.create)
        url = clusters.primary.url(DATABASE)
        await recreate_database(url, marker="test")
        await asyncio.to_thread(upgrade, make_settings(database_url=url))
        await asyncio.to_thread(clusters.make_replica)
        await until(clusters.streaming, "the replica streams from the primary")
        yield clusters
    finally:
        await asyncio.to_thread(clusters.remove)


@pytest.fixture
async def primary(clusters: Clusters) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(clusters.primary.url(DATABASE))
    pool = await asyncpg.create_pool(clusters.primary.url(DATABASE), min_size=1, max_size=1)
    await _truncate(pool)
    await pool.close()
    yield connection
    await connection.close()


@pytest.fixture
async def replica(clusters: Clusters, primary) -> AsyncIterator[asyncpg.Connection]:
    """The replica, caught up with the truncation; its replay resumed whatever a test did."""
    connection = await asyncpg.connect(clusters.replica.url(DATABASE))
    await caught_up(primary, connection)
    yield connection
    if not connection.is_closed():
        await connection.execute("SELECT pg_wal_replay_resume()")
        await connection.close()


def replica_app(clusters: Clusters, **overrides: object) -> Litestar:
    defaults: dict[str, object] = {
        "database_url": clusters.primary.url(DATABASE),
        "database_replica_urls": clusters.replica.url(DATABASE),
        "replica_check_seconds": 0.2,
    }
    settings = make_settings(**(defaults | overrides))
    return create_app(settings)


@contextlib.asynccontextmanager
async def signed_in(app: Litestar) -> AsyncIterator[Api]:
    async with AsyncTestClient(app=app) as client:
        yield await Api.sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for a state (never for a duration): fail with `what` if it never comes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"still waiting: {what}")
        await asyncio.sleep(0.05)


async def caught_up(primary: asyncpg.Connection, replica: asyncpg.Connection) -> None:
    target = await primary.fetchval("SELECT pg_current_wal_lsn()::text")

    async def replayed() -> bool:
        query = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"
        return bool(await replica.fetchval(query, target))

    await until(replayed, "the replica replays what the primary wrote")


async def reads(client: AsyncTestClient) -> dict[str, Any]:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    return response.json()["reads"]


async def replica_state(client: AsyncTestClient, *states: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await reads(client))["replicas"][0]["state"] in states

    return check


def counts(reads: dict[str, Any]) -> list[int]:
    return [reads["primary_reads"], *(replica["reads"] for replica in reads["replicas"])]


async def track(client: AsyncTestClient, token: str) -> dict[str, Any]:
    response = await client.get(f"/v1/track/{token}")
    assert response.status_code == 200, response.text
    return response.json()


async def paused(primary: asyncpg.Connection, replica: asyncpg.Connection) -> None:
    """Everything so far replayed, then the replica's replay paused."""
    await caught_up(primary, replica)
    await replica.execute("SELECT pg_wal_replay_pause()")


async def test_tracking_reads_the_replica_and_a_recipient_reads_its_own_instruction(
    clusters: Clusters, primary, replica
) -> None:
    app = replica_app(clusters, replica_max_lag_seconds=3600)
    async with signed_in(app) as api:
        s = await scene(api, stops=3)
        await until(await replica_state(api.client, "streaming"), "the replica is streaming")
        await paused(primary, replica)
        before = (await reads(api.client))["replicas"][0]["reads"]

        cancelled = await api.post(f"/v1/shipments/{s.shipments[1]['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        # The replica, paused before the cancel, serves the tracking API and page.
        assert (await track(api.client, s.token(1)))["status"] == "created"
        page = await api.client.get(f"/t/{s.token(1)}")
        assert page.status_code == 200 and "cancelled" not in page.text.lower()
        points = await api.client.get(f"/v1/track/{s.token(1)}/pickup-points")
        assert points.status_code == 200, points.text
        positions = await api.get("/v1/tracking/positions")
        assert positions.status_code == 200, positions.text
        assert (await reads(api.client))["replicas"][0]["reads"] == before + 4
        ready = await api.client.get("/readyz")  # public: where the replicas are stays private
        assert ready.json()["reads"]["replicas"][0]["replica"] == 1
        assert DATABASE not in ready.text and str(clusters.root) not in ready.text

        # The recipient's own instruction shows on the very next read: from the primary.
        posted = await api.client.post(
            f"/v1/track/{s.token(0)}/instructions",
            json={"type": "safe_drop", "location_note": "behind the blue gate"},
        )
        assert posted.status_code == 201, posted.text
        cookie = api.client.cookies.get(FRESH_COOKIE)
        assert cookie == "1"
        assert (await track(api.client, s.token(0)))["instruction"]["type"] == "safe_drop"

    # Another process knows nothing of the write but the cookie the recipient carries.
    other = replica_app(clusters, replica_max_lag_seconds=3600)
    async with AsyncTestClient(app=other) as client:
        await until(await replica_state(client, "streaming"), "the replica is streaming")
        assert (await track(client, s.token(0)))["instruction"] is None
        client.cookies.set(FRESH_COOKIE, cookie)
        assert (await track(client, s.token(0)))["instruction"]["type"] == "safe_drop"
        client.cookies.delete(FRESH_COOKIE)

        await replica.execute("SELECT pg_wal_replay_resume()")
        await caught_up(primary, replica)
        assert (await track(client, s.token(0)))["instruction"]["type"] == "safe_drop"
        assert (await track(client, s.token(1)))["status"] == "cancelled"


async def test_a_lagging_replica_sends_reads_to_the_primary(
    clusters: Clusters, primary, replica
) -> None:
    app = replica_app(clusters, replica_max_lag_seconds=2)
    async with signed_in(app) as api:
        s = await scene(api, stops=2)
        await until(await replica_state(api.client, "streaming"), "the replica is streaming")
        await paused(primary, replica)
        cancelled = await api.post(f"/v1/shipments/{s.shipments[0]['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text

        await until(await replica_state(api.client, "lagging"), "the lag is noticed")
        before = await reads(api.client)
        assert (await track(api.client, s.token(0)))["status"] == "cancelled"
        after = await reads(api.client)
        assert after["primary_reads"] == before["primary_reads"] + 1
        assert after["replicas"][0]["reads"] == before["replicas"][0]["reads"]

        await replica.execute("SELECT pg_wal_replay_resume()")
        await until(await replica_state(api.client, "streaming"), "the replica caught up")
        assert (await track(api.client, s.token(0)))["status"] == "cancelled"
        assert (await reads(api.client))["replicas"][0]["reads"] == after["replicas"][0][
            "reads"
        ] + 1


async def test_a_stopped_replica_sends_reads_to_the_primary(
    clusters: Clusters, primary, replica
) -> None:
    app = replica_app(clusters, replica_max_lag_seconds=3600, replica_check_seconds=30)
    async with signed_in(app) as api:
        s = await scene(api, stops=1)
        await caught_up(primary, replica)
        await until(await replica_state(api.client, "streaming"), "the replica is streaming")
        await replica.close()
        await asyncio.to_thread(clusters.stop, clusters.replica)
        try:
            # Between two checks: the failed connection itself turns the read to the primary.
            before = await reads(api.client)
            assert before["replicas"][0]["state"] == "streaming"
            assert (await track(api.client, s.token(0)))["status"] == "created"
            after = await reads(api.client)
            assert after["replicas"][0]["state"] == "down"
            assert after["primary_reads"] == before["primary_reads"] + 1
            assert (await api.client.get(f"/t/{s.token(0)}")).status_code == 200
        finally:
            await asyncio.to_thread(clusters.start, clusters.replica)
        await until(clusters.streaming, "the replica streams again")


async def test_sync_pull_never_reads_a_replica(clusters: Clusters, primary, replica) -> None:
    app = replica_app(clusters, replica_max_lag_seconds=3600)
    async with signed_in(app) as api:
        s = await scene(api, stops=3)
        await s.handheld.pull()
        await until(await replica_state(api.client, "streaming"), "the replica is streaming")
        await paused(primary, replica)
        before = counts(await reads(api.client))

        cancelled = await api.post(f"/v1/shipments/{s.shipments[2]['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        await s.handheld.pull()
        assert s.handheld.local[("shipment", s.shipments[2]["id"])]["status"] == "cancelled"
        assert counts(await reads(api.client)) == before

    readers = {
        route.path
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if "read_db_session" in inspect.signature(handler.fn).parameters
    }
    assert readers == REPLICA_READERS


async def test_the_page_after_a_form_post_shows_the_instruction(
    clusters: Clusters, primary, replica
) -> None:
    app = replica_app(clusters, replica_max_lag_seconds=3600)
    async with signed_in(app) as api:
        s = await scene(api, stops=1)
        await until(await replica_state(api.client, "streaming"), "the replica is streaming")
        await paused(primary, replica)
        posted = await api.client.post(
            f"/t/{s.token(0)}",
            data={"type": "safe_drop", "location_note": "under the red doormat"},
            follow_redirects=False,
        )
        assert posted.status_code == 303, posted.text
        assert f"{FRESH_COOKIE}=1" in posted.headers["set-cookie"]
        page = await api.client.get(posted.headers["location"])
        assert page.status_code == 200
        assert "under the red doormat" in page.text


async def test_a_stream_replayed_on_a_stale_replica_catches_up_from_the_primary(
    clusters: Clusters, primary, replica
) -> None:
    app = replica_app(clusters, replica_max_lag_seconds=3600)
    async with signed_in(app) as api:
        hub = await api.hub()
        shipment = await api.shipment(hub["id"])
        await paused(primary, replica)
        cancelled = await api.post(f"/v1/shipments/{shipment['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text

    settings = app.state.settings
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    router = ReplicaRouter(settings, engine, sessionmaker)
    runtime = LiveRuntime(make_settings(channels_backend="memory"))
    try:
        await router.check()
        async with runtime.running(), router.read_session() as session:
            assert read_from_replica(session)
            service = LiveService(session)
            shipment_id = await service.shipment_for_token(shipment["tracking_token"])
            replay = await service.replay(shipment_id, None)
            assert replay == []  # the cancel is not on the replica
            stream = ShipmentStream(runtime.hub, sessionmaker, shipment_id, None, catch_up=True)
            events = stream.events(replay)
            assert (await anext(events)).retry is not None
            caught = await anext(events)
            runtime.hub.end_all()
            assert [e async for e in events] == []
        assert (caught.id, caught.event) == ("1", "shipment.status")
        assert '"status":"cancelled"' in str(caught.data)
    finally:
        await router.dispose()
        await engine.dispose()


@pytest.mark.parametrize(
    ("urls", "message"),
    [
        ("mysql://db.example.com/lastmile", "expected postgresql:// URLs"),
        ("postgresql://u:secret@db.example.com:port/lastmile", "port"),
        ("postgresql:///lastmile", "names no host"),
        ("postgresql://a.example.com/x,redis://u:secret@b.example.com/x", "postgresql://"),
    ],
)
def test_replica_urls_are_checked_at_start_without_echoing_passwords(
    urls: str, message: str
) -> None:
    with pytest.raises(SettingsError, match="LASTMILE_DATABASE_REPLICA_URLS") as raised:
        Settings.from_env({"LASTMILE_DATABASE_REPLICA_URLS": urls})
    assert message in str(raised.value)
    assert "secret" not in str(raised.value)


def test_replica_urls_are_read_as_a_comma_separated_list() -> None:
    settings = Settings.from_env(
        {
            "LASTMILE_DATABASE_REPLICA_URLS": " postgresql://r1:5433/lm, postgres://r2/lm?sslmode=require ,"
        }
    )
    assert settings.replica_urls == ["postgresql://r1:5433/lm", "postgres://r2/lm?sslmode=require"]
    assert settings.async_replica_urls == [
        "postgresql+asyncpg://r1:5433/lm",
        "postgresql+asyncpg://r2/lm?sslmode=require",
    ]
    assert Settings.from_env({}).replica_urls == []


def test_an_idle_primary_is_no_lag_and_a_stalled_replica_ages() -> None:
    positions = PrimaryPositions(keep_seconds=10)
    for second in range(6):  # the primary wrote nothing for five seconds
        positions.add(float(second), 1_000)
    assert positions.lag(1_000, 5.0, replay_age=300.0) == 0.0
    positions.add(6.0, 2_000)  # a write the replica has not replayed
    positions.add(7.0, 2_000)
    assert positions.lag(1_000, 7.0, replay_age=None) == 2.0  # it holds what was there at 5 s
    assert positions.lag(2_000, 7.0, replay_age=None) == 0.0
    for second in range(8, 20):
        positions.add(float(second), 3_000 + second)
    # Behind every sample kept: the age of its last replayed commit bounds the lag from above.
    assert positions.lag(1_000, 19.0, replay_age=42.0) == 42.0
    assert positions.lag(1_000, 19.0, replay_age=None) is None
