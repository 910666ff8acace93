"""The tracking page: times in the hub's zone, the expected range, the running-late note, the
small map when the driver is close, and the reason for every option not offered."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.shipments.schemas import Window
from backend.web.map import distance_m, driver_map
from backend.web.times import Clock, expected_range, running_late, zone_of
from tests.factories import Api, point
from tests.recipients.support import scene
from tests.tracking.support import ping, send

BERLIN = Clock(ZoneInfo("Europe/Berlin"))


def _window(start: datetime, hours: float = 2) -> dict[str, str]:
    return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}


async def test_times_are_shown_in_the_hubs_time_zone(api: Api) -> None:
    hub = await api.hub(time_zone="America/New_York")
    start = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # 10:00 in New York (EST, UTC-5)
    shipment = await api.shipment(hub["id"], window=_window(start))
    html = (await api.client.get(f"/t/{shipment['tracking_token']}")).text
    assert "Thu 03 Dec, 10:00 to 12:00 EST" in html
    assert re.search(r"\d\d:\d\d UTC", html) is None or "You asked" in html
    created = datetime.fromisoformat(shipment["created_at"]).astimezone(
        ZoneInfo("America/New_York")
    )
    assert f"{created:%d %b, %H:%M} EST" in html  # the history too


async def test_an_eta_past_the_window_shows_the_range_the_late_note_and_the_map(
    api: Api, jobs
) -> None:
    ended = datetime.now(UTC) - timedelta(hours=1)
    s = await scene(api, stops=3, window=_window(ended - timedelta(hours=2)))
    await s.load_and_start()
    await send(s.handheld.api, [ping(5, 13.395, 52.50)])
    await jobs.refresh_etas()
    html = (await api.client.get(f"/t/{s.token(1)}")).text
    assert "Expected between" in html and "Best estimate" in html
    assert "Running late." in html and "after your delivery window" in html
    assert '<svg class="map"' in html and '<g class="driver"' in html
    away = re.search(r'data-distance-m="(\d+)"', html)
    assert away is not None and 450 < int(away.group(1)) < 500  # 0.007° of longitude at 52.5° N
    assert "<script" not in html  # still no script: the map is drawn here


async def test_an_eta_inside_the_window_is_not_late(api: Api, jobs) -> None:
    s = await scene(api, stops=1, window=_window(datetime.now(UTC), hours=6))
    await s.load_and_start()
    await send(s.handheld.api, [ping(5, 13.395, 52.50)])
    await jobs.refresh_etas()
    html = (await api.client.get(f"/t/{s.token(0)}")).text
    assert "Expected between" in html and "Delivery window" in html
    assert "Running late" not in html


async def test_the_map_waits_until_the_driver_is_close(api: Api, jobs) -> None:
    s = await scene(api, stops=6)
    await s.load_and_start()
    await send(s.handheld.api, [ping(5, 13.395, 52.50)])
    await jobs.refresh_etas()
    far = (await api.client.get(f"/t/{s.token(5)}")).text
    assert "5 stops before yours" in far and "<svg" not in far


async def test_each_option_not_offered_says_why(api: Api) -> None:
    s = await scene(api, stops=1, requirements={"signature": True})
    html = (await api.client.get(f"/t/{s.token(0)}")).text
    assert "Choose another day</summary>" in html  # offered: a form
    assert "<strong>Leave it at a safe place</strong>: This delivery needs a signature" in html
    assert "<strong>Send it to a pickup point</strong>: There is no pickup point near" in html


async def test_a_finished_delivery_gives_one_reason_for_all(api: Api) -> None:
    s = await scene(api, stops=1)
    await s.load_and_start()
    await s.deliver(0)
    html = (await api.client.get(f"/t/{s.token(0)}")).text
    assert html.count("This delivery is finished") == 1
    assert "<form" not in html


async def test_a_pickup_point_nearby_is_offered_with_no_reason(api: Api) -> None:
    s = await scene(api, stops=1)
    body = {"name": "Kiosk", "location": point(13.401, 52.50), "hub_id": s.hub["id"]}
    await api.created("/v1/pickup-points", body)
    html = (await api.client.get(f"/t/{s.token(0)}")).text
    assert "Send it to a pickup point</summary>" in html and "Not offered now" not in html


def test_the_expected_range_widens_with_stops_and_lands_on_five_minutes() -> None:
    eta = datetime(2026, 12, 1, 13, 7, 30, tzinfo=UTC)
    assert expected_range(eta, 0) == (
        datetime(2026, 12, 1, 12, 55, tzinfo=UTC),
        datetime(2026, 12, 1, 13, 20, tzinfo=UTC),
    )
    start, end = expected_range(eta, 3)
    assert (start.minute, end.minute) == (50, 25)
    start, end = expected_range(eta, 500)  # capped at ±45 min
    assert end - start <= timedelta(minutes=95)


def test_late_only_when_the_eta_is_past_the_window_end() -> None:
    window = Window(
        start=datetime(2026, 12, 1, 12, tzinfo=UTC), end=datetime(2026, 12, 1, 14, tzinfo=UTC)
    )
    assert running_late(datetime(2026, 12, 1, 14, 1, tzinfo=UTC), window)
    assert not running_late(datetime(2026, 12, 1, 14, 0, tzinfo=UTC), window)
    assert not running_late(None, window)
    assert not running_late(datetime(2026, 12, 1, 15, tzinfo=UTC), None)


def test_a_span_across_a_clock_change_names_both_zones() -> None:
    start = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, then clocks go back
    assert BERLIN.span(start, start + timedelta(hours=1)) == "02:30 CEST to 02:30 CET"
    assert BERLIN.span(start, start + timedelta(minutes=20)) == "02:30 to 02:50 CEST"


def test_an_unknown_zone_falls_back_to_utc() -> None:
    assert zone_of("Mars/Olympus_Mons") == ZoneInfo("UTC")
    assert zone_of("../../etc/passwd") == ZoneInfo("UTC")
    assert zone_of(None) == ZoneInfo("UTC")


def test_the_map_places_both_points_inside_and_says_how_far() -> None:
    home, driver = (13.40, 52.50), (13.41, 52.51)
    svg = driver_map(home, driver)
    assert round(distance_m(*home, *driver)) == 1302  # 1,112 m north, 677 m east
    assert 'data-distance-m="1302"' in svg and "about 1.3 km away" in svg
    for x, y in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg):
        assert 0 < float(x) < 320 and 0 < float(y) < 180
    same = driver_map(home, home)  # parked at the door: no division by zero
    assert "about 10 m away" in same
