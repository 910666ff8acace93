"""Driver positions from the ping ingest reach the dispatch feed: the newest fix of a call, only
when it moved the driver's latest position."""

from uuid import UUID

from litestar import Litestar

from tests.conftest import Live
from tests.factories import Api
from tests.live.support import next_message
from tests.sync.factories import Handheld
from tests.tracking.support import ping, send


def positions_only(message) -> bool:
    return message.type == "driver.position"


async def test_a_posted_ping_reaches_the_feed_and_a_late_one_does_not(
    app: Litestar, api: Api, pg_live: Live
) -> None:
    app.state.live.throttle.interval = 0  # the API process announces every moved position
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    handheld = await api.as_driver(driver)
    with pg_live.runtime.hub.feed(positions_only) as feed:
        await send(handheld, [ping(60, 13.40, 52.50), ping(30, 13.41, 52.51, accuracy_m=5)])
        newest = await next_message(feed)
        await send(handheld, [ping(120, 13.30, 52.40)])  # older than the latest: stored only
        await send(handheld, [ping(10, 13.42, 52.52)])
        after_the_late_one = await next_message(feed)
    assert newest.driver_id == UUID(driver["id"])
    assert (newest.data["lon"], newest.data["lat"]) == (13.41, 52.51)
    assert newest.data["fix_at"]
    # The next position on the feed is the fresh one: the late ping announced nothing.
    assert (after_the_late_one.data["lon"], after_the_late_one.data["lat"]) == (13.42, 52.52)
    assert feed.queue.empty()


async def test_a_location_event_in_a_push_reaches_the_feed(
    app: Litestar, api: Api, pg_live: Live
) -> None:
    app.state.live.throttle.interval = 0
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    handheld = Handheld(await api.as_driver(driver), "device-1")
    event = handheld.event("location", location={"lon": 13.45, "lat": 52.55, "accuracy_m": 7})
    with pg_live.runtime.hub.feed(positions_only) as feed:
        result = await handheld.push([event])
        assert result["results"][0]["status"] == "accepted"
        message = await next_message(feed)
    assert message.driver_id == UUID(driver["id"])
    assert (message.data["lon"], message.data["lat"]) == (13.45, 52.55)


async def test_positions_are_throttled_per_driver_in_the_api_process(
    app: Litestar, api: Api, pg_live: Live
) -> None:
    app.state.live.throttle.interval = 3600
    hub = await api.hub()
    first, second = [await api.driver(hub["id"]) for _ in range(2)]
    with pg_live.runtime.hub.feed(positions_only) as feed:
        await send(await api.as_driver(first), [ping(30, 13.40, 52.50)])
        await send(await api.as_driver(first), [ping(20, 13.41, 52.51)])  # inside the interval
        await send(await api.as_driver(second, "device-2"), [ping(10, 13.50, 52.60)], "device-2")
        messages = [await next_message(feed), await next_message(feed)]
    assert [(m.driver_id, m.data["lon"]) for m in messages] == [
        (UUID(first["id"]), 13.40),
        (UUID(second["id"]), 13.50),
    ]
    assert feed.queue.empty()
