"""Push: per-event results, idempotency, quarantine, custody and the limits."""

import json
import uuid

from tests.sync.factories import Handheld, fleet


async def test_a_day_of_scans_moves_the_shipment(api, db) -> None:
    f = await fleet(api)
    device, shipment = f.handhelds[0], f.shipments[0][0]
    barcode = shipment["parcels"][0]["barcode"]
    result = await device.push(
        [
            device.event("scan_hub_in", 1, barcode=barcode),
            device.event("scan_loaded", 2, shipment_id=shipment["id"]),
            device.event(
                "arrived", 3, shipment_id=shipment["id"], location={"lon": 13.4, "lat": 52.5}
            ),
            device.event(
                "delivered",
                4,
                shipment_id=shipment["id"],
                data={"handoff": "recipient", "recipient_name": "A"},
            ),
        ]
    )
    assert [r["status"] for r in result["results"]] == ["accepted"] * 4
    assert [r["shipment"]["status"] for r in result["results"]] == ["delivered"] * 4
    assert result["ack_seq"] == 4
    assert (await api.get(f"/v1/shipments/{shipment['id']}")).json()["status"] == "delivered"
    events = (await api.get(f"/v1/shipments/{shipment['id']}/events")).json()["items"]
    device_events = [e for e in events if e["source"] == "device"]
    assert [e["type"] for e in device_events] == [
        "scan_hub_in",
        "scan_loaded",
        "arrived",
        "delivered",
    ]
    assert device_events[0]["anomalies"] == ["clock_low_confidence"]


async def test_replays_are_duplicates_and_changed_content_is_a_conflict(api, db) -> None:
    f = await fleet(api)
    device, shipment = f.handhelds[0], f.shipments[0][0]
    loaded = device.event("scan_loaded", 1, shipment_id=shipment["id"])
    await device.push([loaded])
    again = await device.push([loaded])
    assert again["results"][0]["status"] == "duplicate"
    assert again["results"][0]["shipment"] == {"id": shipment["id"], "status": "out_for_delivery"}
    changed = loaded | {"occurred_at": "2026-01-01T00:00:00Z"}
    conflict = await device.push([changed])
    assert conflict["results"][0] == {
        "event_id": loaded["event_id"],
        "status": "rejected",
        "reason": "conflicting_duplicate",
    }
    assert (
        await db.fetchval(
            "SELECT count(*) FROM quarantined_events WHERE reason = 'conflicting_duplicate'"
        )
        == 1
    )
    assert await db.fetchval("SELECT count(*) FROM shipment_events WHERE source = 'device'") == 1


async def test_same_batch_id_same_body_answers_the_stored_response(api, db) -> None:
    f = await fleet(api)
    device, shipment = f.handhelds[0], f.shipments[0][0]
    events = [device.event("scan_loaded", 1, shipment_id=shipment["id"])]
    batch = str(uuid.uuid4())
    first = await device.push(events, batch)
    assert first["ack_seq"] == 1
    second = await device.push(events, batch)
    assert second | {"server_time": None} == first | {"server_time": None}
    different = await device.push_raw([*events, device.event("note", 2, data={"text": "x"})], batch)
    assert different.status_code == 422
    assert different.json()["errors"][0]["field"] == "batch_id"


async def test_a_response_stored_with_its_ack_inside_is_replayed_as_stored(api, db) -> None:
    """Rows from before the ack had a column of their own carry it in the stored bytes."""
    f = await fleet(api)
    device, shipment = f.handhelds[0], f.shipments[0][0]
    events = [device.event("scan_loaded", 1, shipment_id=shipment["id"])]
    batch = str(uuid.uuid4())
    first = await device.push(events, batch)
    legacy = json.dumps(first | {"ack_seq": 7}).encode()
    await db.execute(
        "UPDATE push_batches SET response = $1, ack_seq = NULL WHERE batch_id = $2",
        legacy,
        uuid.UUID(batch),
    )
    replayed = await device.push(events, batch)
    assert replayed | {"server_time": None} == first | {"ack_seq": 7, "server_time": None}


