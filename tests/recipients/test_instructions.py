"""Self-service instructions: every rule, and what an accepted one changes."""

from datetime import UTC, datetime, timedelta

import msgspec

from tests.factories import Api, point
from tests.recipients.support import instruct, scene, track
from tests.tracking.support import iso


def _tomorrow() -> str:
    return (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


async def _outbox(db, topic: str) -> list[dict]:
    rows = await db.fetch("SELECT payload FROM outbox WHERE topic = $1 ORDER BY id", topic)
    return [msgspec.json.decode(r["payload"]) for r in rows]


async def _pickup_point(api: Api, hub_id: str | None, lon: float, lat: float = 52.50) -> dict:
    body = {"name": f"Kiosk {lon}", "location": point(lon, lat)}
    if hub_id:
        body["hub_id"] = hub_id
    return await api.created("/v1/pickup-points", body)


async def test_reschedule_takes_the_shipment_off_the_route_and_out_of_the_drivers_pull(
    api: Api, db
) -> None:
    s = await scene(api, stops=6)
    await s.handheld.pull()
    target = s.shipments[5]
    assert ("shipment", target["id"]) in s.handheld.local

    response = await instruct(api, s.token(5), {"type": "reschedule", "date": _tomorrow()})
    assert response.status_code == 201, response.text
    view = response.json()
    assert view["instruction"]["type"] == "reschedule"
    assert view["instruction"]["details"] == {"date": _tomorrow()}
    assert "You asked for delivery on" in view["history"][-1]["text"]
    assert view["stops_before"] is None  # no longer on a route

    await s.handheld.pull()
    assert ("shipment", target["id"]) not in s.handheld.local
    stops = [k for k in s.handheld.local if k[0] == "stop"]
    assert len(stops) == 5
    route = (await api.get(f"/v1/routes/{s.route['id']}")).json()
    assert [st["sequence"] for st in route["stops"]] == [1, 2, 3, 4, 5]
    assert target["id"] not in {st["shipment_id"] for st in route["stops"]}

    events = (await api.get(f"/v1/shipments/{target['id']}/events")).json()["items"]
    assert {(e["type"], e["source"]) for e in events[-2:]} == {
        ("rescheduled", "recipient"),
        ("unassigned", "dispatch"),
    }
    assert await _outbox(db, "shipment.instruction_accepted") == [
        {"shipment_id": target["id"], "type": "reschedule"}
    ]


async def test_the_same_instruction_twice_is_recorded_once(api: Api, db) -> None:
    s = await scene(api, stops=6)
    body = {"type": "reschedule", "date": _tomorrow()}
    assert (await instruct(api, s.token(5), body)).status_code == 201
    assert (await instruct(api, s.token(5), body)).status_code == 201
    count = await db.fetchval("SELECT count(*) FROM shipment_events WHERE type = 'rescheduled'")
    assert count == 1
    assert len(await _outbox(db, "shipment.instruction_accepted")) == 1


async def test_reschedule_to_a_window(api: Api) -> None:
    s = await scene(api, stops=6)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    window = {"start": iso(start), "end": iso(start + timedelta(hours=3))}
    response = await instruct(api, s.token(5), {"type": "reschedule", "window": window})
    assert response.status_code == 201, response.text
    assert "between" in response.json()["instruction"]["text"]


async def test_reschedule_dates_must_be_ahead_and_within_the_horizon(api: Api) -> None:
    s = await scene(api, stops=6)
    today = datetime.now(UTC).date()
    for bad in (today, today + timedelta(days=15), today - timedelta(days=1)):
        response = await instruct(api, s.token(5), {"type": "reschedule", "date": bad.isoformat()})
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "date"
    past = {"start": "2020-01-01T09:00:00Z", "end": "2020-01-01T10:00:00Z"}
    response = await instruct(api, s.token(5), {"type": "reschedule", "window": past})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "window"
    both = {"type": "reschedule", "date": _tomorrow(), "window": past}
    assert (await instruct(api, s.token(5), both)).status_code == 422
    assert (await instruct(api, s.token(5), {"type": "reschedule"})).status_code == 422
    assert (await instruct(api, s.token(5), {"type": "teleport"})).status_code == 422


async def test_safe_drop_stays_on_the_route_and_the_driver_refreshes_the_shipment(
    api: Api, db
) -> None:
    s = await scene(api, stops=6)
    await s.handheld.pull()
    body = {"type": "safe_drop", "location_note": "Behind the blue gate, in the shed"}
    response = await instruct(api, s.token(4), body)
    assert response.status_code == 201, response.text
    assert response.json()["instruction"]["details"]["location_note"].startswith("Behind")
    assert response.json()["stops_before"] == 4
    page = await s.handheld.pull()
    assert [(c["entity"], c["id"]) for c in page["changes"]] == [("shipment", s.shipments[4]["id"])]
    instruction = page["changes"][0]["data"]["recipient_instruction"]
    assert instruction["type"] == "safe_drop"
    assert instruction["data"]["location_note"] == body["location_note"]  # the driver reads it
    assert await _outbox(db, "shipment.instruction_accepted") == [
        {"shipment_id": s.shipments[4]["id"], "type": "safe_drop"}
    ]


async def test_safe_drop_is_refused_when_proof_in_person_is_required(api: Api) -> None:
    s = await scene(api, stops=1, requirements={"signature": True})
    body = {"type": "safe_drop", "location_note": "porch"}
    response = await instruct(api, s.token(0), body)
    assert response.status_code == 409
    assert response.json()["code"] == "proof_required"
    too_short = {"type": "safe_drop", "location_note": "x"}
    assert (await instruct(api, s.token(0), too_short)).status_code == 422


async def test_nothing_can_be_changed_after_delivery(api: Api) -> None:
    s = await scene(api, stops=1)
    await s.load_and_start()
    await s.deliver(0)
    for body in (
        {"type": "reschedule", "date": _tomorrow()},
        {"type": "safe_drop", "location_note": "porch"},
    ):
        response = await instruct(api, s.token(0), body)
        assert response.status_code == 409
        assert response.json()["code"] == "shipment_closed"


async def test_nothing_can_be_changed_once_the_driver_is_a_few_stops_away(api: Api) -> None:
    s = await scene(api, stops=6)
    # Before the van leaves, even the first stop may still change.
    response = await instruct(api, s.token(0), {"type": "safe_drop", "location_note": "porch"})
    assert response.status_code == 201
    await s.load_and_start()
    response = await instruct(api, s.token(3), {"type": "reschedule", "date": _tomorrow()})
    assert response.status_code == 409
    assert response.json()["code"] == "driver_nearby"
    view = await track(api, s.token(3))
    assert not any(o["available"] for o in view["options"])
    # Four stops before: still allowed.
    response = await instruct(api, s.token(4), {"type": "reschedule", "date": _tomorrow()})
    assert response.status_code == 201, response.text


async def test_pickup_points_are_proposed_nearest_first_within_reach(api: Api) -> None:
    s = await scene(api, stops=1)  # the address is at (13.40, 52.50)
    far = await _pickup_point(api, s.hub["id"], 13.50)  # ~6.8 km: beyond 3 km
    second = await _pickup_point(api, s.hub["id"], 13.41)
    first = await _pickup_point(api, None, 13.401)
    other_hub = await api.hub()
    await _pickup_point(api, other_hub["id"], 13.4005)  # serves another hub
    response = await api.client.get(f"/v1/track/{s.token(0)}/pickup-points")
    assert response.status_code == 200
    body = response.json()
    assert [p["id"] for p in body["items"]] == [first["id"], second["id"]]
    assert 60 < body["items"][0]["distance_m"] < 75
    assert body["max_distance_m"] == 3000
    assert far["id"] not in {p["id"] for p in body["items"]}
    assert (await api.client.get("/v1/track/nope/pickup-points")).status_code == 404


async def test_redirect_to_a_pickup_point_within_reach_only(api: Api, db) -> None:
    s = await scene(api, stops=6)
    await s.handheld.pull()
    far = await _pickup_point(api, s.hub["id"], 13.60)
    near = await _pickup_point(api, s.hub["id"], 13.411)
    response = await instruct(
        api, s.token(5), {"type": "pickup_point", "pickup_point_id": far["id"]}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "pickup_point_too_far"
    assert response.json()["errors"][0]["field"] == "pickup_point_id"
    unknown = {"type": "pickup_point", "pickup_point_id": "0190b0a0-0000-7000-8000-000000000000"}
    response = await instruct(api, s.token(5), unknown)
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_pickup_point"

    body = {"type": "pickup_point", "pickup_point_id": near["id"]}
    response = await instruct(api, s.token(5), body)
    assert response.status_code == 201, response.text
    details = response.json()["instruction"]["details"]
    assert details["pickup_point_id"] == near["id"]
    assert details["pickup_point_name"] == near["name"]
    page = await s.handheld.pull()
    removed = {(c["entity"], c["id"]) for c in page["changes"] if c["op"] == "remove"}
    assert ("shipment", s.shipments[5]["id"]) in removed
    assert ("shipment", s.shipments[5]["id"]) not in s.handheld.local
    assert await _outbox(db, "shipment.instruction_accepted") == [
        {"shipment_id": s.shipments[5]["id"], "type": "pickup_point"}
    ]
