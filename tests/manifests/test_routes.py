import datetime as dt
from uuid import UUID

import asyncpg

from backend.config import Settings
from backend.db.session import make_engine, make_sessionmaker, unit_of_work
from backend.manifests.schemas import RouteCreate, RouteRead, StopIn
from backend.manifests.service import RouteService
from tests.factories import Api
from tests.manifests.support import Depot, events_of, fields_of, sequence_of


async def test_create_get_and_list(api: Api, depot: Depot) -> None:
    a, b, c = depot.shipments[:3]
    route = await api.route(depot.driver["id"], depot.hub["id"], [b, a, c], date="2026-12-01")
    assert route["status"] == "draft"
    assert route["published_at"] is None
    assert (route["driver_id"], route["hub_id"], route["date"]) == (
        depot.driver["id"],
        depot.hub["id"],
        "2026-12-01",
    )
    assert sequence_of(route) == [(b, 1), (a, 2), (c, 3)]
    assert len({stop["id"] for stop in route["stops"]}) == 3

    fetched = await api.get(f"/v1/routes/{route['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == route

    other = await api.route(depot.other_driver["id"], depot.hub["id"], date="2026-12-02")
    listed = (await api.get("/v1/routes", params={"date": "2026-12-01"})).json()
    assert [r["id"] for r in listed["items"]] == [route["id"]]
    assert listed["next_cursor"] is None
    by_driver = (await api.get("/v1/routes", params={"driver_id": depot.other_driver["id"]})).json()
    assert [r["id"] for r in by_driver["items"]] == [other["id"]]
    everything = (await api.get("/v1/routes")).json()
    assert [r["id"] for r in everything["items"]] == [route["id"], other["id"]]


async def test_list_pages_with_a_cursor(api: Api, depot: Depot) -> None:
    ids = [(await api.route(depot.driver["id"], depot.hub["id"]))["id"] for _ in range(3)]
    first = (await api.get("/v1/routes", params={"limit": 2})).json()
    second = await api.get("/v1/routes", params={"limit": 2, "cursor": first["next_cursor"]})
    assert [r["id"] for r in first["items"] + second.json()["items"]] == ids
    assert second.json()["next_cursor"] is None


async def test_unknown_route_is_404(api: Api) -> None:
    missing = "01890000-0000-7000-8000-000000000000"
    assert (await api.get(f"/v1/routes/{missing}")).status_code == 404
    assert (await api.post(f"/v1/routes/{missing}/publish")).status_code == 404
    put = await api.put(f"/v1/routes/{missing}/stops", {"stops": []})
    assert put.status_code == 404


async def test_put_stops_adds_removes_and_reorders_in_one_call(
    api: Api, depot: Depot, db: asyncpg.Pool
) -> None:
    a, b, c, d, _ = depot.shipments
    route = await api.route(depot.driver["id"], depot.hub["id"], [a, b, c])
    stop_ids = {stop["shipment_id"]: stop["id"] for stop in route["stops"]}

    response = await api.put(
        f"/v1/routes/{route['id']}/stops",
        {"stops": [{"shipment_id": c}, {"shipment_id": d}, {"shipment_id": a}]},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert sequence_of(updated) == [(c, 1), (d, 2), (a, 3)]
    new_ids = {stop["shipment_id"]: stop["id"] for stop in updated["stops"]}
    assert new_ids[a] == stop_ids[a]
    assert new_ids[c] == stop_ids[c]
    assert new_ids[d] not in stop_ids.values()
    assert updated["updated_at"] > route["updated_at"]

    # The removed stop is kept, deactivated, so the shipment is free for another route.
    removed = await db.fetchrow("SELECT active FROM stops WHERE id = $1", UUID(stop_ids[b]))
    assert removed["active"] is False
    elsewhere = await api.route(depot.other_driver["id"], depot.hub["id"], [b])
    assert sequence_of(elsewhere) == [(b, 1)]

    assert await events_of(api, b) == [
        ("assigned", {"route_id": route["id"], "driver_id": depot.driver["id"]}),
        ("unassigned", {"route_id": route["id"]}),
        ("assigned", {"route_id": elsewhere["id"], "driver_id": depot.other_driver["id"]}),
    ]
    assert await events_of(api, d) == [
        ("assigned", {"route_id": route["id"], "driver_id": depot.driver["id"]})
    ]
    # Shipments that only moved get no new event.
    assert len(await events_of(api, a)) == 1


async def test_put_same_stops_changes_nothing(api: Api, depot: Depot) -> None:
    a, b = depot.shipments[:2]
    route = await api.route(depot.driver["id"], depot.hub["id"], [a, b])
    body = {"stops": [{"shipment_id": a}, {"shipment_id": b}]}
    response = await api.put(f"/v1/routes/{route['id']}/stops", body)
    assert response.status_code == 200
    assert response.json() == route
    assert len(await events_of(api, a)) == 1


async def test_put_can_empty_a_route_and_fill_it_again(api: Api, depot: Depot) -> None:
    a = depot.shipments[0]
    route = await api.route(depot.driver["id"], depot.hub["id"], [a])
    emptied = await api.put(f"/v1/routes/{route['id']}/stops", {"stops": []})
    assert emptied.json()["stops"] == []
    refilled = await api.put(f"/v1/routes/{route['id']}/stops", {"stops": [{"shipment_id": a}]})
    assert sequence_of(refilled.json()) == [(a, 1)]
    assert [t for t, _ in await events_of(api, a)] == ["assigned", "unassigned", "assigned"]


async def test_reassign_moves_route_and_records_assigned_per_stop(api: Api, depot: Depot) -> None:
    a, b = depot.shipments[:2]
    route = await api.route(depot.driver["id"], depot.hub["id"], [a, b])
    response = await api.post(
        f"/v1/routes/{route['id']}/reassign", {"driver_id": depot.other_driver["id"]}
    )
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["driver_id"] == depot.other_driver["id"]
    assert moved["stops"] == route["stops"]
    for shipment_id in (a, b):
        assert (await events_of(api, shipment_id))[-1] == (
            "assigned",
            {"route_id": route["id"], "driver_id": depot.other_driver["id"]},
        )
    # To the same driver again: nothing to do, no new events.
    again = await api.post(
        f"/v1/routes/{route['id']}/reassign", {"driver_id": depot.other_driver["id"]}
    )
    assert again.status_code == 200
    assert len(await events_of(api, a)) == 2


async def test_reassign_to_unknown_or_inactive_driver_is_422(api: Api, depot: Depot) -> None:
    route = await api.route(depot.driver["id"], depot.hub["id"])
    unknown = await api.post(
        f"/v1/routes/{route['id']}/reassign",
        {"driver_id": "01890000-0000-7000-8000-000000000000"},
    )
    assert unknown.status_code == 422
    assert fields_of(unknown) == ["driver_id"]
    await api.post(f"/v1/drivers/{depot.other_driver['id']}/deactivate")
    inactive = await api.post(
        f"/v1/routes/{route['id']}/reassign", {"driver_id": depot.other_driver["id"]}
    )
    assert inactive.status_code == 422
    assert inactive.json()["code"] == "driver_inactive"


async def test_publish_sets_published_at_and_is_idempotent(api: Api, depot: Depot) -> None:
    route = await api.route(depot.driver["id"], depot.hub["id"], depot.shipments[:1])
    published = await api.publish_route(route["id"])
    assert published["status"] == "published"
    assert published["published_at"] is not None
    again = await api.publish_route(route["id"])
    assert again == published
    # Published routes stay editable by dispatch.
    response = await api.put(f"/v1/routes/{route['id']}/stops", {"stops": []})
    assert response.status_code == 200
    assert response.json()["status"] == "published"


async def test_closed_routes_cannot_change(api: Api, depot: Depot, db: asyncpg.Pool) -> None:
    a = depot.shipments[0]
    for status in ("completed", "cancelled"):
        route = await api.route(depot.driver["id"], depot.hub["id"])
        await db.execute("UPDATE routes SET status = $1 WHERE id = $2", status, UUID(route["id"]))
        put = await api.put(f"/v1/routes/{route['id']}/stops", {"stops": [{"shipment_id": a}]})
        assert put.status_code == 409
        assert put.json()["code"] == "route_closed"
        reassign = await api.post(
            f"/v1/routes/{route['id']}/reassign", {"driver_id": depot.other_driver["id"]}
        )
        assert reassign.status_code == 409
    publish = await api.post(f"/v1/routes/{route['id']}/publish")
    assert publish.status_code == 409


async def test_service_api_for_scripts(api: Api, settings: Settings, depot: Depot) -> None:
    """The demo seeder builds routes through the service, outside any request."""
    shipment_ids = [UUID(s) for s in depot.shipments[:2]]
    engine = make_engine(settings)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            created = await RouteService(session).create(
                RouteCreate(
                    driver_id=UUID(depot.driver["id"]),
                    hub_id=UUID(depot.hub["id"]),
                    date=dt.date(2026, 12, 3),
                    stops=[StopIn(shipment_id=sid) for sid in shipment_ids],
                ),
                None,
            )
            published = await RouteService(session).publish(created.id, None)
    finally:
        await engine.dispose()
    assert isinstance(published, RouteRead)
    assert published.status == "published"
    assert [stop.shipment_id for stop in published.stops] == shipment_ids
    fetched = (await api.get(f"/v1/routes/{created.id}")).json()
    assert fetched["status"] == "published"
    assert (await events_of(api, depot.shipments[0]))[0][0] == "assigned"


async def test_bad_status_filter_is_refused(api: Api) -> None:
    response = await api.get("/v1/routes", params={"status": "lost"})
    assert response.status_code in (400, 422)
