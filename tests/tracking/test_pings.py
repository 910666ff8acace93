"""Ping ingest: storage, ordering, replays, limits and who may send."""

import random
import uuid

from tests.factories import Api
from tests.sync.factories import Handheld, at
from tests.tracking.support import feature_of, ping, send


async def _driver(api: Api) -> tuple[dict, Api]:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    return driver, await api.as_driver(driver)


async def test_pings_are_stored_and_the_latest_position_is_the_newest(api: Api, db) -> None:
    driver, handheld = await _driver(api)
    result = await send(
        handheld,
        [ping(30, 13.41, 52.51, accuracy_m=5, speed_mps=8.5, heading=90), ping(60, 13.40, 52.50)],
    )
    assert result == {"accepted": 2, "duplicates": 0, "ignored": 0}
    assert (
        await db.fetchval(
            "SELECT count(*) FROM positions WHERE driver_id = $1", uuid.UUID(driver["id"])
        )
        == 2
    )
    feature = await feature_of(api, driver["id"])
    assert feature["geometry"] == {"type": "Point", "coordinates": [13.41, 52.51]}
    assert feature["properties"]["speed_mps"] == 8.5
    assert feature["properties"]["heading"] == 90
    assert feature["properties"]["stale"] is False


async def test_a_late_ping_never_moves_the_latest_position_backwards(api: Api, db) -> None:
    driver, handheld = await _driver(api)
    await send(handheld, [ping(10, 13.42, 52.52)])
    late = await send(handheld, [ping(120, 13.30, 52.40), ping(90, 13.31, 52.41)])
    assert late["accepted"] == 2
    feature = await feature_of(api, driver["id"])
    assert feature["geometry"]["coordinates"] == [13.42, 52.52]
    # ...but the late fixes are in the history
    assert await db.fetchval("SELECT count(*) FROM positions") == 3


async def test_replayed_pings_are_duplicates_and_change_nothing(api: Api, db) -> None:
    _, handheld = await _driver(api)
    pings = [ping(20), ping(10, 13.5, 52.6)]
    await send(handheld, pings)
    again = await send(handheld, pings)
    assert again == {"accepted": 0, "duplicates": 2, "ignored": 0}
    assert await db.fetchval("SELECT count(*) FROM positions") == 2


async def test_pings_outside_the_kept_range_are_ignored(api: Api) -> None:
    _, handheld = await _driver(api)
    too_old = ping(40 * 86400)  # retention is 30 days
    future = ping(-3600)
    result = await send(handheld, [too_old, future, ping(5)])
    assert result == {"accepted": 1, "duplicates": 0, "ignored": 2}


async def test_bad_pings_answer_422_naming_the_field(api: Api) -> None:
    _, handheld = await _driver(api)
    response = await handheld.post(
        "/v1/tracking/pings", {"device_id": "device-1", "pings": [ping(5), ping(5, lat=95)]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "pings[1].lat"
    naive = ping(5) | {"at": "2026-11-24T10:00:00"}
    response = await handheld.post(
        "/v1/tracking/pings", {"device_id": "device-1", "pings": [naive]}
    )
    assert response.status_code == 422
    response = await handheld.post("/v1/tracking/pings", {"device_id": "device-1", "pings": []})
    assert response.status_code == 422


async def test_more_than_the_limit_per_call_is_413(api: Api) -> None:
    _, handheld = await _driver(api)
    pings = [ping(i * 0.5) for i in range(1001)]
    response = await handheld.post("/v1/tracking/pings", {"device_id": "device-1", "pings": pings})
    assert response.status_code == 413
    assert response.json()["code"] == "too_many_pings"


async def test_only_the_bound_device_of_a_driver_may_send(api: Api) -> None:
    driver, handheld = await _driver(api)
    response = await handheld.post(
        "/v1/tracking/pings", {"device_id": "someone-else", "pings": [ping(1)]}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "device_mismatch"
    dispatcher = await api.user("dispatcher")
    response = await dispatcher.post(
        "/v1/tracking/pings", {"device_id": "device-1", "pings": [ping(1)]}
    )
    assert response.status_code == 403
    no_device = await api.as_driver(driver, device_id=None)
    response = await no_device.post(
        "/v1/tracking/pings", {"device_id": "device-1", "pings": [ping(1)]}
    )
    assert response.status_code == 403


async def test_location_events_in_a_push_batch_become_positions(api: Api, db) -> None:
    driver, handheld_api = await _driver(api)
    handheld = Handheld(handheld_api, "device-1")
    event = handheld.event("location", location={"lon": 13.45, "lat": 52.55, "accuracy_m": 7})
    event["data"] = {"speed_mps": 4.0}
    result = await handheld.push([event])
    assert result["results"][0]["status"] == "accepted"
    feature = await feature_of(api, driver["id"])
    assert feature["geometry"]["coordinates"] == [13.45, 52.55]
    assert feature["properties"]["accuracy_m"] == 7
    assert feature["properties"]["speed_mps"] == 4.0
    assert feature["properties"]["at"].startswith(at(handheld.t0)[:19])


async def test_any_arrival_order_and_split_ends_at_the_newest_fix(api: Api, db) -> None:
    """Shuffled, split into random batches, partly replayed: the latest position is always the
    newest fix and the history holds each fix once."""
    hub = await api.hub()
    for seed in range(5):
        rng = random.Random(seed)
        driver = await api.driver(hub["id"])
        handheld = await api.as_driver(driver, f"device-{seed}")
        pings = [ping(600 - 10 * n, 13.40 + n / 1000, 52.50) for n in range(30)]
        arrival = pings + rng.sample(pings, 5)  # some arrive twice
        rng.shuffle(arrival)
        while arrival:
            size = rng.randint(1, 8)
            await send(handheld, arrival[:size], f"device-{seed}")
            arrival = arrival[size:]
        feature = await feature_of(api, driver["id"])
        assert feature["geometry"]["coordinates"] == [pings[-1]["lon"], pings[-1]["lat"]]
        stored = await db.fetchval(
            "SELECT count(*) FROM positions WHERE driver_id = $1", uuid.UUID(driver["id"])
        )
        assert stored == 30
