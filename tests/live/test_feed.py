"""Status changes on the live feeds: kept per shipment, published only after a commit."""

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from redis.asyncio import Redis

from backend.auth.tokens import read_token
from backend.db.session import unit_of_work
from backend.live.controller import visible_to
from backend.live.messages import LiveMessage, announce, announce_positions, encode_batches
from backend.live.service import LiveService
from backend.live.stream import ShipmentStream
from backend.shipments.service import ShipmentService
from tests.conftest import Live, live_runtime, make_settings
from tests.live.support import delivery_round, next_message


async def _cancel(live, shipment_id) -> None:
    async with unit_of_work(live.sessionmaker) as session:
        await ShipmentService(session).record([shipment_id], "cancelled", actor_id=None)


async def test_a_committed_status_change_reaches_the_feed(api, live) -> None:
    hub = await api.hub()
    shipment = await api.shipment(hub["id"])
    with live.runtime.hub.feed(lambda _: True) as feed:
        await _cancel(live, UUID(shipment["id"]))
        message = await next_message(feed)
    assert message.type == "shipment.status"
    assert str(message.shipment_id) == shipment["id"]
    assert message.seq == 1
    assert message.at is not None
    assert message.data["status"] == "cancelled"
    assert message.data["previous_status"] == "created"
    assert message.data["tracking_number"] == shipment["tracking_number"]


async def test_a_failed_transaction_publishes_nothing(api, live, db) -> None:
    hub = await api.hub()
    first = UUID((await api.shipment(hub["id"]))["id"])
    second = UUID((await api.shipment(hub["id"]))["id"])
    with live.runtime.hub.feed(lambda _: True) as feed:
        with pytest.raises(RuntimeError):
            async with unit_of_work(live.sessionmaker) as session:
                await ShipmentService(session).record([first], "cancelled", actor_id=None)
                raise RuntimeError("the request failed after the change")
        await _cancel(live, second)
        message = await next_message(feed)
        # The first message to arrive is the committed one; the rolled back one never comes.
        assert message.shipment_id == second
        assert feed.queue.empty()
    assert (
        await db.fetchval("SELECT count(*) FROM shipment_feed WHERE shipment_id = $1", first) == 0
    )


async def test_a_failed_commit_publishes_nothing(api, live, db) -> None:
    hub = await api.hub()
    shipment_id = UUID((await api.shipment(hub["id"]))["id"])
    with live.runtime.hub.feed(lambda _: True) as feed:
        with pytest.raises(Exception, match="deferred_guard"):
            async with unit_of_work(live.sessionmaker) as session:
                await ShipmentService(session).record([shipment_id], "cancelled", actor_id=None)
                # A constraint checked only at COMMIT makes the commit itself fail.
                await (await LiveService(session).repo.raw()).execute(
                    "CREATE TEMP TABLE deferred_guard (x int UNIQUE DEFERRABLE INITIALLY DEFERRED)"
                    " ON COMMIT DROP; INSERT INTO deferred_guard VALUES (1), (1)"
                )
        announce_probe = LiveMessage(type="incident", data={"probe": True})
        async with unit_of_work(live.sessionmaker) as session:
            announce(session, [announce_probe])
        message = await next_message(feed)
    assert message.type == "incident"  # nothing from the failed commit came before it
    assert await db.fetchval("SELECT status FROM shipments WHERE id = $1", shipment_id) == "created"


async def test_every_status_change_of_a_round_is_announced_in_order(api, live) -> None:
    round_ = await delivery_round(api)
    shipment_id = round_.shipments[0]["id"]
    await round_.load()
    await round_.deliver()
    async with unit_of_work(live.sessionmaker) as session:
        replay = await LiveService(session).replay(UUID(shipment_id), None)
    assert [(m.seq, m.data["status"]) for m in replay] == [
        (1, "out_for_delivery"),
        (2, "delivered"),
    ]
    assert "delivered_at" in replay[1].data
    async with unit_of_work(live.sessionmaker) as session:
        after_first = await LiveService(session).replay(replay[0].shipment_id, 1)
    assert [m.seq for m in after_first] == [2]


async def test_partners_see_only_their_own_shipments(api) -> None:
    partner = await api.user("partner")
    dispatcher = await api.user("dispatcher")
    secret = make_settings().secret_key
    as_partner = read_token(partner.headers["Authorization"].split()[1], secret)
    as_dispatcher = read_token(dispatcher.headers["Authorization"].split()[1], secret)
    other = LiveMessage(type="shipment.status", partner_id=None)
    own = LiveMessage(type="shipment.status", partner_id=as_partner.user_id)
    foreign = LiveMessage(type="shipment.status", partner_id=as_dispatcher.user_id)
    partner_sees = visible_to(as_partner, None)
    staff_sees = visible_to(as_dispatcher, None)
    assert [partner_sees(m) for m in (other, own, foreign)] == [False, True, False]
    assert [staff_sees(m) for m in (other, own, foreign)] == [True, True, True]
    only_positions = visible_to(as_dispatcher, frozenset({"driver.position"}))
    assert not only_positions(other)


