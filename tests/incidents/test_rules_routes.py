"""Detection rules about routes on the road: route_not_started, driver_silent, long_dwell and
late_risk. Each fires once, stays one incident while its cause stays, clears when the cause
clears, and fires again (a new incident) when the cause returns."""

import json
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from backend.system.jobs import PeriodicJobs
from tests.conftest import Live, make_settings
from tests.factories import CENTER, Api, point
from tests.incidents.rules_support import (
    assert_cleared,
    data_of,
    detect,
    incidents,
    open_one,
    rule,
    set_rules,
)
from tests.live.support import next_message
from tests.sync.factories import Handheld, fleet
from tests.tracking.support import iso, ping, send

DAY = date(2026, 12, 3)


def on_day(hour: int, minute: int) -> datetime:
    return datetime.combine(DAY, time(hour, minute), tzinfo=UTC)


async def _published_route(api: Api, day: date) -> tuple[dict, dict, dict, Handheld]:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    shipment = await api.shipment(hub["id"])
    route = await api.route(driver["id"], hub["id"], [shipment["id"]], date=day.isoformat())
    await api.publish_route(route["id"])
    device_id = f"device-{driver['id'][-12:]}"
    return hub, driver, route, Handheld(await api.as_driver(driver, device_id), device_id)


async def test_route_not_started_fires_once_clears_and_fires_again(api: Api, jobs, db) -> None:
    hub, driver, route, handheld = await _published_route(api, DAY)
    # The default shift starts at 08:00 UTC, the default margin is 30 minutes.
    assert (await detect(jobs, on_day(8, 29))).at_fault["route_not_started"] == 0
    assert await incidents(db, "route_not_started") == []

    first = await detect(jobs, on_day(8, 31))
    assert (first.started["route_not_started"], first.opened) == (1, 1)
    incident = await open_one(db, "route_not_started")
    assert incident["subject"] == f"route:{route['id']}"
    assert (incident["severity"], incident["status"]) == ("high", "open")
    assert (incident["hub_id"], incident["route_id"], incident["driver_id"]) == (
        UUID(hub["id"]),
        UUID(route["id"]),
        UUID(driver["id"]),
    )
    assert incident["occurred_at"] == on_day(8, 30)
    again = await detect(jobs, on_day(8, 45))
    assert (again.at_fault["route_not_started"], again.opened) == (1, 0)
    assert len(await incidents(db, "route_not_started")) == 1

    # The hub allows an hour: no longer at fault, so the incident clears.
    await set_rules(api, hub["id"], rules=[rule("route_not_started", 60)])
    assert (await detect(jobs, on_day(8, 50))).cleared["route_not_started"] == 1
    await assert_cleared(db, incident["id"], at=on_day(8, 50))

    # Past the hour the cause is back: a new incident.
    assert (await detect(jobs, on_day(9, 1))).started["route_not_started"] == 1
    second = await open_one(db, "route_not_started")
    assert second["id"] != incident["id"]

    # The driver starts the route: cleared.
    result = await handheld.push(
        [handheld.event("route_started", 0, data={"route_id": route["id"]})]
    )
    assert result["results"][0]["status"] == "accepted"
    assert (await detect(jobs, on_day(9, 10))).cleared["route_not_started"] == 1
    await assert_cleared(db, second["id"])
    assert len(await incidents(db, "route_not_started")) == 2


async def test_route_not_started_counts_from_the_drivers_own_shift(api: Api, jobs, db) -> None:
    _, driver, _, _ = await _published_route(api, DAY)
    response = await api.put(
        f"/v1/drivers/{driver['id']}/planning", {"shift_start": "10:00:00", "shift_end": "18:00:00"}
    )
    assert response.status_code == 200, response.text
    assert (await detect(jobs, on_day(10, 29))).started["route_not_started"] == 0
    assert (await detect(jobs, on_day(10, 31))).started["route_not_started"] == 1
    assert (await open_one(db, "route_not_started"))["occurred_at"] == on_day(10, 30)


async def test_a_rule_disabled_for_a_hub_clears_and_stays_quiet(api: Api, jobs, db) -> None:
    hub, _, _, _ = await _published_route(api, DAY)
    other_hub, _, _, _ = await _published_route(api, DAY)
    assert (await detect(jobs, on_day(9, 0))).started["route_not_started"] == 2
    await set_rules(api, hub["id"], rules=[rule("route_not_started", 30, enabled=False)])
    result = await detect(jobs, on_day(9, 5))
    assert (result.cleared["route_not_started"], result.at_fault["route_not_started"]) == (1, 1)
    [still] = [r for r in await incidents(db, "route_not_started") if r["status"] == "open"]
    assert still["hub_id"] == UUID(other_hub["id"])


