"""Pull: snapshot, then every dispatch change as a delta, with a cursor that never skips."""

from tests.sync.factories import fleet


async def test_snapshot_has_routes_stops_and_shipments(api) -> None:
    f = await fleet(api, per_route=3)
    device = f.handhelds[0]
    page = await device.pull()
    assert page["snapshot"] is True and page["has_more"] is False
    kinds = sorted(entity for entity, _ in device.local)
    assert kinds == ["route"] + ["shipment"] * 3 + ["stop"] * 3
    shipment = device.local[("shipment", f.shipments[0][0]["id"])]
    assert shipment["barcodes"] == [f.shipments[0][0]["parcels"][0]["barcode"]]
    assert shipment["recipient"]["name"] == f.shipments[0][0]["recipient"]["name"]
    assert shipment["location"]["type"] == "Point"
    assert [device.local[("stop", s["id"])]["sequence"] for s in f.routes[0]["stops"]] == [1, 2, 3]


async def test_drafts_are_not_in_the_manifest(api) -> None:
    f = await fleet(api, per_route=2, publish=False)
    await f.handhelds[0].pull()
    assert f.handhelds[0].local == {}


async def test_dispatch_changes_arrive_as_deltas(api) -> None:
    f = await fleet(api, per_route=3)
    device, route = f.handhelds[0], f.routes[0]
    await device.pull()
    first, second, third = (s["id"] for s in f.shipments[0])
    extra = await api.shipment(f.hub["id"])
    response = await api.put(
        f"/v1/routes/{route['id']}/stops",
        {"stops": [{"shipment_id": sid} for sid in (third, extra["id"], first)]},
    )
    assert response.status_code == 200, response.text
    patched = await api.patch(f"/v1/shipments/{first}", {"notes": "Back door"})
    assert patched.status_code == 200, patched.text
    page = await device.pull()
    assert page["snapshot"] is False
    assert ("shipment", second) not in device.local
    assert device.local[("shipment", extra["id"])]["status"] == "created"
    assert device.local[("shipment", first)]["notes"] == "Back door"
    assert device.local == await device.snapshot()


async def test_reassign_removes_from_one_and_adds_to_the_other(api) -> None:
    f = await fleet(api, drivers=2, per_route=2)
    a, b = f.handhelds
    await a.pull()
    await b.pull()
    await api.post(f"/v1/routes/{f.routes[0]['id']}/reassign", {"driver_id": f.drivers[1]["id"]})
    await a.pull()
    await b.pull()
    assert a.local == {}
    assert ("route", f.routes[0]["id"]) in b.local
    assert b.local == await b.snapshot()


async def test_cancel_reaches_the_driver(api) -> None:
    f = await fleet(api, per_route=1)
    device, shipment = f.handhelds[0], f.shipments[0][0]
    await device.pull()
    await api.post(f"/v1/shipments/{shipment['id']}/cancel")
    await device.pull()
    assert device.local[("shipment", shipment["id"])]["status"] == "cancelled"


async def test_bad_or_foreign_cursors_ask_for_a_reset(api) -> None:
    f = await fleet(api, drivers=2, per_route=1)
    a, b = f.handhelds
    await a.pull()
    for cursor in ("garbage", "bTE6MTo5OTk5", b.cursor or "x"):
        page = (await a.api.get("/v1/sync/pull", params={"cursor": cursor})).json()
        assert page["reset_required"] is True, cursor


async def test_paging_by_limit_reaches_the_same_copy(api) -> None:
    f = await fleet(api, per_route=6)
    device = f.handhelds[0]
    await device.pull()
    ids = [s["id"] for s in f.shipments[0]]
    for order in (ids[::-1], ids[1:], ids):
        await api.put(
            f"/v1/routes/{f.routes[0]['id']}/stops", {"stops": [{"shipment_id": i} for i in order]}
        )
    await device.pull(limit=2)
    assert device.local == await device.snapshot()
