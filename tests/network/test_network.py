from tests.factories import CENTER, Api, point, square


async def test_hub_zone_pickup_point_round_trip(api: Api) -> None:
    hub = await api.hub(address={"line1": "Dock 1"})
    assert hub["location"] == point(*CENTER)
    zone = await api.zone(hub["id"])
    assert zone["area"]["type"] == "Polygon"
    pickup = await api.created(
        "/v1/pickup-points",
        {"name": "Kiosk", "location": point(13.401, 52.501), "hub_id": hub["id"]},
    )
    assert pickup["hub_id"] == hub["id"]
    listed = (await api.get("/v1/zones", params={"hub_id": hub["id"]})).json()
    assert [z["id"] for z in listed["items"]] == [zone["id"]]
    assert listed["next_cursor"] is None


async def test_self_intersecting_zone_is_422_naming_the_field(api: Api) -> None:
    hub = await api.hub()
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    response = await api.post("/v1/zones", {"name": "bad", "hub_id": hub["id"], "area": bowtie})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["errors"][0]["field"] == "area"
    assert "Self-intersection" in body["errors"][0]["message"]


async def test_out_of_range_and_wrong_type_geometry_are_422(api: Api) -> None:
    bad_lat = await api.post("/v1/hubs", {"name": "x", "code": "X1", "location": point(13.0, 95.0)})
    assert bad_lat.status_code == 422
    assert bad_lat.json()["errors"][0]["field"] == "location"
    wrong_type = await api.post(
        "/v1/hubs", {"name": "x", "code": "X2", "location": square(13.0, 52.0, 0.1)}
    )
    assert wrong_type.status_code == 422
    assert wrong_type.json()["errors"][0]["field"].startswith("location")


async def test_pagination_walks_every_hub_once(api: Api) -> None:
    ids = {(await api.hub())["id"] for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/v1/hubs", params=params)).json()
        seen += [hub["id"] for hub in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