async def test_a_malformed_event_is_rejected_alone_and_kept(api, db) -> None:
    f = await fleet(api)
    device, shipment = f.handhelds[0], f.shipments[0][0]
    good = device.event("scan_loaded", 1, shipment_id=shipment["id"])
    bad_type = device.event("teleported", 2, shipment_id=shipment["id"])
    bad_data = device.event(
        "delivery_failed", 3, shipment_id=shipment["id"], data={"reason": "aliens"}
    )
    unknown = device.event("scan_hub_in", 4, barcode="NO-SUCH-BARCODE")
    not_an_object = 42
    result = await device.push([good, bad_type, bad_data, unknown, not_an_object])
    statuses = [(r["status"], r.get("reason")) for r in result["results"]]
    assert statuses == [
        ("accepted", None),
        ("rejected", "invalid"),
        ("rejected", "invalid"),
        ("rejected", "unknown_barcode"),
        ("rejected", "invalid"),
    ]
    kept = await db.fetch("SELECT reason, detail, raw FROM quarantined_events ORDER BY id")
    assert len(kept) == 4
    assert "data.reason" in kept[1]["detail"]
    assert result["results"][2]["detail"].startswith("data.reason")  # the device learns why
    assert result["ack_seq"] == 4  # seqs 1-4 stored (accepted or quarantined)


async def test_an_event_for_someone_elses_shipment_is_rejected(api) -> None:
    f = await fleet(api, drivers=2, per_route=1)
    mine, theirs = f.handhelds[0], f.shipments[1][0]
    result = await mine.push([mine.event("scan_loaded", 1, shipment_id=theirs["id"])])
    assert result["results"][0]["reason"] == "not_on_your_route"


async def test_a_scan_after_reassignment_is_kept_and_opens_a_custody_incident(api, db) -> None:
    f = await fleet(api, drivers=2, per_route=1)
    first, shipment = f.handhelds[0], f.shipments[0][0]
    await api.post(f"/v1/routes/{f.routes[0]['id']}/reassign", {"driver_id": f.drivers[1]["id"]})
    result = await first.push([first.event("scan_loaded", 1, shipment_id=shipment["id"])])
    assert result["results"][0]["status"] == "accepted"
    incident = await db.fetchrow("SELECT kind, shipment_id, driver_id FROM incidents")
    assert incident["kind"] == "custody_conflict"
    assert str(incident["shipment_id"]) == shipment["id"]
    assert str(incident["driver_id"]) == f.drivers[0]["id"]


async def test_ack_seq_is_the_highest_contiguous_seq(api) -> None:
    f = await fleet(api)
    device, shipment = f.handhelds[0], f.shipments[0][0]
    e1, e2, e3 = (
        device.event("note", n, shipment_id=shipment["id"], data={"text": str(n)}) for n in range(3)
    )
    assert (await device.push([e1, e3]))["ack_seq"] == 1
    assert (await device.push([e2]))["ack_seq"] == 3


async def test_device_binding_and_roles(api) -> None:
    f = await fleet(api, per_route=1)
    unbound = await api.as_driver(f.drivers[0], device_id=None)
    body = {"device_id": "device-0", "batch_id": str(uuid.uuid4()), "events": []}
    assert (await unbound.post("/v1/sync/push", body)).status_code == 403
    wrong = await f.handhelds[0].api.post("/v1/sync/push", body | {"device_id": "other"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "device_id"
    assert (await api.post("/v1/sync/push", body)).status_code == 403
    assert (await api.get("/v1/sync/pull")).status_code == 403


async def test_bodies_that_are_not_json_or_too_big_store_nothing(api, db) -> None:
    f = await fleet(api, per_route=1)
    device: Handheld = f.handhelds[0]
    headers = device.api.headers | {"content-type": "application/json"}
    not_json = await api.client.post("/v1/sync/push", content=b"{oops", headers=headers)
    assert not_json.status_code == 400
    assert not_json.headers["content-type"].startswith("application/problem+json")
    missing = await device.api.post("/v1/sync/push", {"device_id": "device-0", "events": []})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "batch_id"
    many = [device.event("note", 1, data={"text": "x"}) for _ in range(1001)]
    too_many = await device.push_raw(many)
    assert too_many.status_code == 413
    huge = [device.event("note", 1, data={"text": "x" * 11_000}) for _ in range(500)]
    too_big = await device.push_raw(huge)
    assert too_big.status_code == 413
    assert await db.fetchval("SELECT count(*) FROM push_batches") == 0
    assert await db.fetchval("SELECT count(*) FROM quarantined_events") == 0
