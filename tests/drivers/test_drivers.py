from tests.factories import Api


async def test_create_driver_with_vehicle_and_account(api: Api) -> None:
    hub = await api.hub()
    driver = await api.driver(
        hub["id"],
        phone="+49 170 0000000",
        vehicle={"kind": "van", "capacity_parcels": 180, "capacity_kg": 800.5},
        employment="courier",
    )
    assert driver["vehicle"] == {"kind": "van", "capacity_parcels": 180, "capacity_kg": 800.5}
    assert driver["employment"] == "courier"
    assert driver["active"] is True
    assert "password" not in driver
    handheld = await api.as_driver(driver)
    assert handheld.role == "driver"
    fetched = (await api.get(f"/v1/drivers/{driver['id']}")).json()
    assert fetched == driver


async def test_driver_needs_a_known_hub_and_valid_fields(api: Api) -> None:
    response = await api.post(
        "/v1/drivers",
        {
            "name": "A",
            "email": "a@test.lastmile",
            "password": "driver-password",
            "home_hub_id": "0190a0a0-0000-7000-8000-000000000000",
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "home_hub_id"
    hub = await api.hub()
    short = await api.post(
        "/v1/drivers",
        {"name": "A", "email": "a@test.lastmile", "password": "short", "home_hub_id": hub["id"]},
    )
    assert short.status_code == 422
    assert short.json()["errors"][0]["field"] == "password"


async def test_list_filters_active_drivers(api: Api) -> None:
    hub = await api.hub()
    keep = await api.driver(hub["id"])
    gone = await api.driver(hub["id"])
    await api.post(f"/v1/drivers/{gone['id']}/deactivate")
    active = (await api.get("/v1/drivers", params={"active": "true"})).json()["items"]
    assert [d["id"] for d in active] == [keep["id"]]
    everyone = (await api.get("/v1/drivers", params={"hub_id": hub["id"]})).json()["items"]
    assert {d["id"] for d in everyone} == {keep["id"], gone["id"]}
