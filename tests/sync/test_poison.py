"""One bad event is rejected alone, its field named, kept in quarantine; the batch goes on.

Every value here made the whole push answer 500 before, for ever on resend: the database was
handed a value it refuses (U+0000 in text or jsonb, a bigint overflow, a date Python cannot
hold), or the clock arithmetic overflowed.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.sync.factories import Handheld, fleet

ANCHOR = {"boot_id": "b1", "mono_ms": 1000, "server_time": "2026-11-24T09:00:00Z"}


def _clock(**anchor: Any) -> dict[str, Any]:
    return {"boot_id": "b1", "mono_ms": 2000, "anchor": ANCHOR | anchor}


# (what to change in a valid note event, the field the answer must name)
POISON: list[tuple[str, dict[str, Any], str]] = [
    ("NUL in note text", {"data": {"text": "a\x00b"}}, "data.text"),
    ("NUL in a data key", {"data": {"te\x00xt": "a"}}, "data.te\\0xt"),
    ("NUL in a barcode", {"barcode": "BC\x00"}, "barcode"),
    ("NUL in clock.boot_id", {"clock": {"boot_id": "b\x00", "mono_ms": 1}}, "clock.boot_id"),
    ("NUL in a nested list", {"data": {"text": "t", "x": [["\x00"]]}}, "data.x[0][0]"),
    ("seq of 2^63", {"seq": 2**63}, "seq"),
    ("seq of 10^30", {"seq": 10**30}, "seq"),
    ("mono_ms of 1e18", {"clock": {"boot_id": "b1", "mono_ms": 1e18}}, "clock.mono_ms"),
    ("mono_ms of 10^18", {"clock": {"boot_id": "b1", "mono_ms": 10**18}}, "clock.mono_ms"),
    ("anchor mono_ms of 10^18", {"clock": _clock(mono_ms=10**18)}, "clock.anchor.mono_ms"),
    (
        "anchor in year 1",
        {"clock": _clock(server_time="0001-01-01T00:00:00Z")},
        "clock.anchor.server_time",
    ),
    (
        "anchor in year 9999",
        {"clock": _clock(server_time="9999-12-31T23:59:59Z")},
        "clock.anchor.server_time",
    ),
    (
        "anchor without a time zone",
        {"clock": _clock(server_time="2026-11-24T09:00:00")},
        "clock.anchor.server_time",
    ),
    (
        "occurred_at before year 1 in UTC",
        {"occurred_at": "0001-01-01T00:00:00+05:00"},
        "occurred_at",
    ),
    ("occurred_at after 9999 in UTC", {"occurred_at": "9999-12-31T23:00:00-05:00"}, "occurred_at"),
    ("occurred_at without a time zone", {"occurred_at": "2026-11-24T09:00:00"}, "occurred_at"),
    ("location as strings", {"location": {"lon": "13.4", "lat": "52.5"}}, "location.lon"),
]


@pytest.mark.parametrize(("change", "field"), [p[1:] for p in POISON], ids=[p[0] for p in POISON])
async def test_a_poison_value_is_rejected_alone_and_resending_answers_the_same(
    api, db, change: dict[str, Any], field: str
) -> None:
    f = await fleet(api, per_route=1)
    device, shipment = f.handhelds[0], f.shipments[0][0]
    before = device.event("scan_loaded", 1, shipment_id=shipment["id"])
    poison = device.event("note", 2, shipment_id=shipment["id"], data={"text": "x"}) | change
    after = device.event("note", 3, shipment_id=shipment["id"], data={"text": "after"})
    batch = str(uuid.uuid4())
    answer = await device.push([before, poison, after], batch)
    results = answer["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert results[1]["reason"] == "invalid"
    assert results[1]["detail"].startswith(f"{field}: "), results[1]["detail"]
    stored = await db.fetchval(
        "SELECT count(*) FROM sync_events WHERE device_id = $1", device.device_id
    )
    assert stored == 2
    kept = await db.fetchrow("SELECT reason, detail, raw, raw_bytes FROM quarantined_events")
    assert kept["reason"] == "invalid" and kept["detail"] == results[1]["detail"]
    assert (kept["raw"] is None) == (kept["raw_bytes"] is not None)  # kept one way or the other
    if kept["raw_bytes"] is not None:
        assert b"\\u0000" in kept["raw_bytes"]
    # The same batch again: the stored answer. Its events again in a new batch: the same verdicts.
    again = await device.push([before, poison, after], batch)
    assert again["results"] == results and again["ack_seq"] == answer["ack_seq"]
    anew = await device.push([before, poison, after])
    assert [r["status"] for r in anew["results"]] == ["duplicate", "rejected", "duplicate"]
    assert anew["results"][1]["detail"] == results[1]["detail"]


async def test_every_field_of_a_batch_of_poison_is_answered_and_the_good_ones_applied(
    api, db
) -> None:
    f = await fleet(api, per_route=1)
    device, shipment = f.handhelds[0], f.shipments[0][0]
    events = [
        device.event("note", 0, shipment_id=shipment["id"], data={"text": "x"}) | change
        for _, change, _ in POISON
    ]
    delivered = device.event(
        "delivered", 5, shipment_id=shipment["id"], data={"handoff": "recipient"}
    )
    answer = await device.push([*events, delivered])
    assert [r["status"] for r in answer["results"]] == ["rejected"] * len(POISON) + ["accepted"]
    assert answer["results"][-1]["shipment"]["status"] == "delivered"
    assert await db.fetchval("SELECT count(*) FROM quarantined_events") == len(POISON)


async def test_huge_numbers_and_deep_data_in_free_form_fields_are_stored(api, db) -> None:
    f = await fleet(api, per_route=1)
    device: Handheld = f.handhelds[0]
    deep: Any = "bottom"
    for _ in range(300):
        deep = {"d": deep}
    ping = device.event(
        "location",
        1,
        location={"lon": 13.4, "lat": 52.5},
        data={"speed_mps": 10**400, "heading": 1e308, "deep": deep, "big": -(10**60)},
    )
    answer = await device.push([ping])
    assert answer["results"][0]["status"] == "accepted"
    speed, heading = await db.fetchrow("SELECT speed_mps, heading FROM positions")
    assert speed is None and heading == 1e308


@pytest.mark.parametrize("occurred_at", ["1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
async def test_a_delivery_dated_1970_or_9999_without_an_anchor_is_clamped_and_flagged(
    api, occurred_at: str
) -> None:
    f = await fleet(api, per_route=1)
    device, shipment = f.handhelds[0], f.shipments[0][0]
    loaded = device.event("scan_loaded", 0, shipment_id=shipment["id"])
    delivered = device.event(
        "delivered", 0, shipment_id=shipment["id"], data={"handoff": "recipient"}
    ) | {"occurred_at": occurred_at}
    sent = datetime.now(UTC)
    answer = await device.push([loaded, delivered])
    assert answer["results"][1]["flags"] == ["clock_low_confidence", "clock_suspect"]
    assert answer["results"][1]["shipment"]["status"] == "delivered"
    events = (await api.get(f"/v1/shipments/{shipment['id']}/events")).json()["items"]
    stored = next(e for e in events if e["id"] == delivered["event_id"])
    effective = datetime.fromisoformat(stored["effective_at"])
    assert sent - timedelta(seconds=5) <= effective <= datetime.now(UTC)  # the receipt
    assert stored["occurred_at"].startswith(occurred_at[:4])  # the device's claim is kept
    assert "clock_suspect" in stored["anomalies"]
    # Clamped to the receipt, it folds after the load scan, in capture order.
    assert [e["type"] for e in events if e["source"] == "device"] == ["scan_loaded", "delivered"]


async def test_an_anchored_time_weeks_before_receipt_is_clamped_too(api) -> None:
    f = await fleet(api, per_route=1)
    device, shipment = f.handhelds[0], f.shipments[0][0]
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    event = device.event("scan_loaded", 0, shipment_id=shipment["id"]) | {
        "clock": _clock(server_time=old)
    }
    answer = await device.push([event])
    assert answer["results"][0]["flags"] == ["clock_suspect"]
    recent = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    fine = device.event("note", 0, shipment_id=shipment["id"], data={"text": "x"}) | {
        "clock": _clock(server_time=recent)
    }
    assert "flags" not in (await device.push([fine]))["results"][0]


async def test_a_nul_in_the_envelope_fails_the_request_with_the_field_named(api, db) -> None:
    f = await fleet(api, per_route=1)
    device = f.handhelds[0]
    body = {"device_id": "device-0\x00", "batch_id": str(uuid.uuid4()), "events": []}
    response = await device.api.post("/v1/sync/push", body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "device_id"
    assert await db.fetchval("SELECT count(*) FROM push_batches") == 0