async def test_driver_silent_fires_once_clears_on_a_ping_and_fires_again(
    api: Api, jobs, db
) -> None:
    f = await fleet(api, drivers=1, per_route=2)
    handheld, route = f.handhelds[0], f.routes[0]
    now = datetime.now(UTC)
    await handheld.push([handheld.event("route_started", 0, data={"route_id": route["id"]})])
    # The push is the last sign of life; 15 minutes of silence is the default threshold.
    assert (await detect(jobs, now + timedelta(minutes=14))).at_fault["driver_silent"] == 0
    assert (await detect(jobs, now + timedelta(minutes=16))).started["driver_silent"] == 1
    incident = await open_one(db, "driver_silent")
    assert incident["subject"] == f"driver:{f.drivers[0]['id']}"
    assert (incident["route_id"], incident["severity"]) == (UUID(route["id"]), "high")
    last_seen = datetime.fromisoformat(data_of(incident)["last_seen_at"])
    assert incident["occurred_at"] == last_seen + timedelta(minutes=15)
    assert (await detect(jobs, now + timedelta(minutes=16))).started["driver_silent"] == 0

    # A fix 90 s ahead of `now` (inside the devices' clock tolerance) is a sign of life.
    await send(handheld.api, [ping(-90)], device_id=handheld.device_id)
    assert (await detect(jobs, now + timedelta(minutes=16))).cleared["driver_silent"] == 1
    await assert_cleared(db, incident["id"])

    assert (await detect(jobs, now + timedelta(minutes=17))).started["driver_silent"] == 1
    assert (await open_one(db, "driver_silent"))["id"] != incident["id"]


async def test_a_driver_with_nothing_left_to_do_is_not_silent(api: Api, jobs, db) -> None:
    f = await fleet(api, drivers=1, per_route=1)
    handheld, route = f.handhelds[0], f.routes[0]
    await handheld.push([handheld.event("route_started", 0, data={"route_id": route["id"]})])
    response = await api.post(f"/v1/shipments/{f.shipments[0][0]['id']}/cancel")
    assert response.status_code == 200, response.text
    later = datetime.now(UTC) + timedelta(hours=2)
    assert (await detect(jobs, later)).at_fault["driver_silent"] == 0


async def test_long_dwell_fires_once_clears_with_the_next_event_and_fires_again(
    api: Api, jobs, db
) -> None:
    f = await fleet(api, drivers=1, per_route=1)
    route, shipment_id = f.routes[0], f.shipments[0][0]["id"]
    # A handheld whose events happened an hour ago, so the chosen clock stays in the past.
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    handheld = Handheld(f.handhelds[0].api, f.handhelds[0].device_id, t0=t0)
    await handheld.push(
        [
            handheld.event("route_started", 0, data={"route_id": route["id"]}),
            handheld.event("scan_loaded", 10, shipment_id=shipment_id),
            handheld.event("arrived", 60, shipment_id=shipment_id),
        ]
    )
    arrived = t0 + timedelta(seconds=60)
    assert (await detect(jobs, arrived + timedelta(minutes=19))).at_fault["long_dwell"] == 0
    assert (await detect(jobs, arrived + timedelta(minutes=21))).started["long_dwell"] == 1
    incident = await open_one(db, "long_dwell")
    assert incident["subject"] == f"shipment:{shipment_id}"
    assert incident["shipment_id"] == UUID(shipment_id)
    assert incident["occurred_at"] == arrived + timedelta(minutes=20)
    assert (await detect(jobs, arrived + timedelta(minutes=25))).started["long_dwell"] == 0

    failed = handheld.event("delivery_failed", 26 * 60, shipment_id=shipment_id)
    await handheld.push([failed | {"data": {"reason": "recipient_absent"}}])
    assert (await detect(jobs, arrived + timedelta(minutes=27))).cleared["long_dwell"] == 1
    await assert_cleared(db, incident["id"])

    # Out again, arrived again, and nothing for too long again.
    await handheld.push(
        [
            handheld.event("scan_loaded", 30 * 60, shipment_id=shipment_id),
            handheld.event("arrived", 31 * 60, shipment_id=shipment_id),
        ]
    )
    assert (await detect(jobs, arrived + timedelta(minutes=40))).started["long_dwell"] == 0
    assert (await detect(jobs, arrived + timedelta(minutes=51))).started["long_dwell"] == 1
    assert (await open_one(db, "long_dwell"))["id"] != incident["id"]


