"""Disruptions end to end: detection, one re-plan, the impact, a live apply that reaches the
drivers' pulls and the recipients, a drill that changes nothing, and the outcome afterwards."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from backend.db.session import make_engine, make_sessionmaker
from backend.notifications.providers import NOTIFIER_KEY, Notifier, RecordingProvider
from backend.outbox.handlers import HANDLERS
from backend.outbox.worker import OutboxWorker
from tests.disruptions.support import at_eleven, make_road, post_disruption, stops_of
from tests.planning.support import plan_worker
from tests.sync.factories import Handheld


@pytest.fixture
async def worker(app, monkeypatch):
    at_eleven(monkeypatch)
    async for value in plan_worker(app):
        yield value


async def ready(api, worker, disruption_id: str) -> dict:
    while await worker.run_once() is not None:
        pass
    response = await api.get(f"/v1/disruptions/{disruption_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_breakdown_is_recovered_live_through_pulls_and_recipients(
    app, api, worker, db: asyncpg.Pool
):
    road = await make_road(api)
    broken, going = road.drivers
    # The continuing driver is out on the road, east of the hub.
    ping = {
        "device_id": "device-1",
        "pings": [{"at": "2026-12-01T10:59:00Z", "lon": 13.43, "lat": 52.51}],
    }
    assert (await road.handhelds[1].api.post("/v1/tracking/pings", ping)).status_code == 200
    disruption = await post_disruption(
        api,
        {
            "kind": "vehicle_breakdown",
            "driver_id": broken["id"],
            "mode": "live",
            "location": {"type": "Point", "coordinates": [13.41, 52.50]},
        },
    )
    assert disruption["status"] == "planning" and disruption["plan_id"]
    assert sorted(disruption["affected_shipment_ids"]) == sorted(road.shipments[0][1:])

    done = await ready(api, worker, disruption["id"])
    assert done["status"] == "ready"
    assert done["timeline"]["plan_ready_at"] >= done["timeline"]["detected_at"]
    impact = done["impact"]
    assert impact["affected"] == 3 and impact["kept_in_window"] == 3 and impact["rescheduled"] == 0
    assert impact["spare_drivers_used"] == 1 and impact["handed_over"] == 0
    plan = (await api.get(f"/v1/plans/{done['plan_id']}")).json()
    by_driver = {r["driver_id"]: r for r in plan["routes"]}
    # Completed stops are not re-planned; the continuing driver keeps what they carry and
    # starts from their latest position; the spare starts at the broken-down van.
    planned = {s["shipment_id"] for r in plan["routes"] for s in r["stops"]}
    assert road.shipments[0][0] not in planned and road.shipments[1][0] not in planned
    assert {s["shipment_id"] for s in by_driver[going["id"]]["stops"]} == set(road.shipments[1][1:])
    assert by_driver[going["id"]]["start_location"] == [13.43, 52.51]
    assert by_driver[road.spare["id"]]["start_location"] == [13.41, 52.50]
    assert {s["shipment_id"] for s in by_driver[road.spare["id"]]["stops"]} == set(
        road.shipments[0][1:]
    )
    # Nothing changed yet: a live recovery waits for a dispatcher.
    assert (await road.handhelds[0].pull())["changes"] == []

    applied = await api.post(f"/v1/disruptions/{disruption['id']}/apply")
    assert applied.status_code == 200, applied.text
    assert applied.json()["status"] == "applied" and applied.json()["timeline"]["applied_at"]
    again = await api.post(f"/v1/disruptions/{disruption['id']}/apply")
    assert again.status_code == 409

    await road.handhelds[0].pull()
    assert stops_of(road.handhelds[0]) == {road.shipments[0][0]}  # only the delivered one stays
    await road.handhelds[1].pull()
    assert stops_of(road.handhelds[1]) == set(road.shipments[1])
    spare = Handheld(await api.as_driver(road.spare, "device-spare"), "device-spare")
    await spare.pull()
    assert stops_of(spare) == set(road.shipments[0][1:])

    events = (await api.get(f"/v1/shipments/{road.shipments[0][1]}/events")).json()["items"]
    why = [e for e in events if e["type"] == "recovery_rerouted"]
    assert why and why[0]["data"]["disruption_id"] == disruption["id"]

    notifier = Notifier(RecordingProvider(), "https://track.example")
    engine = make_engine(app.state.settings)
    try:
        outbox = OutboxWorker(make_sessionmaker(engine, info={NOTIFIER_KEY: notifier}), HANDLERS)
        while await outbox.run_once():
            pass
    finally:
        await engine.dispose()
    told = await db.fetch(
        "SELECT shipment_id, body FROM notifications WHERE kind = 'rerouted' AND body LIKE '%disruption%'"
    )
    assert {str(r["shipment_id"]) for r in told} == set(road.shipments[0][1:])


async def test_a_drill_changes_nothing_anyone_sees(app, api, db: asyncpg.Pool, live, monkeypatch):
    from backend.planning.settings import PlanningSettings
    from backend.planning.worker import PlanWorker, plan_workers_config

    at_eleven(monkeypatch)
    worker = PlanWorker(
        live.sessionmaker, PlanningSettings.of(app.state.settings), **plan_workers_config()
    )
    road = await make_road(api)
    before_routes = [(await api.get(f"/v1/routes/{r['id']}")).json()["stops"] for r in road.routes]
    counts = "SELECT (SELECT count(*) FROM outbox), (SELECT count(*) FROM manifest_changes), (SELECT count(*) FROM shipment_events), (SELECT count(*) FROM routes)"
    before = await db.fetchrow(counts)
    drill = await post_disruption(
        api, {"kind": "vehicle_breakdown", "driver_id": road.drivers[0]["id"], "mode": "drill"}
    )
    with live.runtime.hub.feed(lambda _: True) as feed:
        done = await ready(api, worker, drill["id"])
        await asyncio.sleep(0.2)
        assert feed.queue.empty(), "a drill showed on the live feed"
    assert done["status"] == "ready" and done["impact"]["affected"] == 3
    assert (await api.post(f"/v1/disruptions/{drill['id']}/apply")).json()["code"] == "drill"
    assert await db.fetchrow(counts) == before
    after_routes = [(await api.get(f"/v1/routes/{r['id']}")).json()["stops"] for r in road.routes]
    assert after_routes == before_routes
    for device in road.handhelds:
        assert (await device.pull())["changes"] == []
    # A drill does not take the driver out of planning either.
    plans = await api.post("/v1/plans", {"hub_id": road.hub["id"], "date": drill["date"]})
    assert plans.status_code == 202


async def test_what_no_one_can_deliver_is_rescheduled_and_recipients_told(api, worker, db):
    road = await make_road(api)
    # No spare today.
    await api.put(f"/v1/hubs/{road.hub['id']}/contingency", {"spare_driver_ids": []})
    disruption = await post_disruption(
        api, {"kind": "driver_unavailable", "driver_id": road.drivers[0]["id"], "mode": "live"}
    )
    done = await ready(api, worker, disruption["id"])
    assert done["impact"]["rescheduled"] == 3 and done["impact"]["kept_in_window"] == 0
    plan = (await api.get(f"/v1/plans/{done['plan_id']}")).json()
    assert {u["reason"] for u in plan["unassigned"]} == {"no_vehicle_available"}
    assert (await api.post(f"/v1/disruptions/{disruption['id']}/apply")).status_code == 200
    rows = await db.fetch("SELECT payload FROM outbox WHERE topic = 'notification.send'")
    rescheduled = [r for r in rows if '"rescheduled": true' in r["payload"]]
    assert len(rescheduled) == 3
    events = (await api.get(f"/v1/shipments/{road.shipments[0][2]}/events")).json()["items"]
    assert "recovery_rescheduled" in [e["type"] for e in events]


async def test_a_closed_zone_keeps_its_stops_with_their_drivers_until_it_reopens(api, worker):
    road = await make_road(api)
    until = "T14:00:00+00:00"
    disruption = await post_disruption(
        api,
        {
            "kind": "zone_closed",
            "zone_id": road.zone["id"],
            "until": road.routes[0]["date"] + until,
            "reason": "police",
            "mode": "live",
        },
    )
    assert len(disruption["affected_shipment_ids"]) == 6
    done = await ready(api, worker, disruption["id"])
    plan = (await api.get(f"/v1/plans/{done['plan_id']}")).json()
    for route in plan["routes"]:
        for stop in route["stops"]:
            assert stop["start"][11:16] >= "14:00"
    owners = {s["shipment_id"]: r["driver_id"] for r in plan["routes"] for s in r["stops"]}
    for driver, ids in zip(road.drivers, road.shipments, strict=True):
        assert {owners[s] for s in ids[1:]} == {driver["id"]}


@pytest.mark.parametrize("kind", ["hub_closed", "volume_spike"])
async def test_hub_kinds_plan_a_recovery(api, worker, kind):
    road = await make_road(api)
    spare_hub = await api.hub()
    waiting = [(await api.shipment(road.hub["id"]))["id"] for _ in range(2)]
    body = {"kind": kind, "hub_id": road.hub["id"], "mode": "drill"}
    if kind == "hub_closed":
        body |= {
            "until": road.routes[0]["date"] + "T13:00:00+00:00",
            "fallback_hub_id": spare_hub["id"],
        }
    else:
        body |= {"extra": 2}
    disruption = await post_disruption(api, body)
    assert sorted(disruption["affected_shipment_ids"]) == sorted(waiting)
    done = await ready(api, worker, disruption["id"])
    assert done["status"] == "ready" and done["impact"]["affected"] == 2
    plan = (await api.get(f"/v1/plans/{done['plan_id']}")).json()
    spare_route = [r for r in plan["routes"] if r["driver_id"] == road.spare["id"]]
    assert {s["shipment_id"] for r in spare_route for s in r["stops"]} == set(waiting)


async def test_auto_apply_when_the_hub_allows_it(api, worker):
    road = await make_road(api)
    settings = {
        "spare_driver_ids": [road.spare["id"]],
        "auto_apply": True,
        "recovery_time_limit_s": 1,
    }
    assert (await api.put(f"/v1/hubs/{road.hub['id']}/contingency", settings)).status_code == 200
    disruption = await post_disruption(
        api,
        {
            "kind": "vehicle_breakdown",
            "driver_id": road.drivers[0]["id"],
            "mode": "live",
            "auto_apply": True,
        },
    )
    done = await ready(api, worker, disruption["id"])
    assert done["status"] == "applied" and done["timeline"]["applied_at"]


async def test_the_outcome_is_measured_from_the_event_log(api, worker):
    road = await make_road(api)
    disruption = await post_disruption(
        api, {"kind": "vehicle_breakdown", "driver_id": road.drivers[0]["id"], "mode": "live"}
    )
    await ready(api, worker, disruption["id"])
    assert (await api.post(f"/v1/disruptions/{disruption['id']}/apply")).status_code == 200
    spare = Handheld(await api.as_driver(road.spare, "device-spare"), "device-spare")
    moved = road.shipments[0][1:]
    events = [spare.event("scan_loaded", 1, shipment_id=s) for s in moved]
    events += [
        spare.event(
            "delivered", 5, shipment_id=s, data={"handoff": "recipient", "recipient_name": "B"}
        )
        for s in moved[:2]
    ]
    await spare.push(events)
    got = (await api.get(f"/v1/disruptions/{disruption['id']}")).json()
    assert got["outcome"] == {
        "affected": 3,
        "delivered_in_window": 2,
        "delivered_late": 0,
        "not_delivered": 1,
        "share_in_window": 0.6667,
    }
    assert got["timeline"]["recovered_at"] is None
    await spare.push(
        [
            spare.event(
                "delivered",
                9,
                shipment_id=moved[2],
                data={"handoff": "recipient", "recipient_name": "C"},
            )
        ]
    )
    got = (await api.get(f"/v1/disruptions/{disruption['id']}")).json()
    assert got["outcome"]["share_in_window"] == 1.0 and got["timeline"]["recovered_at"]


async def test_disruption_inputs_roles_and_duplicates(api, worker):
    road = await make_road(api, per_route=2)
    driver_id = road.drivers[0]["id"]
    bad = [
        {"kind": "vehicle_breakdown", "driver_id": str(uuid.uuid4()), "mode": "live"},
        {"kind": "vehicle_breakdown", "driver_id": driver_id, "mode": "sometimes"},
        {
            "kind": "vehicle_breakdown",
            "driver_id": driver_id,
            "mode": "live",
            "at": "1999-01-01T00:00:00Z",
        },
        {
            "kind": "vehicle_breakdown",
            "driver_id": driver_id,
            "mode": "live",
            "location": {"type": "Point", "coordinates": [500, 0]},
        },
        {
            "kind": "zone_closed",
            "zone_id": road.zone["id"],
            "until": "2020-01-01T00:00:00Z",
            "reason": "weather",
            "mode": "live",
        },
        {
            "kind": "zone_closed",
            "zone_id": road.zone["id"],
            "until": "2099-01-01T00:00:00",
            "reason": "weather",
            "mode": "live",
        },
        {
            "kind": "zone_closed",
            "zone_id": road.zone["id"],
            "until": "2099-01-01T00:00:00Z",
            "reason": "aliens",
            "mode": "live",
        },
        {
            "kind": "hub_closed",
            "hub_id": road.hub["id"],
            "until": "2099-01-01T00:00:00Z",
            "fallback_hub_id": road.hub["id"],
            "mode": "live",
        },
        {"kind": "volume_spike", "hub_id": road.hub["id"], "extra": 10**12, "mode": "live"},
        {"kind": "meteor", "mode": "live"},
        {
            "kind": "driver_unavailable",
            "driver_id": driver_id,
            "mode": "live",
            "extra": {"a": [[[[1]]]]},
        },
    ]
    for body in bad:
        response = await api.post("/v1/disruptions", body)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    driver = await api.as_driver(road.drivers[1])
    ok = {"kind": "driver_unavailable", "driver_id": driver_id, "mode": "live"}
    assert (await driver.post("/v1/disruptions", ok)).status_code == 403
    assert (await driver.get(f"/v1/hubs/{road.hub['id']}/contingency")).status_code == 403
    partner = await api.user("partner")
    assert (await partner.post("/v1/disruptions", ok)).status_code == 403
    assert (await partner.get("/v1/disruptions")).status_code == 403
    assert (await partner.put(f"/v1/hubs/{road.hub['id']}/contingency", {})).status_code == 403
    assert (await api.client.get("/v1/disruptions")).status_code == 401
    assert (await api.get(f"/v1/disruptions/{uuid.uuid4()}")).status_code == 404
    assert (await api.post(f"/v1/disruptions/{uuid.uuid4()}/apply")).status_code == 404
    assert (await api.get(f"/v1/hubs/{uuid.uuid4()}/contingency")).status_code == 404
    bad_settings = [
        {"spare_driver_ids": [str(uuid.uuid4())]},
        {"fallback_hub_id": road.hub["id"]},
        {"recovery_time_limit_s": 10**6},
    ]
    for body in bad_settings:
        response = await api.put(f"/v1/hubs/{road.hub['id']}/contingency", body)
        assert response.status_code in (400, 422), (body, response.text)
    dispatcher = await api.user("dispatcher")
    first, second = await asyncio.gather(
        dispatcher.post("/v1/disruptions", ok), dispatcher.post("/v1/disruptions", ok)
    )
    assert sorted([first.status_code, second.status_code]) == [202, 409]
    listed = (await dispatcher.get("/v1/disruptions", params={"hub_id": road.hub["id"]})).json()
    assert len(listed["items"]) == 1
