"""The live map (latest positions with staleness) and driver tracks, with who may read them."""

from datetime import UTC, datetime, timedelta

from tests.factories import Api
from tests.tracking.support import feature_of, iso, ping, send


async def test_positions_flag_stale_drivers(api: Api) -> None:
    hub = await api.hub()
    fresh, silent = await api.driver(hub["id"]), await api.driver(hub["id"])
    await send(await api.as_driver(fresh), [ping(10)])
    await send(await api.as_driver(silent, "device-2"), [ping(900)], "device-2")
    fresh_feature = await feature_of(api, fresh["id"])
    silent_feature = await feature_of(api, silent["id"])
    assert fresh_feature["properties"]["stale"] is False
    assert silent_feature["properties"]["stale"] is True
    assert silent_feature["properties"]["age_seconds"] >= 900
    assert silent_feature["properties"]["driver_name"] == silent["name"]


async def test_positions_filter_by_hub_and_skip_inactive_drivers(api: Api) -> None:
    hub, other_hub = await api.hub(), await api.hub()
    here, there = await api.driver(hub["id"]), await api.driver(other_hub["id"])
    await send(await api.as_driver(here), [ping(5)])
    await send(await api.as_driver(there, "device-2"), [ping(5)], "device-2")
    response = await api.get("/v1/tracking/positions", params={"hub_id": hub["id"]})
    assert [f["id"] for f in response.json()["features"]] == [here["id"]]


async def test_only_staff_see_the_map(api: Api) -> None:
    hub = await api.hub()
    driver = await api.as_driver(await api.driver(hub["id"]))
    assert (await driver.get("/v1/tracking/positions")).status_code == 403
    dispatcher = await api.user("dispatcher")
    assert (await dispatcher.get("/v1/tracking/positions")).status_code == 200
    partner = await api.user("partner")
    assert (await partner.get("/v1/tracking/positions")).status_code == 403


async def test_track_is_a_linestring_in_time_order_within_the_range(api: Api) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    handheld = await api.as_driver(driver)
    await send(handheld, [ping(30, 13.43), ping(90, 13.41), ping(60, 13.42), ping(7200, 13.0)])
    start = iso(datetime.now(UTC) - timedelta(minutes=10))
    response = await api.get(f"/v1/drivers/{driver['id']}/track", params={"from": start})
    assert response.status_code == 200, response.text
    track = response.json()
    assert track["type"] == "Feature"
    assert track["geometry"]["type"] == "LineString"
    assert [c[0] for c in track["geometry"]["coordinates"]] == [13.41, 13.42, 13.43]
    assert track["properties"]["points"] == 3
    assert track["properties"]["from"] == start


async def test_a_track_with_one_fix_has_no_geometry(api: Api) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    await send(await api.as_driver(driver), [ping(30)])
    track = (await api.get(f"/v1/drivers/{driver['id']}/track")).json()
    assert track["geometry"] is None
    assert track["properties"]["points"] == 1


async def test_a_driver_reads_only_their_own_track(api: Api) -> None:
    hub = await api.hub()
    me, other = await api.driver(hub["id"]), await api.driver(hub["id"])
    mine = await api.as_driver(me)
    assert (await mine.get(f"/v1/drivers/{me['id']}/track")).status_code == 200
    response = await mine.get(f"/v1/drivers/{other['id']}/track")
    assert response.status_code == 404
    unknown = "0190b0a0-0000-7000-8000-000000000000"
    assert (await api.get(f"/v1/drivers/{unknown}/track")).status_code == 404


async def test_bad_track_ranges_are_422(api: Api) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    path = f"/v1/drivers/{driver['id']}/track"
    backwards = {"from": "2026-11-24T10:00:00Z", "to": "2026-11-24T09:00:00Z"}
    response = await api.get(path, params=backwards)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "from"
    too_long = {"from": "2026-11-01T00:00:00Z", "to": "2026-11-24T00:00:00Z"}
    assert (await api.get(path, params=too_long)).status_code == 422
    assert (await api.get(path, params={"from": "yesterday"})).status_code in (400, 422)
