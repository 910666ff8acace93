"""Each KPI against hand-computed values on the fixed history of conftest.py."""

from pytest import approx

from tests.factories import Api
from tests.kpis.conftest import PARTNER, History
from tests.kpis.support import delivery, kpis, rows_by_key

RANGE = {"from": "2026-11-20", "to": "2026-11-21"}


async def test_each_kpi_per_local_day(api: Api, history: History) -> None:
    days = rows_by_key(await kpis(api, **RANGE))
    day = days["2026-11-20"]
    # s1 s2 s3 s4 s6; s3 was delivered on the 21st in UTC but the 20th in New York.
    assert (day["shipments"], day["parcels"]) == (5, 5)
    assert day["on_time_rate"] == approx(3 / 4)  # s1 s4 s6 inside; s2 late; s3 has no window
    assert day["first_attempt_success"] == approx(4 / 5)  # s2 failed first
    assert day["attempts_per_parcel"] == approx(6 / 5)
    assert day["diversion_frequency"] == approx(2 / 5)  # s4 handed over, s6 to a pickup point
    # dwell: s1 120, s2 300 and 60, s3 600, s6 30 -> [30, 60, 120, 300, 600]
    assert day["dwell_p50_seconds"] == approx(120)
    assert day["dwell_p90_seconds"] == approx(300 + 0.6 * 300)
    assert day["partner_report_lag_p50_seconds"] == approx(600)
    assert day["partner_report_lag_p90_seconds"] == approx(600)
    assert day["incidents_opened"] == 2  # the second at 02:00 UTC on the 21st: 21:00 local
    assert day["incident_resolve_p50_seconds"] == approx(3600)
    later = days["2026-11-21"]
    assert (later["shipments"], later["first_attempt_success"], later["on_time_rate"]) == (
        1,
        1.0,
        None,
    )
    assert later["dwell_p50_seconds"] == approx(300)
    assert later["partner_report_lag_p50_seconds"] is None
    assert later["incidents_opened"] == 0


async def test_a_late_event_moves_the_shipment_and_changes_every_figure(
    api: Api, db, history: History
) -> None:
    await kpis(api, **RANGE)  # facts built before the late event arrives
    # s5's device was offline: a failed attempt on the 20th (local) arrives now.
    await delivery(
        db, history.shipments["s5"], "2026-11-20T16:00:00Z", "2026-11-20T16:04:00Z", ok=False
    )
    days = rows_by_key(await kpis(api, **RANGE))
    assert set(days) == {"2026-11-20"}  # the 21st had only s5 and no incident
    day = days["2026-11-20"]
    assert day["shipments"] == 6
    assert day["on_time_rate"] == approx(3 / 4)
    assert day["first_attempt_success"] == approx(4 / 6)
    assert day["attempts_per_parcel"] == approx(8 / 6)
    assert day["diversion_frequency"] == approx(2 / 6)
    # [30, 60, 120, 240, 300, 300, 600]
    assert day["dwell_p50_seconds"] == approx(240)
    assert day["dwell_p90_seconds"] == approx(300 + 0.4 * 300)


async def test_groups_by_driver_route_partner_zone_and_hub(api: Api, history: History) -> None:
    by_driver = rows_by_key(await kpis(api, group_by="driver", **RANGE))
    assert {k: r["shipments"] for k, r in by_driver.items()} == {
        history.drivers["d1"]: 3,
        history.drivers["d2"]: 2,
        None: 1,  # s4, with the partner
    }
    assert by_driver[history.drivers["d1"]]["first_attempt_success"] == approx(2 / 3)
    by_route = rows_by_key(await kpis(api, group_by="route", **RANGE))
    assert by_route[history.routes["r2"]]["dwell_p50_seconds"] == approx(450)  # 300, 600
    by_partner = rows_by_key(await kpis(api, group_by="partner", **RANGE))
    assert by_partner[PARTNER]["shipments"] == 1
    assert by_partner[PARTNER]["partner_report_lag_p50_seconds"] == approx(600)
    assert by_partner[None]["partner_report_lag_p50_seconds"] is None
    by_zone = await kpis(api, group_by="zone", **RANGE)
    assert [row["shipments"] for row in by_zone["rows"]] == [6]
    by_hub = rows_by_key(await kpis(api, group_by="hub", hub_id=history.hub["id"], **RANGE))
    assert by_hub[history.hub["id"]]["shipments"] == 6
    assert by_hub[history.hub["id"]]["incidents_opened"] == 2


