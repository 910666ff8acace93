"""ETAs from the latest fix, the stop sequence, the speed model and service time; announcements
past the threshold; stale drivers."""

import uuid
from datetime import UTC, datetime, timedelta

import msgspec

from backend.system.jobs import PeriodicJobs
from backend.tracking.eta import Leg, SpeedModel, estimate, should_announce, speed_model
from tests.factories import Api, point
from tests.tracking.support import ping, send

MODEL = SpeedModel(speed_kmh=36.0, detour_factor=1.5, service_seconds=120)  # 10 m/s
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_estimate_drives_legs_in_order_with_service_time_and_windows() -> None:
    a, b, c = (uuid.uuid4() for _ in range(3))
    legs = [
        Leg(a, a, 1000),  # 1500 m driven at 10 m/s: 150 s
        Leg(b, b, 2000),  # +120 s service, +300 s
        Leg(c, c, 0, window_start=T0 + timedelta(hours=2)),  # early: waits for its window
    ]
    assert estimate(legs, T0, MODEL) == [
        T0 + timedelta(seconds=150),
        T0 + timedelta(seconds=570),
        T0 + timedelta(hours=2),
    ]


def test_announce_on_first_estimate_and_beyond_the_threshold_only() -> None:
    assert should_announce(T0, None, 600)
    assert not should_announce(T0 + timedelta(seconds=600), T0, 600)
    assert should_announce(T0 + timedelta(seconds=601), T0, 600)
    assert should_announce(T0 - timedelta(seconds=601), T0, 600)


async def _road(api: Api) -> tuple[dict, Api, dict, list[dict]]:
    """A published route for today with three stops eastwards of the hub."""
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    shipments = [
        await api.shipment(hub["id"], location=point(13.40 + 0.01 * n, 52.50)) for n in (1, 2, 3)
    ]
    today = datetime.now(UTC).date().isoformat()
    route = await api.route(driver["id"], hub["id"], [s["id"] for s in shipments], date=today)
    route = await api.publish_route(route["id"])
    return driver, await api.as_driver(driver), route, shipments


async def _leg_lengths(db, shipment_ids: list[str], lon: float, lat: float) -> list[float]:
    """Straight-line leg lengths straight from PostGIS, to check the service's arithmetic."""
    rows = await db.fetch(
        """
        SELECT ST_Distance(coalesce(lag(s.location) OVER (ORDER BY o.n),
                           ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography), s.location) AS m
        FROM unnest($1::uuid[]) WITH ORDINALITY AS o(id, n) JOIN shipments s ON s.id = o.id
        ORDER BY o.n
        """,
        [uuid.UUID(s) for s in shipment_ids],
        lon,
        lat,
    )
    return [row["m"] for row in rows]


async def _eta_rows(db) -> list[dict]:
    rows = await db.fetch(
        "SELECT payload FROM outbox WHERE topic = 'shipment.eta_changed' ORDER BY id"
    )
    return [
        msgspec.json.decode(row["payload"]) if isinstance(row["payload"], str) else row["payload"]
        for row in rows
    ]


async def test_etas_are_computed_stored_exposed_and_announced(
    api: Api, jobs: PeriodicJobs, db
) -> None:
    _, handheld, route, shipments = await _road(api)
    await send(handheld, [ping(5, 13.40, 52.50)])
    now = datetime.now(UTC)
    assert await jobs.refresh_etas(now) == 3

    lengths = await _leg_lengths(db, [s["id"] for s in shipments], 13.40, 52.50)
    legs = [Leg(uuid.uuid4(), uuid.uuid4(), m) for m in lengths]
    expected = estimate(legs, now, speed_model(jobs.settings))
    stops = (await api.get(f"/v1/routes/{route['id']}")).json()["stops"]
    assert [datetime.fromisoformat(s["eta"]) for s in stops] == expected

    announced = await _eta_rows(db)
    assert [a["shipment_id"] for a in announced] == [s["id"] for s in shipments]
    assert all(a["previous_eta"] is None for a in announced)

    # A little later from the same place: ETAs move by seconds, nothing is announced.
    assert await jobs.refresh_etas(now + timedelta(seconds=30)) == 3
    assert len(await _eta_rows(db)) == 3

    # The driver turns up 10 km west: every ETA moves by far more than the threshold.
    await send(handheld, [ping(0, 13.25, 52.50)])
    await jobs.refresh_etas(now + timedelta(seconds=60))
    moved = (await _eta_rows(db))[3:]
    assert len(moved) == 3
    first = moved[0]
    assert first["previous_eta"] == announced[0]["eta"]
    assert datetime.fromisoformat(first["eta"]) > datetime.fromisoformat(first["previous_eta"])


async def test_delivered_stops_drop_out_of_the_estimate(api: Api, jobs: PeriodicJobs, db) -> None:
    _, handheld, route, shipments = await _road(api)
    await send(handheld, [ping(5, 13.40, 52.50)])
    assert await jobs.refresh_etas() == 3
    await db.execute(
        "UPDATE shipments SET status = 'delivered' WHERE id = $1", uuid.UUID(shipments[0]["id"])
    )
    assert await jobs.refresh_etas() == 2
    stops = (await api.get(f"/v1/routes/{route['id']}")).json()["stops"]
    assert [stop["eta"] is None for stop in stops] == [True, False, False]


async def test_routes_not_on_the_road_get_no_eta(api: Api, jobs: PeriodicJobs) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    shipment = await api.shipment(hub["id"])
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    route = await api.route(driver["id"], hub["id"], [shipment["id"]], date=tomorrow)
    await api.publish_route(route["id"])
    await send(await api.as_driver(driver), [ping(5)])
    assert await jobs.refresh_etas() == 0


async def test_a_silent_driver_on_the_road_is_flagged_once(
    api: Api, jobs: PeriodicJobs, db
) -> None:
    driver, handheld, _, _ = await _road(api)
    await send(handheld, [ping(600)])  # threshold is 300 s
    assert await jobs.detect_stale() == 1
    assert await jobs.detect_stale() == 1
    incidents = await db.fetch("SELECT kind, driver_id, data FROM incidents")
    assert len(incidents) == 1
    assert incidents[0]["kind"] == "stale_gps"
    assert str(incidents[0]["driver_id"]) == driver["id"]

    await send(handheld, [ping(1)])  # back on air
    assert await jobs.detect_stale() == 0
    later = datetime.now(UTC) + timedelta(minutes=10)  # ...and silent again: a new incident
    assert await jobs.detect_stale(later) == 1
    assert await db.fetchval("SELECT count(*) FROM incidents WHERE kind = 'stale_gps'") == 2


async def test_drivers_off_the_road_are_never_stale(api: Api, jobs: PeriodicJobs, db) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    await send(await api.as_driver(driver), [ping(3600)])
    assert await jobs.detect_stale() == 0
    assert await db.fetchval("SELECT count(*) FROM incidents") == 0
