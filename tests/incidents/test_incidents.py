"""Opening incidents: one statement, deduplicated, and each new one announced on the live feed
after commit."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from backend.db.session import unit_of_work
from backend.incidents.service import IncidentService, NewIncident
from backend.live.messages import LiveMessage, announce
from backend.system.jobs import PeriodicJobs
from tests.conftest import Live, make_settings
from tests.factories import Api
from tests.live.support import next_message
from tests.pod.support import delivery
from tests.sync.factories import fleet
from tests.tracking.support import ping, send

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def incidents_only(message: LiveMessage) -> bool:
    return message.type == "incident"


async def _open(live: Live, incidents: list[NewIncident]) -> int:
    async with unit_of_work(live.sessionmaker) as session:
        return await IncidentService(session).open(incidents)


async def test_each_newly_opened_incident_is_announced_once(api: Api, live: Live, db) -> None:
    hub = await api.hub()
    shipment_id = UUID((await api.shipment(hub["id"]))["id"])
    driver_id = UUID((await api.driver(hub["id"]))["id"])
    geofence = NewIncident(
        kind="outside_geofence",
        dedupe_key="outside_geofence:test-1",
        occurred_at=T0,
        shipment_id=shipment_id,
        driver_id=driver_id,
        data={"distance_m": 420},
    )
    stale = NewIncident(
        kind="stale_gps", dedupe_key="stale_gps:test-1", occurred_at=T0, driver_id=driver_id
    )
    with live.runtime.hub.feed(incidents_only) as feed:
        assert await _open(live, [geofence]) == 1
        first = await next_message(feed)
        # The same fact again opens nothing and announces nothing; the new one is announced.
        assert await _open(live, [geofence, stale]) == 1
        second = await next_message(feed)
        assert feed.queue.empty()
    ids = {row["dedupe_key"]: row["id"] for row in await db.fetch("SELECT * FROM incidents")}
    assert len(ids) == 2
    assert (first.shipment_id, first.driver_id) == (shipment_id, driver_id)
    assert first.data == {
        "id": str(ids["outside_geofence:test-1"]),
        "kind": "outside_geofence",
        "occurred_at": T0.isoformat(),
        "status": "open",
        "severity": "medium",
    }
    assert (second.shipment_id, second.driver_id) == (None, driver_id)
    assert second.data["kind"] == "stale_gps"
    assert second.data["id"] == str(ids["stale_gps:test-1"])


async def test_an_incident_of_a_rolled_back_transaction_is_never_announced(
    api: Api, live: Live, db
) -> None:
    incident = NewIncident(kind="stale_gps", dedupe_key="stale_gps:rolled-back", occurred_at=T0)
    with live.runtime.hub.feed(lambda _: True) as feed:
        with pytest.raises(RuntimeError):
            async with unit_of_work(live.sessionmaker) as session:
                await IncidentService(session).open([incident])
                raise RuntimeError("the request failed after opening it")
        async with unit_of_work(live.sessionmaker) as session:
            announce(session, [LiveMessage(type="probe")])
        assert (await next_message(feed)).type == "probe"
    assert await db.fetchval("SELECT count(*) FROM incidents") == 0


async def test_the_stale_driver_job_announces_one_incident_per_silence(
    api: Api, live: Live
) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    handheld = await api.as_driver(driver)
    shipment = await api.shipment(hub["id"])
    today = datetime.now(UTC).date().isoformat()
    route = await api.route(driver["id"], hub["id"], [shipment["id"]], date=today)
    await api.publish_route(route["id"])
    await send(handheld, [ping(600)])  # threshold is 300 s
    jobs = PeriodicJobs(live.sessionmaker, make_settings())
    with live.runtime.hub.feed(incidents_only) as feed:
        assert await jobs.detect_stale() == 1
        first = await next_message(feed)
        assert await jobs.detect_stale() == 1  # the same silence: no new incident to announce
        await send(handheld, [ping(1)])  # back on air, then silent again
        assert await jobs.detect_stale(datetime.now(UTC) + timedelta(minutes=10)) == 1
        second = await next_message(feed)
        assert feed.queue.empty()
    assert first.driver_id == second.driver_id == UUID(driver["id"])
    assert first.data["kind"] == second.data["kind"] == "stale_gps"
    assert first.data["id"] != second.data["id"]


async def test_a_custody_conflict_pushed_through_the_api_reaches_the_feed(
    api: Api, pg_live: Live
) -> None:
    f = await fleet(api, drivers=2, per_route=1)
    first, shipment = f.handhelds[0], f.shipments[0][0]
    await api.post(f"/v1/routes/{f.routes[0]['id']}/reassign", {"driver_id": f.drivers[1]["id"]})
    with pg_live.runtime.hub.feed(incidents_only) as feed:
        result = await first.push([first.event("scan_loaded", 1, shipment_id=shipment["id"])])
        assert result["results"][0]["status"] == "accepted"
        message = await next_message(feed)
    assert message.data["kind"] == "custody_conflict"
    assert message.shipment_id == UUID(shipment["id"])
    assert message.driver_id == UUID(f.drivers[0]["id"])


async def test_a_pod_incident_pushed_through_the_api_reaches_the_feed(
    api: Api, pg_live: Live
) -> None:
    job = await delivery(api)
    with pg_live.runtime.hub.feed(incidents_only) as feed:
        await job.deliver(metres=400, accuracy_m=5)
        message = await next_message(feed)
    assert message.data["kind"] == "outside_geofence"
    assert message.shipment_id == UUID(job.shipment_id)
    assert message.driver_id == UUID(job.driver["id"])
