from litestar.testing import AsyncTestClient

from backend.app import create_app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings
from tests.factories import CENTER, Api, shipment_body, square


async def test_create_finds_the_zone_and_starts_the_event_log(api: Api) -> None:
    hub = await api.hub()
    zone = await api.zone(hub["id"], area=square(*CENTER, 0.01))
    body = shipment_body(
        hub["id"],
        window={"start": "2026-11-23T09:00:00Z", "end": "2026-11-23T11:00:00+00:00"},
        service_level="express",
        requirements={"signature": True, "min_age": 18},
        notes="Ring twice",
    )
    shipment = await api.created("/v1/shipments", body)
    assert shipment["status"] == "created"
    assert shipment["zone_id"] == zone["id"]
    assert shipment["outside_zones"] is False
    assert shipment["tracking_number"].startswith("LM")
    assert len(shipment["tracking_token"]) >= 32
    assert shipment["requirements"] == {"signature": True, "min_age": 18}
    assert shipment["window"] == {"start": "2026-11-23T09:00:00Z", "end": "2026-11-23T11:00:00Z"}
    events = (await api.get(f"/v1/shipments/{shipment['id']}/events")).json()["items"]
    assert [(e["type"], e["source"]) for e in events] == [("created", "dispatch")]


async def test_outside_every_zone_is_null_and_flagged(api: Api) -> None:
    hub = await api.hub()
    await api.zone(hub["id"])
    shipment = await api.shipment(hub["id"], lon=2.35, lat=48.85)
    assert shipment["zone_id"] is None
    assert shipment["outside_zones"] is True


async def test_malformed_bodies_name_the_field(api: Api) -> None:
    hub = await api.hub()
    cases = {
        "location": shipment_body(hub["id"], location={"type": "Point", "coordinates": [181, 0]}),
        "parcels": shipment_body(hub["id"], parcels=[]),
        "address.country": shipment_body(
            hub["id"], address={"line1": "x", "city": "y", "postal_code": "1", "country": "Germany"}
        ),
        "window": shipment_body(
            hub["id"], window={"start": "2026-11-23T11:00:00Z", "end": "2026-11-23T09:00:00Z"}
        ),
        "service_level": shipment_body(hub["id"], service_level="rocket"),
        "hub_id": shipment_body("0190a0a0-0000-7000-8000-000000000000"),
    }
    for field, body in cases.items():
        response = await api.post("/v1/shipments", body)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["errors"][0]["field"] == field, response.json()
    unknown = await api.post("/v1/shipments", shipment_body(hub["id"], colour="red"))
    assert unknown.status_code in (400, 422)
    not_json = await api.client.post(
        "/v1/shipments",
        content=b"{not json",
        headers=api.headers | {"content-type": "application/json"},
    )
    assert not_json.status_code == 400
    assert not_json.headers["content-type"].startswith("application/problem+json")


async def test_barcodes_are_unique(api: Api) -> None:
    hub = await api.hub()
    first = await api.shipment(hub["id"])
    barcode = first["parcels"][0]["barcode"]
    again = await api.post(
        "/v1/shipments", shipment_body(hub["id"], parcels=[{"barcode": barcode}])
    )
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "parcels[0].barcode"


async def test_bulk_stores_good_rows_and_reports_bad_ones(api: Api, db) -> None:
    hub = await api.hub()
    rows = [shipment_body(hub["id"]) for _ in range(6)]
    rows[1]["location"] = {"type": "Point", "coordinates": [0, 100]}
    rows[3]["parcels"] = rows[2]["parcels"]  # same barcode twice in one batch
    rows[4] = {"hub_id": hub["id"]}
    response = await api.post("/v1/shipments/bulk", {"shipments": rows})
    assert response.status_code == 200
    result = response.json()
    assert [c["index"] for c in result["created"]] == [0, 2, 5]
    errors = {e["index"]: e for e in result["errors"]}
    assert sorted(errors) == [1, 3, 4]
    assert errors[1]["status"] == 422 and errors[1]["errors"][0]["field"] == "location"
    assert errors[3]["status"] == 409 and errors[3]["errors"][0]["field"] == "parcels[0].barcode"
    assert errors[4]["status"] == 422
    assert errors[4]["errors"][0]["field"] == "recipient"
    assert await db.fetchval("SELECT count(*) FROM shipments") == 3
    assert await db.fetchval("SELECT count(*) FROM shipment_events WHERE type = 'created'") == 3