async def test_cost_per_parcel_follows_the_cost_model(api: Api, db, history: History) -> None:
    report = await kpis(api, **{"from": "2026-11-20", "to": "2026-11-20"})
    model = report["cost_model"]
    km = {
        row["shipment_id"]: row["leg_km"]
        for row in await db.fetch("SELECT shipment_id::text, leg_km FROM kpi_shipment_facts")
    }
    s = history.shipments
    # Legs: the hub to the route's first stop, then stop to stop (0.001° of latitude apart).
    assert km[s["s1"]] == approx(0.111, rel=0.02)
    assert km[s["s2"]] == approx(0.111, rel=0.02)
    assert km[s["s3"]] == approx(0.333, rel=0.02)
    assert km[s["s4"]] == 0  # on no route
    # Driver hours: r1 13:00 -> 19:01 (s1 s2 s6); r2 20:00 -> 03:30 (s3 only on the 20th).
    hours = (6 + 1 / 60) + 7.5
    legs = sum(km[s[n]] for n in ("s1", "s2", "s3", "s6"))
    total = model["per_km"] * legs + model["per_driver_hour"] * hours + model["per_partner_parcel"]
    assert report["rows"][0]["cost_per_parcel"] == approx(total / 5)


async def test_csv_has_the_same_figures(api: Api, history: History) -> None:
    response = await api.client.get(
        "/v1/kpis", params=RANGE, headers=api.headers | {"Accept": "text/csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.strip().split("\r\n")
    header = lines[0].split(",")
    assert header[:3] == ["day", "shipments", "parcels"]
    first = dict(zip(header, lines[1].split(","), strict=True))
    assert first["day"] == "2026-11-20"
    assert float(first["on_time_rate"]) == approx(0.75)
    second = dict(zip(header, lines[2].split(","), strict=True))
    assert second["on_time_rate"] == ""  # nothing to measure is an empty cell


async def test_the_daily_rollup_stays_the_sum_of_the_facts(
    api: Api, app, db, history: History
) -> None:
    """After late events that move shipments between days and routes, the rows kept up to date
    group by group equal a rollup of all facts from scratch."""
    from backend.db.session import make_engine, make_sessionmaker, unit_of_work
    from backend.kpis.repository import KpiRepository

    await kpis(api, **RANGE)
    s = history.shipments
    await delivery(db, s["s5"], "2026-11-20T16:00:00Z", "2026-11-20T16:04:00Z", ok=False)
    await delivery(db, s["s1"], "2026-11-19T16:00:00Z", "2026-11-19T16:01:00Z", ok=False)
    await kpis(api, **RANGE)
    columns = "day, hub_id, zone_id, route_id, driver_id, partner_id, shipments, parcels, "
    columns += "on_time, attempted, first_ok, dwell_values, dwell_counts, lag_values, leg_km"
    query = f"SELECT {columns} FROM kpi_daily ORDER BY {columns}"
    kept = [dict(r) for r in await db.fetch(query)]
    engine = make_engine(app.state.settings)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            await KpiRepository(session).rebuild_daily([history.hub["id"]])
    finally:
        await engine.dispose()
    assert kept == [dict(r) for r in await db.fetch(query)]
    assert {r["day"].isoformat() for r in kept} == {"2026-11-19", "2026-11-20"}