async def test_one_commit_is_one_publish_split_below_the_notify_limit() -> None:
    messages = [LiveMessage(type="shipment.status", data={"pad": "x" * 300}) for _ in range(60)]
    payloads = list(encode_batches(messages))
    assert len(payloads) > 1
    assert all(len(p) < 8000 for p in payloads)
    assert sum(p.count(b'"type"') for p in payloads) == 60


async def test_postgres_backend_delivers_after_commit_over_notify(api, pg_live) -> None:
    hub = await api.hub()
    shipment_id = UUID((await api.shipment(hub["id"]))["id"])
    with pg_live.runtime.hub.feed(lambda _: True) as feed:
        await _cancel(pg_live, shipment_id)
        message = await asyncio.wait_for(next_message(feed), 10)
    assert message.shipment_id == shipment_id
    assert message.data["status"] == "cancelled"


async def test_a_stream_fills_a_gap_from_the_database_and_drops_repeats(api, live) -> None:
    round_ = await delivery_round(api)
    shipment_id = UUID(round_.shipments[0]["id"])
    await round_.load()  # seq 1
    await round_.fail()  # seq 2
    await round_.load()  # seq 3
    async with unit_of_work(live.sessionmaker) as session:
        stored = await LiveService(session).replay(shipment_id, None)
    by_seq = {m.seq: m for m in stored}
    stream = ShipmentStream(live.runtime.hub, live.sessionmaker, shipment_id, last_seq=0)
    events = stream.events([])
    assert (await anext(events)).retry is not None
    # Another process published seq 3 before seq 1 and 2 reached this one.
    live.runtime.hub.dispatch(next(encode_batches([by_seq[3]])))
    live.runtime.hub.dispatch(next(encode_batches([by_seq[2], by_seq[1]])))
    live.runtime.hub.end_all()
    sent = [event async for event in events]
    assert [e.id for e in sent] == ["1", "2", "3"]
    assert [e.event for e in sent] == ["shipment.status"] * 3
    assert shipment_id not in live.runtime.hub.shipments  # the stream let go of the hub


async def test_positions_are_throttled_per_driver_and_only_the_newest_is_sent(live) -> None:
    driver, other = UUID(int=1), UUID(int=2)
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    live.runtime.throttle.interval = 3600  # one position per driver for the whole test
    with live.runtime.hub.feed(lambda m: m.type == "driver.position") as feed:
        async with unit_of_work(live.sessionmaker) as session:
            announce_positions(
                session,
                [(driver, 13.41, 52.51, t0 + timedelta(seconds=5)), (driver, 13.40, 52.50, t0)],
            )
        async with unit_of_work(live.sessionmaker) as session:
            announce_positions(
                session, [(driver, 13.5, 52.6, t0 + timedelta(minutes=1)), (other, 13.3, 52.4, t0)]
            )
        first = await next_message(feed)
        second = await next_message(feed)
    assert (first.driver_id, first.data["lon"], first.data["lat"]) == (driver, 13.41, 52.51)
    assert second.driver_id == other  # the driver's second position fell inside the interval
    assert feed.queue.empty()


async def test_a_lost_listener_ends_subscriptions_and_the_feed_recovers(api, pg_live, db) -> None:
    hub = await api.hub()
    shipment_id = UUID((await api.shipment(hub["id"]))["id"])
    backend = pg_live.runtime.publisher.plugin._backend
    listener_pid = backend._listener.get_server_pid()
    with pg_live.runtime.hub.feed(lambda _: True) as feed:
        await db.execute("SELECT pg_terminate_backend($1)", listener_pid)
        # Messages may have been missed: the subscriber is told to start over.
        assert await asyncio.wait_for(feed.next(), 30) is None
    assert backend._listener.get_server_pid() != listener_pid
    with pg_live.runtime.hub.feed(lambda _: True) as feed:
        await _cancel(pg_live, shipment_id)
        message = await next_message(feed)
    assert (message.shipment_id, message.data["status"]) == (shipment_id, "cancelled")


@pytest.fixture
async def redis_live(app, redis_url: str) -> AsyncIterator[Live]:
    async for value in live_runtime("redis", redis_url=redis_url):
        yield value


async def test_a_lost_redis_connection_ends_subscriptions_and_the_feed_recovers(
    api, redis_live
) -> None:
    hub = await api.hub()
    shipment_id = UUID((await api.shipment(hub["id"]))["id"])
    admin = Redis.from_url(redis_live.runtime.settings.redis_url)
    try:
        with redis_live.runtime.hub.feed(lambda _: True) as feed:
            name = f"lastmile-live-{os.getpid()}"
            clients = await admin.client_list(_type="pubsub")
            for client in clients:
                if client["name"] == name:
                    await admin.client_kill_filter(_id=client["id"])
            assert any(c["name"] == name for c in clients)
            assert await asyncio.wait_for(feed.next(), 30) is None
        with redis_live.runtime.hub.feed(lambda _: True) as feed:
            await _cancel(redis_live, shipment_id)
            message = await next_message(feed)
    finally:
        await admin.aclose()
    assert (message.shipment_id, message.data["status"]) == (shipment_id, "cancelled")
