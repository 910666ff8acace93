"""A day is the hub's local day: the same instant falls on different days in different hubs."""

from tests.factories import Api
from tests.kpis.support import delivery, kpis, rows_by_key


async def test_the_same_instant_is_a_different_day_in_each_hub(api: Api, db) -> None:
    days = {}
    for zone in ("Asia/Tokyo", "UTC", "America/Los_Angeles"):
        hub = await api.hub(time_zone=zone)
        shipment = await api.shipment(hub["id"])
        # 2026-11-20 16:00 UTC: the 21st 01:00 in Tokyo, the 20th 08:00 in Los Angeles.
        await delivery(db, shipment["id"], "2026-11-20T15:59:00Z", "2026-11-20T16:00:00Z")
        report = await kpis(api, hub_id=hub["id"], **{"from": "2026-11-19", "to": "2026-11-22"})
        days[zone] = list(rows_by_key(report))
    assert days == {
        "Asia/Tokyo": ["2026-11-21"],
        "UTC": ["2026-11-20"],
        "America/Los_Angeles": ["2026-11-20"],
    }


async def test_a_local_midnight_boundary(api: Api, db) -> None:
    hub = await api.hub(time_zone="Europe/Berlin")
    before, after = await api.shipment(hub["id"]), await api.shipment(hub["id"])
    # Berlin is UTC+1 in November: 22:59:59 UTC is the 20th, 23:00:00 UTC the 21st.
    await delivery(db, before["id"], "2026-11-20T22:50:00Z", "2026-11-20T22:59:59Z")
    await delivery(db, after["id"], "2026-11-20T22:55:00Z", "2026-11-20T23:00:00Z")
    report = await kpis(api, **{"from": "2026-11-20", "to": "2026-11-21"})
    assert {k: r["shipments"] for k, r in rows_by_key(report).items()} == {
        "2026-11-20": 1,
        "2026-11-21": 1,
    }


async def test_a_hub_needs_a_known_time_zone(api: Api) -> None:
    for bad in ("Mars/Olympus", "+02:00", "UTC\x00", "../../etc/passwd", "", "x" * 65):
        response = await api.post(
            "/v1/hubs",
            {
                "name": "H",
                "code": "TZBAD",
                "location": {"type": "Point", "coordinates": [13.4, 52.5]},
                "time_zone": bad,
            },
        )
        assert response.status_code in (400, 422), (bad, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "time_zone" in response.text
    hub = await api.hub()
    assert hub["time_zone"] == "UTC"
