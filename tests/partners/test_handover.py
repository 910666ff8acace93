"""Handover to a partner carrier, and the carrier's inbound events."""

import uuid
from datetime import UTC, datetime, timedelta

from tests.factories import Api
from tests.partners.support import new_event, partner


def _soon(seconds: int) -> str:
    """A time after the handover (now) and before our receipt's tolerance runs out."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def _route_with(api: Api, hub: dict, count: int):
    driver = await api.driver(hub["id"])
    shipments = [(await api.shipment(hub["id"]))["id"] for _ in range(count)]
    route = await api.route(driver["id"], hub["id"], shipments)
    await api.publish_route(route["id"])
    return driver, shipments, route


async def test_handover_takes_the_shipment_off_the_route_and_the_driver_learns(api: Api) -> None:
    hub = await api.hub()
    carrier_org, carrier = await partner(api, "crowd_platform")
    driver, shipments, route = await _route_with(api, hub, 3)
    device = await api.as_driver(driver)
    snapshot = (await device.get("/v1/sync/pull")).json()
    response = await api.post(
        f"/v1/shipments/{shipments[1]}/handover",
        {"organization_id": carrier_org["id"], "reason": "hub closed"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "with_partner"
    pulled = (await device.get("/v1/sync/pull", params={"cursor": snapshot["cursor"]})).json()
    removed = {(c["entity"], c["op"]) for c in pulled["changes"] if c["id"] != route["id"]}
    assert ("stop", "remove") in removed or ("shipment", "remove") in removed
    stops = (await api.get(f"/v1/routes/{route['id']}")).json()["stops"]
    assert [s["shipment_id"] for s in stops] == [shipments[0], shipments[2]]
    assert (await carrier.get(f"/v1/shipments/{shipments[1]}")).status_code == 200
    assert (await carrier.get(f"/v1/shipments/{shipments[0]}")).status_code == 404


async def test_route_handover_moves_the_remaining_stops(api: Api) -> None:
    hub = await api.hub()
    carrier_org, carrier = await partner(api, "cooperative")
    _, shipments, route = await _route_with(api, hub, 3)
    await api.post(f"/v1/shipments/{shipments[0]}/cancel")
    response = await api.post(
        f"/v1/routes/{route['id']}/handover", {"organization_id": carrier_org["id"]}
    )
    assert response.status_code == 200, response.text
    assert sorted(response.json()["shipment_ids"]) == sorted(shipments[1:])
    listed = (await carrier.get("/v1/shipments")).json()["items"]
    assert {s["id"] for s in listed} == set(shipments[1:])
    assert {s["status"] for s in listed} == {"with_partner"}


async def test_handover_refusals(api: Api) -> None:
    hub = await api.hub()
    shipper_org, _ = await partner(api, "shipper")
    carrier_org, _ = await partner(api, "regional_courier")
    shipment = await api.shipment(hub["id"])
    path = f"/v1/shipments/{shipment['id']}/handover"
    to_shipper = await api.post(path, {"organization_id": shipper_org["id"]})
    assert to_shipper.status_code == 422 and to_shipper.json()["code"] == "not_a_carrier"
    unknown = await api.post(path, {"organization_id": str(uuid.uuid4())})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "organization_id"
    missing = await api.post(
        f"/v1/shipments/{uuid.uuid4()}/handover", {"organization_id": carrier_org["id"]}
    )
    assert missing.status_code == 404
    await api.post(f"/v1/shipments/{shipment['id']}/cancel")
    closed = await api.post(path, {"organization_id": carrier_org["id"]})
    assert closed.status_code == 409
    driver = await api.as_driver(await api.driver(hub["id"]))
    assert (await driver.post(path, {"organization_id": carrier_org["id"]})).status_code == 403


async def test_partner_events_fold_like_device_events(api: Api, db) -> None:
    hub = await api.hub()
    carrier_org, carrier = await partner(api, "regional_courier")
    _, other_carrier = await partner(api, "regional_courier")
    shipment = await api.shipment(hub["id"])
    stranger = await api.shipment(hub["id"])
    await api.post(
        f"/v1/shipments/{shipment['id']}/handover", {"organization_id": carrier_org["id"]}
    )
    sid = shipment["id"]
    loaded = new_event(sid, "scan_loaded", 1, _soon(1))
    failed = new_event(sid, "delivery_failed", 2, _soon(2), data={"reason": "refused"})
    delivered = new_event(sid, "delivered", 3, _soon(3), data={"handoff": "recipient"})
    bad = {"event_id": "nope", "type": "delivered"}
    foreign = new_event(stranger["id"], "delivered", 4, _soon(4), data={"handoff": "recipient"})
    # Sent out of order, with a poison event and a shipment not handed over to this carrier.
    response = await carrier.post(
        "/v1/partner/events", {"events": [delivered, bad, loaded, foreign, failed]}
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [
        "accepted",
        "rejected",
        "accepted",
        "rejected",
        "accepted",
    ]
    assert results[1]["reason"] == "invalid" and results[3]["reason"] == "unknown_shipment"
    assert results[4]["shipment"]["status"] == "delivered"  # the fold orders by effective time
    assert await db.fetchval("SELECT count(*) FROM partner_quarantined_events") == 2
    stored = await db.fetchrow(
        "SELECT occurred_at, received_at FROM partner_events WHERE event_id = $1",
        uuid.UUID(delivered["event_id"]),
    )
    assert stored["occurred_at"] == datetime.fromisoformat(delivered["occurred_at"])
    assert stored["received_at"] is not None
    events = (await api.get(f"/v1/shipments/{sid}/events")).json()["items"]
    assert {
        e["source"] for e in events if e["type"] != "created" and e["type"] != "handed_over"
    } == {"partner"}
    pods = await db.fetch(
        "SELECT device_id, driver_id FROM pods WHERE shipment_id = $1", uuid.UUID(sid)
    )
    assert [(p["device_id"], p["driver_id"]) for p in pods] == [
        (f"partner:{carrier_org['id']}", None)
    ]

    # Replayed: duplicates, nothing changes. Same id, other content: a conflict.
    again = await carrier.post("/v1/partner/events", {"events": [loaded, delivered]})
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    changed = dict(loaded, occurred_at=_soon(9))
    conflict = await carrier.post("/v1/partner/events", {"events": [changed]})
    assert conflict.json()["results"][0]["reason"] == "conflicting_duplicate"
    # Another carrier cannot speak of it; drivers and shippers cannot call this at all.
    theirs = await other_carrier.post(
        "/v1/partner/events", {"events": [new_event(sid, "scan_loaded", 9, _soon(9))]}
    )
    assert theirs.json()["results"][0]["reason"] == "unknown_shipment"
    assert (await api.post("/v1/partner/events", {"events": [loaded]})).status_code == 403
    for body in ({"events": []}, {"events": "x"}, {"nope": 1}, [1]):
        assert (await carrier.post("/v1/partner/events", body)).status_code in (400, 422)


async def test_reordered_partner_batches_converge(api: Api, db) -> None:
    hub = await api.hub()
    carrier_org, carrier = await partner(api, "retail_network")
    first, second = await api.shipment(hub["id"]), await api.shipment(hub["id"])
    for s in (first, second):
        await api.post(f"/v1/shipments/{s['id']}/handover", {"organization_id": carrier_org["id"]})

    def story(sid: str) -> list[dict]:
        return [
            new_event(sid, "scan_hub_in", 1, _soon(1)),
            new_event(sid, "scan_loaded", 2, _soon(2)),
            new_event(sid, "delivery_failed", 3, _soon(3), data={"reason": "other"}),
            new_event(sid, "scan_loaded", 4, _soon(4)),
        ]

    in_order, reordered = story(first["id"]), story(second["id"])
    await carrier.post("/v1/partner/events", {"events": in_order})
    for chunk in (reordered[3:], reordered[1:2], reordered[2:3], reordered[:1], reordered):
        await carrier.post("/v1/partner/events", {"events": chunk})
    rows = await db.fetch(
        "SELECT status, attempts FROM shipments WHERE id = ANY($1::uuid[])",
        [uuid.UUID(first["id"]), uuid.UUID(second["id"])],
    )
    assert [(r["status"], r["attempts"]) for r in rows] == [("out_for_delivery", 1)] * 2


async def test_a_partner_delivery_carries_its_proof_through_the_blob_endpoint(api: Api, db) -> None:
    import hashlib

    hub = await api.hub()
    carrier_org, carrier = await partner(api, "regional_courier")
    _, other_carrier = await partner(api, "regional_courier")
    shipment = await api.shipment(hub["id"], requirements={"photo": True})
    await api.post(
        f"/v1/shipments/{shipment['id']}/handover", {"organization_id": carrier_org["id"]}
    )
    photo = b"\x89PNG\r\n\x1a\n" + b"partner photo" * 10
    digest = hashlib.sha256(photo).hexdigest()
    delivered = new_event(
        shipment["id"],
        "delivered",
        1,
        _soon(1),
        data={"handoff": "recipient", "photo_sha256s": [digest]},
    )
    await carrier.post("/v1/partner/events", {"events": [delivered]})
    assert await db.fetchval("SELECT status FROM pods") == "pending_blobs"
    upload = await carrier.client.put(
        f"/v1/blobs/{digest}",
        content=photo,
        headers=carrier.headers | {"content-type": "image/png"},
    )
    assert upload.status_code == 201, upload.text
    assert await db.fetchval("SELECT status FROM pods") == "complete"
    assert (await carrier.get(f"/v1/blobs/{digest}")).status_code == 200
    assert (await other_carrier.get(f"/v1/blobs/{digest}")).status_code == 404
