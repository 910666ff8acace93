"""Organisations, API keys and what each key may see (the whole role matrix)."""

from tests.factories import Api, shipment_body
from tests.partners.support import key_for, organization, partner


async def test_a_key_is_shown_once_stored_hashed_and_listed_by_prefix(api: Api, db) -> None:
    org = await organization(api, "shipper", contact_email="ops@shop.example")
    created = await key_for(api, org["id"], name="production")
    assert created["key"].startswith("lmk_") and created["prefix"] in created["key"]
    assert created["scopes"] == ["shipments:read", "shipments:write", "webhooks:manage"]
    row = await db.fetchrow("SELECT prefix, secret_hash FROM api_keys")
    assert row["prefix"] == created["prefix"]
    assert created["key"].encode() not in bytes(row["secret_hash"])
    listed = (await api.get(f"/v1/organizations/{org['id']}/api-keys")).json()
    assert [k["prefix"] for k in listed] == [created["prefix"]]
    assert "key" not in listed[0] and listed[0]["last_used_at"] is None
    shipper = Api(api.client, created["key"], "shipper")
    assert (await shipper.get(f"/v1/organizations/{org['id']}")).status_code == 200
    listed = (await api.get(f"/v1/organizations/{org['id']}/api-keys")).json()
    assert listed[0]["last_used_at"] is not None


