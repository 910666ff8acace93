import asyncio
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from sqlalchemy import event

from backend.manifests.repository import ManifestRepository
from tests.factories import Api, shipment_body
from tests.manifests.support import Depot, fields_of

UNKNOWN = "01890000-0000-7000-8000-000000000000"


def _body(depot: Depot, shipment_ids: list[str], **overrides: Any) -> dict[str, Any]:
    return {
        "driver_id": depot.driver["id"],
        "hub_id": depot.hub["id"],
        "date": "2026-12-01",
        "stops": [{"shipment_id": shipment_id} for shipment_id in shipment_ids],
    } | overrides


async def test_unknown_shipment_is_422_naming_the_stop(
    api: Api, depot: Depot, db: asyncpg.Pool
) -> None:
    response = await api.post("/v1/routes", _body(depot, [depot.shipments[0], UNKNOWN]))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "unknown_shipment"
    assert fields_of(response) == ["stops[1].shipment_id"]
    assert await db.fetchval("SELECT count(*) FROM routes") == 0


async def test_duplicate_shipment_in_the_list_is_422(api: Api, depot: Depot) -> None:
    a, b = depot.shipments[:2]
    response = await api.post("/v1/routes", _body(depot, [a, b, a]))
    assert response.status_code == 422
    assert response.json()["code"] == "duplicate_shipment"
    assert fields_of(response) == ["stops[2].shipment_id"]
    route = await api.route(depot.driver["id"], depot.hub["id"], [a])
    put = await api.put(
        f"/v1/routes/{route['id']}/stops", {"stops": [{"shipment_id": b}, {"shipment_id": b}]}
    )
    assert put.status_code == 422
    assert fields_of(put) == ["stops[1].shipment_id"]


async def test_unknown_driver_inactive_driver_and_unknown_hub_are_422(
    api: Api, depot: Depot
) -> None:
    unknown_driver = await api.post("/v1/routes", _body(depot, [], driver_id=UNKNOWN))
    assert unknown_driver.status_code == 422
    assert fields_of(unknown_driver) == ["driver_id"]
    unknown_hub = await api.post("/v1/routes", _body(depot, [], hub_id=UNKNOWN))
    assert unknown_hub.status_code == 422
    assert fields_of(unknown_hub) == ["hub_id"]
    await api.post(f"/v1/drivers/{depot.driver['id']}/deactivate")
    inactive = await api.post("/v1/routes", _body(depot, []))
    assert inactive.status_code == 422
    assert inactive.json()["code"] == "driver_inactive"


async def test_malformed_bodies_are_422(api: Api, depot: Depot) -> None:
    extra = await api.post("/v1/routes", _body(depot, []) | {"colour": "red"})
    assert extra.status_code in (400, 422)
    bad_id = await api.post("/v1/routes", _body(depot, []) | {"stops": [{"shipment_id": "x"}]})
    assert bad_id.status_code == 422
    assert fields_of(bad_id) == ["stops[0].shipment_id"]


async def test_shipment_on_another_active_route_is_409_naming_the_stop(
    api: Api, depot: Depot
) -> None:
    a, b, c = depot.shipments[:3]
    first = await api.route(depot.driver["id"], depot.hub["id"], [a, b])
    response = await api.post(
        "/v1/routes", _body(depot, [c, b], driver_id=depot.other_driver["id"])
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "shipment_on_other_route"
    assert fields_of(response) == ["stops[1].shipment_id"]

    second = await api.route(depot.other_driver["id"], depot.hub["id"], [c])
    put = await api.put(
        f"/v1/routes/{second['id']}/stops",
        {"stops": [{"shipment_id": c}, {"shipment_id": a}]},
    )
    assert put.status_code == 409
    assert fields_of(put) == ["stops[1].shipment_id"]
    # Nothing moved.
    assert [
        s["shipment_id"] for s in (await api.get(f"/v1/routes/{first['id']}")).json()["stops"]
    ] == [a, b]


async def test_closed_shipments_cannot_be_put_on_a_route(api: Api, depot: Depot) -> None:
    a, b = depot.shipments[:2]
    cancelled = await api.post(f"/v1/shipments/{b}/cancel", {"reason": "customer"})
    assert cancelled.status_code == 200, cancelled.text
    response = await api.post("/v1/routes", _body(depot, [a, b]))
    assert response.status_code == 409
    assert response.json()["code"] == "shipment_closed"
    assert fields_of(response) == ["stops[1].shipment_id"]


async def test_a_concurrent_writer_between_check_and_insert_still_gets_409(
    api: Api, depot: Depot, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = depot.shipments[:2]
    await api.route(depot.driver["id"], depot.hub["id"], [b])

    async def sees_nothing(self: ManifestRepository, *args: Any) -> dict:
        return {}

    monkeypatch.setattr(ManifestRepository, "stops_elsewhere", sees_nothing)
    response = await api.post(
        "/v1/routes", _body(depot, [a, b], driver_id=depot.other_driver["id"])
    )
    assert response.status_code == 409
    assert response.json()["code"] == "shipment_on_other_route"
    assert fields_of(response) == ["stops[1].shipment_id"]


async def test_concurrent_routes_for_one_shipment_one_wins(api: Api, depot: Depot) -> None:
    shared = depot.shipments[0]
    responses = await asyncio.gather(
        api.post("/v1/routes", _body(depot, [shared])),
        api.post("/v1/routes", _body(depot, [shared], driver_id=depot.other_driver["id"])),
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert fields_of(loser) == ["stops[0].shipment_id"]


async def test_a_250_stop_route_is_built_set_wise(
    api: Api, app: Litestar, db: asyncpg.Pool
) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    bulk = await api.post(
        "/v1/shipments/bulk", {"shipments": [shipment_body(hub["id"]) for _ in range(250)]}
    )
    assert bulk.status_code == 200, bulk.text
    shipment_ids = [item["id"] for item in bulk.json()["created"]]
    assert len(shipment_ids) == 250

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        route = await api.route(driver["id"], hub["id"], shipment_ids)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert [stop["sequence"] for stop in route["stops"]] == list(range(1, 251))
    assert [stop["shipment_id"] for stop in route["stops"]] == shipment_ids
    assert len(statements) <= 15, statements
    assigned = await db.fetchval("SELECT count(*) FROM shipment_events WHERE type = 'assigned'")
    assert assigned == 250
