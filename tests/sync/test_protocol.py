"""The protocol corrections (docs/sync-protocol.md): cursors of empty snapshots, empty cursors,
replayed clocks, seq gaps and reuse, flags in the answer, GeoJSON points."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend.sync import push
from tests.factories import Api
from tests.sync.factories import Handheld, fleet


async def _pull(device: Handheld, cursor: str | None = None, **params: Any) -> dict[str, Any]:
    query = params | ({"cursor": cursor} if cursor is not None else {})
    response = await device.api.get("/v1/sync/pull", params=query)
    assert response.status_code == 200, response.text
    return response.json()


async def _empty_handed(api: Api, hub: dict[str, Any], device_id: str) -> tuple[dict, Handheld]:
    """A driver with nothing assigned yet, and their handheld."""
    driver = await api.driver(hub["id"])
    return driver, Handheld(await api.as_driver(driver, device_id), device_id)


# 1. an empty first snapshot, then a route -----------------------------------------------------


async def test_a_route_given_after_an_empty_snapshot_arrives_as_a_delta(api) -> None:
    hub = await api.hub()
    driver, device = await _empty_handed(api, hub, "hh-new")
    snapshot = await _pull(device)
    assert snapshot["snapshot"] is True and snapshot["changes"] == []
    shipment = await api.shipment(hub["id"])
    route = await api.route(driver["id"], hub["id"], [shipment["id"]])
    await api.publish_route(route["id"])
    delta = await _pull(device, snapshot["cursor"])
    assert delta["reset_required"] is False and delta["snapshot"] is False
    ops = {(c["entity"], c["op"]) for c in delta["changes"]}
    assert ops == {("route", "upsert"), ("stop", "upsert"), ("shipment", "upsert")}


async def test_a_route_reassigned_to_a_driver_with_an_empty_snapshot_is_an_upsert(api) -> None:
    f = await fleet(api, per_route=2)
    old = f.handhelds[0]
    await old.pull()
    driver, new = await _empty_handed(api, f.hub, "hh-new")
    cursor = (await _pull(new))["cursor"]
    await api.post(f"/v1/routes/{f.routes[0]['id']}/reassign", {"driver_id": driver["id"]})
    delta = await _pull(new, cursor)
    assert delta["reset_required"] is False
    upserts = {(c["entity"], c["id"]) for c in delta["changes"] if c["op"] == "upsert"}
    assert ("route", f.routes[0]["id"]) in upserts
    assert {("shipment", s["id"]) for s in f.shipments[0]} <= upserts
    await old.pull()
    assert old.local == {}


# 2. an empty cursor is no cursor; a reset carries none -----------------------------------------


async def test_an_empty_cursor_is_a_snapshot_and_a_reset_carries_no_cursor(api) -> None:
    f = await fleet(api, per_route=1)
    device = f.handhelds[0]
    empty = await _pull(device, "")
    assert empty["snapshot"] is True and empty["reset_required"] is False
    assert len(empty["changes"]) == 3 and empty["cursor"]
    reset = await _pull(device, "garbage")
    assert reset["reset_required"] is True and reset["cursor"] is None


# 3. a replay answers the current server_time ----------------------------------------------------


async def test_a_replayed_batch_answers_the_current_server_time(api, monkeypatch) -> None:
    f = await fleet(api, per_route=1)
    device, shipment = f.handhelds[0], f.shipments[0][0]
    events = [device.event("scan_loaded", 1, shipment_id=shipment["id"])]
    batch = str(uuid.uuid4())
    first = await device.push(events, batch)
    later = datetime.now(UTC) + timedelta(seconds=6)
    monkeypatch.setattr(push, "utcnow", lambda: later)
    replay = await device.push(events, batch)
    assert datetime.fromisoformat(replay["server_time"]) == later
    assert replay["results"] == first["results"] and replay["ack_seq"] == first["ack_seq"]


# 4. seq gaps, declared skips, reused seqs ------------------------------------------------------


def _note(device: Handheld, seq: int, shipment_id: str) -> dict[str, Any]:
    return device.event("note", shipment_id=shipment_id, data={"text": str(seq)}) | {"seq": seq}


async def test_a_lost_seq_holds_the_ack_until_the_device_declares_it_skipped(api, db) -> None:
    f = await fleet(api, per_route=1)
    device, sid = f.handhelds[0], f.shipments[0][0]["id"]
    assert (await device.push([_note(device, n, sid) for n in (1, 2, 4)]))["ack_seq"] == 2
    assert (await device.push([_note(device, 3, sid)]))["ack_seq"] == 4
    assert (await device.push([_note(device, n, sid) for n in (6, 7, 8)]))["ack_seq"] == 4
    body = {"device_id": device.device_id, "batch_id": str(uuid.uuid4()), "events": []}
    skip = body | {"skipped": [{"first_seq": 5, "last_seq": 5}]}
    answer = await device.api.post("/v1/sync/push", skip)
    assert answer.status_code == 200 and answer.json()["ack_seq"] == 8
    # A skip declared ahead of the events, with events inside it: the ack covers the union.
    ahead = body | {
        "batch_id": str(uuid.uuid4()),
        "events": [_note(device, 12, sid)],
        "skipped": [{"first_seq": 9, "last_seq": 10}, {"first_seq": 10, "last_seq": 11}],
    }
    assert (await device.api.post("/v1/sync/push", ahead)).json()["ack_seq"] == 12
    kept = await db.fetch("SELECT first_seq, last_seq FROM skipped_seqs ORDER BY first_seq")
    assert [tuple(r) for r in kept] == [(5, 5), (9, 10), (10, 11)]


@pytest.mark.parametrize(
    ("skipped", "field"),
    [
        ([{"first_seq": 5, "last_seq": 4}], "skipped[0]"),
        ([{"first_seq": 0, "last_seq": 4}], "skipped[0].first_seq"),
        ([{"first_seq": 1, "last_seq": 2**63}], "skipped[0].last_seq"),
        ([{"first_seq": 1, "last_seq": 1}] * 101, "skipped"),
    ],
)
async def test_a_malformed_skip_fails_the_push_and_stores_nothing(api, db, skipped, field) -> None:
    f = await fleet(api, per_route=1)
    device = f.handhelds[0]
    body = {"device_id": device.device_id, "batch_id": str(uuid.uuid4()), "events": []}
    response = await device.api.post("/v1/sync/push", body | {"skipped": skipped})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert await db.fetchval("SELECT count(*) FROM push_batches") == 0


async def test_a_reused_seq_is_rejected_with_the_event_that_holds_it(api, db) -> None:
    f = await fleet(api, per_route=1)
    device, sid = f.handhelds[0], f.shipments[0][0]["id"]
    first = _note(device, 1, sid)
    await device.push([first])
    reuse, twin_a, twin_b = _note(device, 1, sid), _note(device, 2, sid), _note(device, 2, sid)
    answer = await device.push([reuse, twin_a, twin_b])
    statuses = [(r["status"], r.get("reason")) for r in answer["results"]]
    assert statuses == [("rejected", "seq_reused"), ("accepted", None), ("rejected", "seq_reused")]
    assert answer["results"][0]["detail"] == f"seq: 1 is already event {first['event_id']}"
    assert answer["results"][2]["detail"] == f"seq: 2 is already event {twin_a['event_id']}"
    assert answer["ack_seq"] == 2
    kept = await db.fetchval("SELECT count(*) FROM quarantined_events WHERE reason = 'seq_reused'")
    assert kept == 2
    assert await db.fetchval("SELECT count(*) FROM sync_events") == 2
    # The original again is still a duplicate, not a reuse.
    assert (await device.push([first]))["results"][0]["status"] == "duplicate"


# 5. flags in the answer ------------------------------------------------------------------------


async def test_the_answer_carries_each_events_flags(api) -> None:
    f = await fleet(api, drivers=2, per_route=2)
    device, (one, two) = f.handhelds[0], f.shipments[0]
    delivered = {"handoff": "recipient"}
    anchored = device.event("scan_loaded", 1, shipment_id=one["id"]) | {
        "clock": {
            "boot_id": "b",
            "mono_ms": 2000,
            "anchor": {
                "boot_id": "b",
                "mono_ms": 1000,
                "server_time": datetime.now(UTC).isoformat(),
            },
        }
    }
    answer = await device.push(
        [
            anchored,
            device.event("delivered", 2, shipment_id=one["id"], data=delivered),
            device.event("delivery_failed", 3, shipment_id=one["id"], data={"reason": "refused"}),
            device.event("delivered", 4, shipment_id=one["id"], data=delivered),
        ]
    )
    flags = [r.get("flags", []) for r in answer["results"]]
    assert flags == [
        [],
        ["clock_low_confidence"],
        ["clock_low_confidence", "delivery_failed_after_delivered"],
        ["clock_low_confidence", "repeated_delivery"],
    ]
    await api.post(f"/v1/routes/{f.routes[0]['id']}/reassign", {"driver_id": f.drivers[1]["id"]})
    late = await device.push([device.event("arrived", 5, shipment_id=two["id"])])
    assert late["results"][0]["flags"] == ["clock_low_confidence", "custody_conflict"]


# 7. GeoJSON points beside the compact form -----------------------------------------------------


async def test_events_take_a_geojson_point_or_the_compact_form(api, db) -> None:
    f = await fleet(api, per_route=1)
    device = f.handhelds[0]
    geojson = {"type": "Point", "coordinates": [13.41, 52.51], "accuracy_m": 7}
    answer = await device.push(
        [
            device.event("location", 1, location=geojson),
            device.event("location", 2, location={"lon": 13.42, "lat": 52.52}),
            device.event("location", 3, location=geojson | {"lon": 13.4, "lat": 52.5}),
            device.event("location", 4, location={"type": "Point", "coordinates": [1, 2, 3]}),
            device.event("location", 5, location={"type": "Point", "coordinates": [13.4, 95]}),
        ]
    )
    results = answer["results"]
    assert [r["status"] for r in results] == ["accepted"] * 2 + ["rejected"] * 3
    assert all(r["detail"].startswith("location") for r in results[2:]), results[2:]
    rows = await db.fetch(
        "SELECT ST_X(location::geometry) AS lon, ST_Y(location::geometry) AS lat, accuracy_m"
        " FROM positions ORDER BY at"
    )
    assert [tuple(r) for r in rows] == [(13.41, 52.51, 7.0), (13.42, 52.52, None)]


async def test_pings_take_a_geojson_point_or_the_compact_form(api, db) -> None:
    f = await fleet(api, per_route=1)
    device = f.handhelds[0]
    now = datetime.now(UTC)
    pings = [
        {"at": (now - timedelta(seconds=2)).isoformat(), "lon": 13.4, "lat": 52.5},
        {
            "at": (now - timedelta(seconds=1)).isoformat(),
            "location": {"type": "Point", "coordinates": [13.5, 52.6]},
            "accuracy_m": 4,
        },
    ]
    body = {"device_id": device.device_id, "pings": pings}
    response = await device.api.post("/v1/tracking/pings", body)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 2
    both = pings[1] | {"lon": 13.4, "lat": 52.5}
    refused = await device.api.post("/v1/tracking/pings", body | {"pings": [both]})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "pings[0]"
    assert await db.fetchval("SELECT count(*) FROM positions") == 2


# 6. pull's limit: default, bounds, and a snapshot comes whole ----------------------------------


async def test_limit_bounds_a_delta_page_and_a_snapshot_comes_whole(api) -> None:
    f = await fleet(api, per_route=3)
    device = f.handhelds[0]
    snapshot = await _pull(device, limit=1)
    assert snapshot["snapshot"] is True and len(snapshot["changes"]) == 7
    assert snapshot["has_more"] is False
    for limit in (0, 5001):
        response = await device.api.get("/v1/sync/pull", params={"limit": limit})
        assert response.status_code == 422, limit
        assert "limit" in response.text
    for shipment in f.shipments[0]:  # one version each
        await api.patch(f"/v1/shipments/{shipment['id']}", {"notes": "ring twice"})
    page = await _pull(device, snapshot["cursor"], limit=1)
    assert page["has_more"] is True and len(page["changes"]) == 1


async def test_the_largest_seq_stored_twice_leaves_the_ack_alone(api) -> None:
    """Ranges that reach bigint's top must not overflow the ack's arithmetic."""
    f = await fleet(api, per_route=1)
    device, sid = f.handhelds[0], f.shipments[0][0]["id"]
    top = 2**63 - 1
    answer = await device.push([_note(device, 1, sid), _note(device, top, sid)])
    assert answer["ack_seq"] == 1
    again = await device.push([_note(device, top, sid), _note(device, 2, sid)])
    assert [r.get("reason") for r in again["results"]] == ["seq_reused", None]
    assert again["ack_seq"] == 2
    skip = {"skipped": [{"first_seq": 3, "last_seq": top}]}
    body = {"device_id": device.device_id, "batch_id": str(uuid.uuid4()), "events": []} | skip
    assert (await device.api.post("/v1/sync/push", body)).json()["ack_seq"] == top
