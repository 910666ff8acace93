"""A device is bound to one driver; dispatch lists and releases devices; sync state is per
(driver, device), and nothing one driver does moves another driver's acks, positions or cursors."""

import asyncio
import uuid

from litestar.testing import AsyncTestClient

from tests.auth.support import bearer, refresh, tokens_for
from tests.factories import Api
from tests.sync.factories import Handheld, fleet
from tests.tracking.support import feature_of, ping


async def test_a_device_is_bound_to_the_first_driver_who_signs_in_on_it(
    api: Api, client: AsyncTestClient
) -> None:
    hub = await api.hub()
    first, second = await api.driver(hub["id"]), await api.driver(hub["id"])
    await api.as_driver(first, "hh-shared")
    await api.as_driver(first, "hh-shared")  # again: still theirs
    response = await client.post(
        "/v1/auth/token",
        json={"email": second["email"], "password": "driver-password", "device_id": "hh-shared"},
    )
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "device_bound_to_other_driver"
    listed = (await api.get("/v1/devices", params={"device_id": "hh-shared"})).json()["items"]
    assert [(d["device_id"], d["driver_id"]) for d in listed] == [("hh-shared", first["id"])]


async def test_concurrent_first_sign_ins_on_one_device_bind_it_once(
    api: Api, client: AsyncTestClient
) -> None:
    hub = await api.hub()
    drivers = [await api.driver(hub["id"]) for _ in range(4)]
    answers = await asyncio.gather(
        *(
            client.post(
                "/v1/auth/token",
                json={"email": d["email"], "password": "driver-password", "device_id": "hh-race"},
            )
            for d in drivers
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409]
    listed = (await api.get("/v1/devices", params={"device_id": "hh-race"})).json()["items"]
    winner = drivers[[a.status_code for a in answers].index(200)]
    assert [d["driver_id"] for d in listed] == [winner["id"]]


async def test_releasing_a_device_ends_its_drivers_sessions_on_it_and_frees_it(
    api: Api, client: AsyncTestClient
) -> None:
    hub = await api.hub()
    first, second = await api.driver(hub["id"]), await api.driver(hub["id"])
    on_device = await tokens_for(client, first["email"], "driver-password", "hh-lost")
    elsewhere = await api.as_driver(first, "hh-other")
    device = (await api.get("/v1/devices", params={"driver_id": first["id"]})).json()["items"]
    lost = next(d for d in device if d["device_id"] == "hh-lost")

    assert (await api.post(f"/v1/devices/{lost['id']}/release")).status_code == 204
    ended = await bearer(client, on_device).get("/v1/sync/pull")
    assert ended.status_code == 401 and ended.json()["code"] == "token_revoked"
    assert (await refresh(client, on_device["refresh_token"])).status_code == 401
    assert (await elsewhere.get("/v1/sync/pull")).status_code == 200  # other devices untouched
    assert (await api.post(f"/v1/devices/{lost['id']}/release")).status_code == 404

    now_second = await api.as_driver(second, "hh-lost")
    assert (await now_second.get("/v1/sync/pull")).status_code == 200
    again = await client.post(
        "/v1/auth/token",
        json={"email": first["email"], "password": "driver-password", "device_id": "hh-lost"},
    )
    assert again.json()["code"] == "device_bound_to_other_driver"


async def test_a_token_of_a_device_now_bound_to_another_driver_is_refused(
    api: Api, client: AsyncTestClient, db
) -> None:
    """Even if a session outlived the release (made before sessions were tied to devices)."""
    hub = await api.hub()
    first, second = await api.driver(hub["id"]), await api.driver(hub["id"])
    tokens = await tokens_for(client, first["email"], "driver-password", "hh-moved")
    await db.execute(
        "UPDATE devices SET driver_id = $1 WHERE device_id = 'hh-moved'", uuid.UUID(second["id"])
    )
    app_cache = client.app.state.subjects
    app_cache.forget([uuid.UUID(first["user_id"])])
    response = await bearer(client, tokens).get("/v1/sync/pull")
    assert response.status_code == 409
    assert response.json()["code"] == "device_bound_to_other_driver"
    refreshed = await refresh(client, tokens["refresh_token"])
    assert refreshed.status_code == 409
    await db.execute("DELETE FROM devices WHERE device_id = 'hh-moved'")
    app_cache.forget([uuid.UUID(first["user_id"])])
    released = await bearer(client, tokens).get("/v1/sync/pull")
    assert released.status_code == 401 and released.json()["code"] == "device_released"


async def test_only_staff_list_and_release_devices(api: Api) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    handheld = await api.as_driver(driver, "hh-1")
    dispatcher = await api.user("dispatcher")
    partner = await api.user("partner")
    device = (await dispatcher.get("/v1/devices")).json()["items"][0]
    for caller in (handheld, partner):
        assert (await caller.get("/v1/devices")).status_code == 403
        assert (await caller.post(f"/v1/devices/{device['id']}/release")).status_code == 403
    assert (await api.post(f"/v1/devices/{uuid.uuid4()}/release")).status_code == 404
    bad = await api.get("/v1/devices", params={"device_id": "x" * 500})
    assert bad.status_code in (400, 422)
    assert bad.json()["errors"][0]["field"] == "device_id"
    assert (await api.get("/v1/devices", params={"driver_id": "nope"})).status_code in (400, 422)
    assert (await dispatcher.post(f"/v1/devices/{device['id']}/release")).status_code == 204


async def test_acks_are_kept_per_driver_and_device(api: Api, db) -> None:
    f = await fleet(api, drivers=2, per_route=1)
    first, second = f.handhelds
    shipment = f.shipments[0][0]["id"]
    pushed = await first.push(
        [first.event("scanned_out", i, shipment_id=shipment) for i in range(3)]
    )
    assert pushed["ack_seq"] == 3
    # The first driver's device is released and handed to the second driver.
    device = (await api.get("/v1/devices", params={"device_id": first.device_id})).json()
    await api.post(f"/v1/devices/{device['items'][0]['id']}/release")
    handed = Handheld(await api.as_driver(f.drivers[1], first.device_id), first.device_id)
    answer = await handed.push([handed.event("note", 1, data={"text": "mine now"})])
    assert answer["ack_seq"] == 1  # their own count, not the first driver's 3
    rows = await db.fetch(
        "SELECT driver_id::text, ack_seq FROM device_sync WHERE device_id = $1", first.device_id
    )
    assert {r["driver_id"]: r["ack_seq"] for r in rows} == {
        f.drivers[0]["id"]: 3,
        f.drivers[1]["id"]: 1,
    }
    assert second.device_id != first.device_id


async def test_no_driver_moves_another_drivers_acks_positions_or_cursors(api: Api, db) -> None:
    f = await fleet(api, drivers=2, per_route=1)
    victim, attacker = f.handhelds
    victim_shipment = f.shipments[0][0]["id"]
    await victim.push([victim.event("scanned_out", 0, shipment_id=victim_shipment)])
    await victim.api.post("/v1/tracking/pings", {"device_id": victim.device_id, "pings": [ping(5)]})
    await victim.pull()
    before_ack = await db.fetchval(
        "SELECT ack_seq FROM device_sync WHERE device_id = $1", victim.device_id
    )
    before_position = await feature_of(api, f.drivers[0]["id"])
    before_version = await db.fetchval(
        "SELECT version FROM driver_sync WHERE driver_id = $1", uuid.UUID(f.drivers[0]["id"])
    )

    # The attacker pushes and pings as the victim's device, and signs in on it.
    hijack = {"device_id": victim.device_id, "batch_id": str(uuid.uuid4())}
    events = [attacker.event("scanned_out", 0, shipment_id=victim_shipment) for _ in range(5)]
    pushed = await attacker.api.post("/v1/sync/push", hijack | {"events": events})
    assert pushed.status_code in (409, 422) and pushed.json()["code"] in (
        "device_mismatch",
        "device_bound_to_other_driver",
    )
    pinged = await attacker.api.post(
        "/v1/tracking/pings",
        {"device_id": victim.device_id, "pings": [ping(1, lon=0.0, lat=0.0)]},
    )
    assert pinged.status_code in (409, 422)
    signed = await api.client.post(
        "/v1/auth/token",
        json={
            "email": f.drivers[1]["email"],
            "password": "driver-password",
            "device_id": victim.device_id,
        },
    )
    assert signed.status_code == 409
    # Its own pushes, pings and pulls, even with the victim's cursor, touch only its own state.
    await attacker.push([attacker.event("scanned_out", 0, shipment_id=f.shipments[1][0]["id"])])
    await send_ping(attacker)
    stolen = await attacker.api.get("/v1/sync/pull", params={"cursor": victim.cursor})
    assert stolen.status_code == 200
    assert all(c["id"] != victim_shipment for c in stolen.json()["changes"])
    # A replay of the victim's batch id by the attacker is refused.
    victim_batch = await db.fetchval(
        "SELECT batch_id::text FROM push_batches WHERE device_id = $1 LIMIT 1", victim.device_id
    )
    replay = await attacker.push_raw([], batch_id=victim_batch)
    assert replay.status_code == 422

    assert (
        await db.fetchval("SELECT ack_seq FROM device_sync WHERE device_id = $1", victim.device_id)
        == before_ack
    )
    assert await feature_of(api, f.drivers[0]["id"]) == before_position
    assert (
        await db.fetchval(
            "SELECT version FROM driver_sync WHERE driver_id = $1", uuid.UUID(f.drivers[0]["id"])
        )
        == before_version
    )
    rows = await db.fetch(
        "SELECT DISTINCT driver_id::text FROM device_sync WHERE device_id = $1", victim.device_id
    )
    assert [r["driver_id"] for r in rows] == [f.drivers[0]["id"]]


async def send_ping(handheld: Handheld) -> None:
    response = await handheld.api.post(
        "/v1/tracking/pings", {"device_id": handheld.device_id, "pings": [ping(2)]}
    )
    assert response.status_code == 200, response.text


async def test_device_ids_with_control_characters_or_too_long_are_refused(
    api: Api, client: AsyncTestClient, db
) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    for device_id in ("hh\x00nul", "hh\nnewline", "", "x" * 129, 12):
        response = await client.post(
            "/v1/auth/token",
            json={"email": driver["email"], "password": "driver-password", "device_id": device_id},
        )
        assert response.status_code in (400, 422), repr(device_id)
        assert response.json()["errors"][0]["field"] == "device_id"
    listed = await api.get("/v1/devices", params={"device_id": "hh\x00nul"})
    assert listed.status_code in (400, 422)
    assert await db.fetchval("SELECT count(*) FROM devices") == 0
    sessions = "SELECT count(*) FROM auth_sessions WHERE user_id = $1"
    assert await db.fetchval(sessions, uuid.UUID(driver["user_id"])) == 0