async def test_bulk_limit_is_enforced(database: str) -> None:
    app = create_app(make_settings(bulk_max_shipments=2))
    async with AsyncTestClient(app=app) as client:
        api = await Api.sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
        hub = await api.hub()
        too_many = await api.post(
            "/v1/shipments/bulk", {"shipments": [shipment_body(hub["id"]) for _ in range(3)]}
        )
        assert too_many.status_code == 422
        assert too_many.json()["errors"][0]["field"] == "shipments"
        empty = await api.post("/v1/shipments/bulk", {"shipments": []})
        assert empty.status_code == 422
        assert empty.json()["errors"][0]["field"] == "shipments"


async def test_list_filters_and_pages(api: Api) -> None:
    hub = await api.hub()
    other = await api.hub()
    ids = [(await api.shipment(hub["id"]))["id"] for _ in range(3)]
    await api.shipment(other["id"])
    page = (await api.get("/v1/shipments", params={"hub_id": hub["id"], "limit": 2})).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = (
        await api.get("/v1/shipments", params={"hub_id": hub["id"], "cursor": page["next_cursor"]})
    ).json()
    assert [s["id"] for s in page["items"] + rest["items"]] == ids
    assert rest["next_cursor"] is None
    created = (await api.get("/v1/shipments", params={"status": "created"})).json()["items"]
    assert len(created) == 4
    bad = await api.get("/v1/shipments", params={"cursor": "%%%"})
    assert bad.status_code == 422


async def test_patch_changes_fields_records_an_event_and_moves_zone(api: Api) -> None:
    hub = await api.hub()
    zone = await api.zone(hub["id"])
    shipment = await api.shipment(hub["id"], lon=2.35, lat=48.85)
    response = await api.patch(
        f"/v1/shipments/{shipment['id']}",
        {"location": {"type": "Point", "coordinates": list(CENTER)}, "notes": "Gate code 1234"},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["zone_id"] == zone["id"]
    assert updated["notes"] == "Gate code 1234"
    assert updated["address"] == shipment["address"]
    cleared = (await api.patch(f"/v1/shipments/{shipment['id']}", {"notes": None})).json()
    assert cleared["notes"] is None
    events = (await api.get(f"/v1/shipments/{shipment['id']}/events")).json()["items"]
    assert [e["type"] for e in events] == ["created", "updated", "updated"]
    assert set(events[1]["data"]["changed"]) == {"location", "notes"}


async def test_cancel_then_no_more_edits(api: Api) -> None:
    hub = await api.hub()
    shipment = await api.shipment(hub["id"])
    cancelled = await api.post(
        f"/v1/shipments/{shipment['id']}/cancel", {"reason": "duplicate order"}
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert (await api.patch(f"/v1/shipments/{shipment['id']}", {"notes": "x"})).status_code == 409
    assert (await api.post(f"/v1/shipments/{shipment['id']}/cancel")).status_code == 409


async def test_delivered_shipment_cannot_be_edited(api: Api, db) -> None:
    hub = await api.hub()
    shipment = await api.shipment(hub["id"])
    await db.execute("UPDATE shipments SET status = 'delivered' WHERE id = $1", shipment["id"])
    response = await api.patch(f"/v1/shipments/{shipment['id']}", {"notes": "late"})
    assert response.status_code == 409
    assert response.json()["code"] == "shipment_closed"


async def test_unknown_shipment_is_404(api: Api) -> None:
    missing = "0190a0a0-0000-7000-8000-000000000000"
    assert (await api.get(f"/v1/shipments/{missing}")).status_code == 404
    assert (await api.get(f"/v1/shipments/{missing}/events")).status_code == 404
    assert (await api.post(f"/v1/shipments/{missing}/cancel")).status_code == 404
