"""Facts follow the real write paths: a device push (and its replay) marks the shipments it
touched, and the next read rebuilds them."""

from datetime import UTC, datetime

from pytest import approx

from tests.factories import Api
from tests.kpis.support import kpis, rows_by_key
from tests.sync.factories import fleet

HANDED = {"handoff": "recipient", "recipient_name": "A"}


async def test_pushed_events_reach_the_kpis(api: Api, db) -> None:
    crew = await fleet(api, drivers=1, per_route=3)
    # Event times are in the past: a device clock ahead of the server is clamped to receipt.
    handheld, (s0, s1, _) = crew.handhelds[0], crew.shipments[0]
    today = datetime.now(UTC).date().isoformat()
    day = {"from": today, "to": today, "group_by": "driver"}
    batch = [
        handheld.event("scan_loaded", -900, shipment_id=s0["id"]),
        handheld.event("scan_loaded", -900, shipment_id=s1["id"]),
        handheld.event("arrived", -890, shipment_id=s0["id"]),
        handheld.event("delivered", -830, shipment_id=s0["id"], data=HANDED),
        handheld.event("arrived", -800, shipment_id=s1["id"]),
        handheld.event(
            "delivery_failed", -770, shipment_id=s1["id"], data={"reason": "recipient_absent"}
        ),
    ]
    result = await handheld.push(batch)
    assert {r["status"] for r in result["results"]} == {"accepted"}, result
    row = rows_by_key(await kpis(api, **day))[crew.drivers[0]["id"]]
    assert (row["shipments"], row["first_attempt_success"]) == (2, 0.5)
    assert row["dwell_p50_seconds"] == approx(45)  # 60 and 30
    assert await db.fetchval("SELECT count(*) FROM kpi_dirty_shipments") == 0
    await handheld.push(batch)  # a replay stores nothing and changes nothing
    assert rows_by_key(await kpis(api, **day))[crew.drivers[0]["id"]] == row
    await handheld.push(
        [
            handheld.event("arrived", -700, shipment_id=s1["id"]),
            handheld.event("delivered", -640, shipment_id=s1["id"], data=HANDED),
        ]
    )
    row = rows_by_key(await kpis(api, **day))[crew.drivers[0]["id"]]
    assert row["attempts_per_parcel"] == approx(3 / 2)
    assert row["dwell_p50_seconds"] == approx(60)  # [30, 60, 60]
