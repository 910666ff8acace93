"""Couriers and partner carriers in a disruption's recovery: online couriers near the parcels
are rescue vehicles whose work is offered to them, and what no vehicle takes goes to the first
carrier of the hub's `partner_order` covering it. A drill still changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest
from litestar import Litestar

from backend.app import create_app
from tests.conftest import _truncate, make_settings
from tests.disruptions.support import at_eleven, make_road, post_disruption, stops_of
from tests.factories import CENTER, Api, square
from tests.offers.support import courier
from tests.partners.support import organization
from tests.planning.support import plan_worker

BREAKDOWN_AT = [13.41, 52.50]


@pytest.fixture
async def app(tmp_path: Path, db: asyncpg.Pool) -> AsyncIterator[Litestar]:
    """Couriers keep their documents in a directory of their own."""
    await _truncate(db)
    yield create_app(
        make_settings(blob_dir=str(tmp_path / "blobs"), courier_applications_per_hour=100_000)
    )


@pytest.fixture
async def worker(app, monkeypatch):
    at_eleven(monkeypatch)
    async for value in plan_worker(app):
        yield value


async def ready(api: Api, worker, disruption_id: str) -> dict:
    while await worker.run_once() is not None:
        pass
    response = await api.get(f"/v1/disruptions/{disruption_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def no_spare(api: Api, hub_id: str, **contingency) -> None:
    body = {"spare_driver_ids": [], "recovery_time_limit_s": 1} | contingency
    assert (await api.put(f"/v1/hubs/{hub_id}/contingency", body)).status_code == 200


async def carrier(api: Api, kind: str, half: float | None) -> str:
    """A partner carrier whose service area is a square around the city centre (or none)."""
    area = {"service_area": square(*CENTER, half)} if half is not None else {}
    return (await organization(api, kind, **area))["id"]


async def test_an_online_courier_is_offered_the_broken_vans_work(api, db, worker):
    road = await make_road(api)
    await no_spare(api, road.hub["id"])
    nearby = await courier(api, db, road.hub["id"], metres_from_hub=500)
    await courier(api, db, road.hub["id"], metres_from_hub=20_000)  # too far to help
    await courier(api, db, road.hub["id"], metres_from_hub=400, online=False)
    breakdown = {
        "kind": "vehicle_breakdown",
        "driver_id": road.drivers[0]["id"],
        "mode": "live",
        "location": {"type": "Point", "coordinates": BREAKDOWN_AT},
    }
    disruption = await post_disruption(api, breakdown)
    done = await ready(api, worker, disruption["id"])
    impact = done["impact"]
    assert (impact["affected"], impact["rescheduled"], impact["handed_over"]) == (3, 0, 0)
    assert impact["couriers_offered"] == 1 and impact["spare_drivers_used"] == 0
    plan = (await api.get(f"/v1/plans/{done['plan_id']}")).json()
    by_driver = {r["driver_id"]: r for r in plan["routes"]}
    assert set(by_driver) == {road.drivers[1]["id"], nearby.driver_id}
    assert by_driver[nearby.driver_id]["start_location"] == BREAKDOWN_AT
    work = [s["shipment_id"] for s in by_driver[nearby.driver_id]["stops"]]
    assert set(work) == set(road.shipments[0][1:])
    assert await db.fetchval("SELECT count(*) FROM offers") == 0  # nothing before it is applied

    applied = await api.post(f"/v1/disruptions/{disruption['id']}/apply")
    assert applied.status_code == 200, applied.text
    # The work is offered, not assigned: no route for the courier until they accept.
    [offer] = (await api.get("/v1/offers")).json()["items"]
    assert offer["status"] == "open" and offer["offered"] == [nearby.driver_id]
    assert offer["shipment_ids"] == work
    assert offer["pay"]["currency"] == "EUR" and offer["pay"]["amount"] > 0
    assert (
        await db.fetchval("SELECT count(*) FROM routes WHERE driver_id = $1", nearby.driver_id) == 0
    )
    await road.handhelds[0].pull()
    assert stops_of(road.handhelds[0]) == {road.shipments[0][0]}
    events = (await api.get(f"/v1/shipments/{work[0]}/events")).json()["items"]
    assert "recovery_rerouted" in [e["type"] for e in events]

    accepted = await nearby.api.post(f"/v1/offers/{offer['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    route = (await api.get(f"/v1/routes/{accepted.json()['route_id']}")).json()
    assert route["driver_id"] == nearby.driver_id and route["status"] == "published"
    assert [s["shipment_id"] for s in route["stops"]] == work


async def test_a_courier_gone_offline_before_the_apply_leaves_the_work_rescheduled(api, db, worker):
    road = await make_road(api)
    await no_spare(api, road.hub["id"])
    nearby = await courier(api, db, road.hub["id"], metres_from_hub=500)
    disruption = await post_disruption(
        api, {"kind": "driver_unavailable", "driver_id": road.drivers[0]["id"], "mode": "live"}
    )
    assert (await ready(api, worker, disruption["id"]))["impact"]["couriers_offered"] == 1
    assert (await nearby.api.post("/v1/couriers/me/offline")).status_code == 200
    # Offline, and no availability slot left: no longer eligible for the work.
    slots = await nearby.api.put("/v1/couriers/me/availability", {"availability": []})
    assert slots.status_code == 200, slots.text
    applied = await api.post(f"/v1/disruptions/{disruption['id']}/apply")
    assert applied.status_code == 200, applied.text
    assert applied.json()["impact"]["rescheduled"] == 3
    assert await db.fetchval("SELECT count(*) FROM offers") == 0
    events = (await api.get(f"/v1/shipments/{road.shipments[0][1]}/events")).json()["items"]
    assert "recovery_rescheduled" in [e["type"] for e in events]


async def test_what_no_vehicle_takes_goes_to_the_first_covering_partner(api, db, worker):
    road = await make_road(api)
    far = await carrier(api, "cooperative", 0.001)  # first in order, covers none of the stops
    first = await carrier(api, "regional_courier", 0.2)
    other = await carrier(api, "crowd_platform", 0.2)  # covers them, not in the hub's order
    await carrier(api, "retail_network", None)  # no service area: never a candidate
    shipper = await organization(api, "shipper", service_area=square(*CENTER, 0.2))
    await no_spare(api, road.hub["id"], partner_order=[far, first])
    disruption = await post_disruption(
        api, {"kind": "driver_unavailable", "driver_id": road.drivers[0]["id"], "mode": "live"}
    )
    impact = (await ready(api, worker, disruption["id"]))["impact"]
    assert (impact["handed_over"], impact["rescheduled"]) == (3, 0)
    assert impact["partner_candidates"] == [first, other]
    assert shipper["id"] not in impact["partner_candidates"]

    applied = await api.post(f"/v1/disruptions/{disruption['id']}/apply")
    assert applied.status_code == 200, applied.text
    assert applied.json()["impact"]["handed_over"] == 3
    for sid in road.shipments[0][1:]:
        shipment = (await api.get(f"/v1/shipments/{sid}")).json()
        assert shipment["status"] == "with_partner"
        events = [e["type"] for e in (await api.get(f"/v1/shipments/{sid}/events")).json()["items"]]
        assert "handed_over" in events and "recovery_rescheduled" not in events
    carriers = await db.fetch(
        "SELECT DISTINCT carrier_id FROM shipments WHERE id = ANY($1::uuid[])",
        road.shipments[0][1:],
    )
    assert [str(r["carrier_id"]) for r in carriers] == [first]
    await road.handhelds[0].pull()
    assert stops_of(road.handhelds[0]) == {road.shipments[0][0]}


async def test_without_a_covering_partner_in_the_order_stops_are_rescheduled(api, worker):
    road = await make_road(api)
    listed = await carrier(api, "cooperative", 0.001)
    covering = await carrier(api, "regional_courier", 0.2)
    await no_spare(api, road.hub["id"], partner_order=[listed])
    disruption = await post_disruption(
        api, {"kind": "driver_unavailable", "driver_id": road.drivers[0]["id"], "mode": "live"}
    )
    impact = (await ready(api, worker, disruption["id"]))["impact"]
    assert (impact["handed_over"], impact["rescheduled"]) == (0, 3)
    assert impact["partner_candidates"] == [covering]
    assert (await api.post(f"/v1/disruptions/{disruption['id']}/apply")).status_code == 200
    shipment = (await api.get(f"/v1/shipments/{road.shipments[0][1]}")).json()
    assert shipment["status"] != "with_partner"


async def test_a_drill_with_couriers_and_partners_changes_nothing(api, db, worker):
    road = await make_road(api)
    first = await carrier(api, "regional_courier", 0.2)
    await no_spare(api, road.hub["id"], partner_order=[first])
    nearby = await courier(api, db, road.hub["id"], metres_from_hub=500)
    counts = (
        "SELECT (SELECT count(*) FROM offers), (SELECT count(*) FROM shipment_events),"
        " (SELECT count(*) FROM routes), (SELECT count(*) FROM manifest_changes),"
        " (SELECT count(*) FROM shipments WHERE carrier_id IS NOT NULL)"
    )
    before = await db.fetchrow(counts)
    body = {"kind": "driver_unavailable", "driver_id": road.drivers[0]["id"], "mode": "drill"}
    with_courier = await ready(api, worker, (await post_disruption(api, body))["id"])
    assert with_courier["impact"]["couriers_offered"] == 1
    assert (await nearby.api.post("/v1/couriers/me/offline")).status_code == 200
    before = await db.fetchrow(counts)
    with_partner = await ready(api, worker, (await post_disruption(api, body))["id"])
    impact = with_partner["impact"]
    assert (impact["couriers_offered"], impact["handed_over"]) == (0, 3)
    assert impact["partner_candidates"] == [first]
    for drill in (with_courier, with_partner):
        refused = await api.post(f"/v1/disruptions/{drill['id']}/apply")
        assert refused.json()["code"] == "drill"
    assert await db.fetchrow(counts) == before
    assert await db.fetchval("SELECT count(*) FROM offers") == 0
    for device in road.handhelds:
        assert (await device.pull())["changes"] == []


async def test_the_partner_order_names_active_carriers(api):
    hub = await api.hub()
    first = await carrier(api, "regional_courier", 0.2)
    shipper = (await organization(api, "shipper"))["id"]
    for order, field in (
        ([first, shipper], "partner_order[1]"),
        ([str(uuid4())], "partner_order[0]"),
    ):
        response = await api.put(f"/v1/hubs/{hub['id']}/contingency", {"partner_order": order})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
    saved = await api.put(f"/v1/hubs/{hub['id']}/contingency", {"partner_order": [first]})
    assert saved.status_code == 200 and saved.json()["partner_order"] == [first]
