"""Shapes no delivery network has: 3-D positions, whole-world zones, absurd areas, and the
antimeridian (RFC 7946 §3.1.9)."""

import pytest

from tests.factories import CENTER, Api, point, shipment_body, square


def field_of(response) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()["errors"][0]["field"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/hubs", {"name": "H", "code": "H3D", "location": point(13.4, 52.5)}),
        ("/v1/pickup-points", {"name": "P", "location": point(13.4, 52.5)}),
    ],
)
async def test_a_third_coordinate_is_refused_on_points(api: Api, path: str, body: dict) -> None:
    body["location"] = {"type": "Point", "coordinates": [13.4, 52.5, 34.0]}
    assert field_of(await api.post(path, body)) == "location.coordinates"


async def test_a_third_coordinate_is_refused_on_shipments_and_zones(api: Api) -> None:
    hub = await api.hub()
    body = shipment_body(hub["id"], location={"type": "Point", "coordinates": [13.4, 52.5, 0]})
    assert field_of(await api.post("/v1/shipments", body)) == "location.coordinates"
    ring = [[lon, lat, 10.0] for lon, lat in square(*CENTER, 0.01)["coordinates"][0]]
    zone = {"name": "Z", "hub_id": hub["id"], "area": {"type": "Polygon", "coordinates": [ring]}}
    assert field_of(await api.post("/v1/zones", zone)).startswith("area.coordinates")
    bulk = await api.post("/v1/shipments/bulk", {"shipments": [body]})
    assert bulk.json()["errors"][0]["errors"][0]["field"] == "location.coordinates"


async def test_a_whole_world_zone_is_refused(api: Api) -> None:
    hub = await api.hub()
    world = [[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]
    half = [[-180, -89], [0, -89], [0, 89], [-180, 89], [-180, -89]]
    for ring in (world, half):
        zone = {
            "name": "W",
            "hub_id": hub["id"],
            "area": {"type": "Polygon", "coordinates": [ring]},
        }
        assert field_of(await api.post("/v1/zones", zone)).startswith("area")


async def test_a_zone_of_absurd_area_is_refused_with_its_size(api: Api) -> None:
    hub = await api.hub()
    zone = {"name": "Big", "hub_id": hub["id"], "area": square(*CENTER, 2.0)}  # ~120,000 km²
    response = await api.post("/v1/zones", zone)
    assert field_of(response) == "area"
    assert response.json()["code"] == "zone_too_large"
    assert "km²" in response.json()["detail"]
    ok = {"name": "City", "hub_id": hub["id"], "area": square(*CENTER, 0.5)}  # ~7,500 km²
    assert (await api.post("/v1/zones", ok)).status_code == 201


async def test_a_zone_crossing_the_antimeridian_is_refused_unless_cut_there(api: Api) -> None:
    hub = await api.hub(location=point(179.9, -16.5))
    crossing = [[179.5, -17], [-179.5, -17], [-179.5, -16], [179.5, -16], [179.5, -17]]
    zone = {
        "name": "Fiji",
        "hub_id": hub["id"],
        "area": {"type": "Polygon", "coordinates": [crossing]},
    }
    response = await api.post("/v1/zones", zone)
    assert field_of(response).startswith("area")
    assert "antimeridian" in response.json()["detail"]
    cut = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[179.5, -17], [180, -17], [180, -16], [179.5, -16], [179.5, -17]]],
            [[[-180, -17], [-179.5, -17], [-179.5, -16], [-180, -16], [-180, -17]]],
        ],
    }
    created = await api.created("/v1/zones", zone | {"area": cut})
    east = await api.shipment(hub["id"], location=point(179.8, -16.5))
    west = await api.shipment(hub["id"], location=point(-179.8, -16.5))
    far = await api.shipment(hub["id"], location=point(0.0, -16.5))
    assert east["zone_id"] == west["zone_id"] == created["id"]
    assert far["zone_id"] is None


async def test_coordinates_given_as_strings_are_refused_everywhere(api: Api) -> None:
    hub = await api.hub()
    as_text = {"type": "Point", "coordinates": ["13.4", "52.5"]}
    hub_body = {"name": "H", "code": "HSTR", "location": as_text}
    assert field_of(await api.post("/v1/hubs", hub_body)) == "location"
    assert field_of(await api.post("/v1/pickup-points", {"name": "P", "location": as_text}))
    shipment = shipment_body(hub["id"], location=as_text)
    assert field_of(await api.post("/v1/shipments", shipment)) == "location"
    bulk = (await api.post("/v1/shipments/bulk", {"shipments": [shipment]})).json()
    assert bulk["created"] == [] and bulk["errors"][0]["errors"][0]["field"] == "location"
    ring = [[str(lon), lat] for lon, lat in square(*CENTER, 0.01)["coordinates"][0]]
    zone = {"name": "Z", "hub_id": hub["id"], "area": {"type": "Polygon", "coordinates": [ring]}}
    assert field_of(await api.post("/v1/zones", zone)).startswith("area")
    booleans = {"type": "Point", "coordinates": [True, 52.5]}
    assert field_of(await api.post("/v1/pickup-points", {"name": "P", "location": booleans}))


async def test_the_schema_documents_positions_as_two_numbers(api: Api) -> None:
    schema = (await api.client.get("/schema/openapi.json")).json()
    position = schema["components"]["schemas"]["Point"]["properties"]["coordinates"]
    assert position["items"] == {"type": "number"}
    assert (position["minItems"], position["maxItems"]) == (2, 2)