async def test_rotation_revocation_and_expiry(api: Api) -> None:
    org = await organization(api, "regional_courier")
    old, new = await key_for(api, org["id"]), await key_for(api, org["id"])
    old_api, new_api = Api(api.client, old["key"], "c"), Api(api.client, new["key"], "c")
    for client in (old_api, new_api):  # both live at once: rotation without downtime
        assert (await client.get("/v1/shipments")).status_code == 200
    revoked = await api.post(f"/v1/organizations/{org['id']}/api-keys/{old['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await old_api.get("/v1/shipments")).status_code == 401
    assert (await new_api.get("/v1/shipments")).status_code == 200
    expired = await api.patch(
        f"/v1/organizations/{org['id']}/api-keys/{new['id']}",
        {"expires_at": "2020-01-01T00:00:00Z"},
    )
    assert expired.status_code == 200
    assert (await new_api.get("/v1/shipments")).status_code == 401
    forged = Api(api.client, new["key"][:-2] + "xx", "c")
    assert (await forged.get("/v1/shipments")).status_code == 401
    for junk in ("lmk_", "lmk_abc", "lmk_" + "a" * 12 + "_" + "b" * 500, "lmk_\x00"):
        assert (await Api(api.client, junk, "c").get("/v1/shipments")).status_code == 401


async def test_scopes_limit_a_key(api: Api) -> None:
    hub = await api.hub()
    org = await organization(api, "shipper")
    reader = Api(api.client, (await key_for(api, org["id"], scopes=["shipments:read"]))["key"], "s")
    response = await reader.post("/v1/shipments", shipment_body(hub["id"]))
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"
    assert (await reader.get("/v1/shipments")).status_code == 200
    bad = await api.post(f"/v1/organizations/{org['id']}/api-keys", {"scopes": ["root"]})
    assert bad.status_code == 422


async def test_only_admins_manage_organizations(api: Api) -> None:
    dispatcher = await api.user("dispatcher")
    org, shipper = await partner(api, "shipper")
    body = {"name": "X", "kind": "shipper"}
    assert (await dispatcher.post("/v1/organizations", body)).status_code == 403
    assert (await shipper.post("/v1/organizations", body)).status_code == 403
    assert (await shipper.post(f"/v1/organizations/{org['id']}/api-keys")).status_code == 403
    other = await organization(api, "shipper")
    assert (await shipper.get(f"/v1/organizations/{other['id']}")).status_code == 404
    assert (await dispatcher.get(f"/v1/organizations/{other['id']}")).status_code == 200
    for bad in (
        {"name": "x", "kind": "bank"},
        {"name": "a\x00b", "kind": "shipper"},
        {"name": "x", "kind": "shipper", "capacity_per_day": 10**12},
        {"name": "x", "kind": "shipper", "service_area": {"type": "Polygon", "coordinates": []}},
    ):
        assert (await api.post("/v1/organizations", bad)).status_code in (400, 422), bad


async def test_shippers_and_carriers_see_only_their_own_shipments(api: Api) -> None:
    hub = await api.hub()
    _, shop_a = await partner(api, "shipper")
    _, shop_b = await partner(api, "shipper")
    carrier_a_org, carrier_a = await partner(api, "regional_courier")
    _, carrier_b = await partner(api, "cooperative")
    driver = await api.driver(hub["id"])
    driver_api = await api.as_driver(driver)
    dispatcher = await api.user("dispatcher")

    mine = await shop_a.created("/v1/shipments", shipment_body(hub["id"]))
    bulk = await shop_a.post("/v1/shipments/bulk", {"shipments": [shipment_body(hub["id"])]})
    assert bulk.status_code == 200 and len(bulk.json()["created"]) == 1
    theirs = await shop_b.created("/v1/shipments", shipment_body(hub["id"]))
    house = await api.shipment(hub["id"])
    handed = await api.post(
        f"/v1/shipments/{mine['id']}/handover", {"organization_id": carrier_a_org["id"]}
    )
    assert handed.status_code == 200 and handed.json()["status"] == "with_partner"

    def ids(response) -> set[str]:
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert mine["id"] in ids(await shop_a.get("/v1/shipments"))
    assert ids(await shop_b.get("/v1/shipments")) == {theirs["id"]}
    assert ids(await carrier_a.get("/v1/shipments")) == {mine["id"]}
    assert ids(await carrier_b.get("/v1/shipments")) == set()
    matrix = {
        shop_a: {mine["id"]: 200, theirs["id"]: 404, house["id"]: 404},
        shop_b: {mine["id"]: 404, theirs["id"]: 200, house["id"]: 404},
        carrier_a: {mine["id"]: 200, theirs["id"]: 404, house["id"]: 404},
        carrier_b: {mine["id"]: 404, theirs["id"]: 404, house["id"]: 404},
        driver_api: {mine["id"]: 404, theirs["id"]: 404, house["id"]: 404},
        dispatcher: {mine["id"]: 200, theirs["id"]: 200, house["id"]: 200},
        api: {mine["id"]: 200, theirs["id"]: 200, house["id"]: 200},
    }
    for client, expected in matrix.items():
        for shipment_id, status in expected.items():
            for path in (f"/v1/shipments/{shipment_id}", f"/v1/shipments/{shipment_id}/events"):
                response = await client.get(path)
                assert response.status_code == status, (client.role, path, response.text)
    # Carriers never create; drivers never create; shippers never hand over or cancel.
    assert (await carrier_a.post("/v1/shipments", shipment_body(hub["id"]))).status_code == 403
    assert (await driver_api.post("/v1/shipments", shipment_body(hub["id"]))).status_code == 403
    handover = {"organization_id": carrier_a_org["id"]}
    assert (
        await shop_b.post(f"/v1/shipments/{theirs['id']}/handover", handover)
    ).status_code == 403
    assert (await shop_a.post(f"/v1/shipments/{mine['id']}/cancel")).status_code == 403
    assert (await carrier_a.post("/v1/shipments/bulk", {"shipments": []})).status_code == 403


async def test_references_are_unique_per_shipper_and_lookups_find_one(api: Api) -> None:
    hub = await api.hub()
    _, shop_a = await partner(api, "shipper")
    _, shop_b = await partner(api, "shipper")
    body = shipment_body(hub["id"], reference="ORDER-1")
    first = await shop_a.created("/v1/shipments", body)
    again = await shop_a.post("/v1/shipments", shipment_body(hub["id"], reference="ORDER-1"))
    assert again.status_code == 409
    problem = again.json()
    assert problem["code"] == "reference_taken" and first["id"] in problem["detail"]
    assert problem["errors"][0]["existing_id"] == first["id"]
    # Another shipper may use the same reference.
    other = await shop_b.created("/v1/shipments", shipment_body(hub["id"], reference="ORDER-1"))
    bulk = await shop_a.post(
        "/v1/shipments/bulk",
        {
            "shipments": [
                shipment_body(hub["id"], reference="ORDER-1"),
                shipment_body(hub["id"], reference="ORDER-2"),
                shipment_body(hub["id"], reference="ORDER-2"),
            ]
        },
    )
    errors = bulk.json()["errors"]
    assert [(e["index"], e["status"], e["code"]) for e in errors] == [
        (0, 409, "reference_taken"),
        (2, 409, "reference_taken"),
    ]
    assert errors[0]["existing_id"] == first["id"]

    for query, expected in (
        ({"reference": "ORDER-1"}, {first["id"]}),
        ({"tracking_number": first["tracking_number"]}, {first["id"]}),
        ({"barcode": first["parcels"][0]["barcode"]}, {first["id"]}),
        ({"barcode": other["parcels"][0]["barcode"]}, set()),  # not shop A's
        ({"reference": "nope"}, set()),
    ):
        response = await shop_a.get("/v1/shipments", params=query)
        assert {s["id"] for s in response.json()["items"]} == expected, query
    staff = await api.get("/v1/shipments", params={"reference": "ORDER-1"})
    assert {s["id"] for s in staff.json()["items"]} == {first["id"], other["id"]}
    for query in ({"colour": "red"}, {"status": "lost"}, {"reference": ""}):
        response = await shop_a.get("/v1/shipments", params=query)
        assert response.status_code == 422, (query, response.text)