async def test_late_risk_follows_the_eta_against_the_window(api: Api, jobs, db) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    window = {"start": iso(now - timedelta(hours=2)), "end": iso(now + timedelta(minutes=30))}
    shipment = await api.shipment(hub["id"], window=window)
    route = await api.route(driver["id"], hub["id"], [shipment["id"]], date=now.date().isoformat())
    await api.publish_route(route["id"])
    handheld = await api.as_driver(driver, "device-late")
    # About 34 km away: well over an hour of driving at the model's 25 km/h.
    await send(handheld, [ping(5, lon=CENTER[0] + 0.5, lat=CENTER[1])], device_id="device-late")
    assert await jobs.refresh_etas(now) == 1

    assert (await detect(jobs, now)).started["late_risk"] == 1
    incident = await open_one(db, "late_risk")
    assert incident["subject"] == f"shipment:{shipment['id']}"
    assert (incident["route_id"], incident["driver_id"], incident["severity"]) == (
        UUID(route["id"]),
        UUID(driver["id"]),
        "high",
    )
    assert (await detect(jobs, now + timedelta(minutes=1))).started["late_risk"] == 0

    async def window_until(end: datetime) -> None:
        body = {"window": {"start": window["start"], "end": iso(end)}}
        response = await api.patch(f"/v1/shipments/{shipment['id']}", body)
        assert response.status_code == 200, response.text

    # Dispatch agrees a later window with the recipient: the ETA fits, the risk clears.
    await window_until(now + timedelta(hours=4))
    assert (await detect(jobs, now + timedelta(minutes=2))).cleared["late_risk"] == 1
    await assert_cleared(db, incident["id"])
    await window_until(now + timedelta(minutes=30))
    assert (await detect(jobs, now + timedelta(minutes=3))).started["late_risk"] == 1
    assert (await open_one(db, "late_risk"))["id"] != incident["id"]


async def test_late_risk_respects_the_hubs_margin(api: Api, jobs, db) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    window = {"start": iso(now - timedelta(hours=2)), "end": iso(now + timedelta(minutes=30))}
    shipment = await api.shipment(hub["id"], window=window, location=point(*CENTER))
    route = await api.route(driver["id"], hub["id"], [shipment["id"]], date=now.date().isoformat())
    await api.publish_route(route["id"])
    handheld = await api.as_driver(driver, "device-margin")
    await send(handheld, [ping(5, lon=CENTER[0] + 0.5, lat=CENTER[1])], device_id="device-margin")
    await jobs.refresh_etas(now)
    eta = await db.fetchval("SELECT eta FROM stops WHERE shipment_id = $1", UUID(shipment["id"]))
    late_minutes = int((eta - (now + timedelta(minutes=30))).total_seconds() // 60)
    await set_rules(api, hub["id"], rules=[rule("late_risk", late_minutes + 5, "critical")])
    assert (await detect(jobs, now)).at_fault["late_risk"] == 0
    await set_rules(api, hub["id"], rules=[rule("late_risk", late_minutes - 5, "critical")])
    assert (await detect(jobs, now)).started["late_risk"] == 1
    assert (await open_one(db, "late_risk"))["severity"] == "critical"


async def test_a_cleared_incident_is_announced_and_sent_as_incident_resolved(
    api: Api, live: Live, db
) -> None:
    await db.execute(
        "INSERT INTO webhook_endpoints (id, url, event_types, secret)"
        " VALUES (gen_random_uuid(), 'https://hooks.example.com/ops',"
        " ARRAY['incident.opened', 'incident.resolved'], 'whsec_dGVzdC1zZWNyZXQ=')"
    )
    # A route's incident is about no shipment: the admins' endpoints hear of it.
    hub, _, _, _ = await _published_route(api, DAY)
    jobs = PeriodicJobs(live.sessionmaker, make_settings())
    with live.runtime.hub.feed(lambda m: m.type == "incident") as feed:
        await detect(jobs, on_day(8, 31))
        opened = await next_message(feed)
        await set_rules(api, hub["id"], rules=[rule("route_not_started", 60)])
        await detect(jobs, on_day(8, 40))
        cleared = await next_message(feed)
    incident = (await incidents(db, "route_not_started"))[0]
    assert opened.data["id"] == cleared.data["id"] == str(incident["id"])
    assert cleared.data == {
        "id": str(incident["id"]),
        "kind": "route_not_started",
        "status": "resolved",
        "severity": "high",
        "resolution_code": "cleared",
    }
    bodies = [
        json.loads(bytes(row["body"]))
        for row in await db.fetch("SELECT body FROM webhook_events ORDER BY created_at, id")
    ]
    assert [b["type"] for b in bodies] == ["incident.opened", "incident.resolved"]
    assert bodies[1]["data"]["incident_id"] == str(incident["id"])
    assert bodies[1]["data"]["resolved_at"] == on_day(8, 40).isoformat()
