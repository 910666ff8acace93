from tests.factories import Api
from tests.manifests.support import Depot


async def test_driver_sees_own_published_routes_only(api: Api, depot: Depot) -> None:
    a, b, c = depot.shipments[:3]
    draft = await api.route(depot.driver["id"], depot.hub["id"], [a])
    mine = await api.publish_route(
        (await api.route(depot.driver["id"], depot.hub["id"], [b]))["id"]
    )
    theirs = await api.publish_route(
        (await api.route(depot.other_driver["id"], depot.hub["id"], [c]))["id"]
    )
    driver = await api.as_driver(depot.driver)

    own = await driver.get(f"/v1/routes/{mine['id']}")
    assert own.status_code == 200
    assert own.json() == mine
    assert (await driver.get(f"/v1/routes/{theirs['id']}")).status_code == 404
    assert (await driver.get(f"/v1/routes/{draft['id']}")).status_code == 404

    listed = (await driver.get("/v1/routes")).json()
    assert [r["id"] for r in listed["items"]] == [mine["id"]]
    # Asking for another driver's routes still answers the caller's own.
    other = await driver.get("/v1/routes", params={"driver_id": depot.other_driver["id"]})
    assert [r["id"] for r in other.json()["items"]] == [mine["id"]]
    drafts = await driver.get("/v1/routes", params={"status": "draft"})
    assert drafts.json()["items"] == []


async def test_reassigned_route_follows_the_new_driver(api: Api, depot: Depot) -> None:
    route = await api.route(depot.driver["id"], depot.hub["id"], depot.shipments[:1])
    await api.publish_route(route["id"])
    old = await api.as_driver(depot.driver)
    new = await api.as_driver(depot.other_driver, "device-2")
    assert (await old.get(f"/v1/routes/{route['id']}")).status_code == 200
    await api.post(f"/v1/routes/{route['id']}/reassign", {"driver_id": depot.other_driver["id"]})
    assert (await old.get(f"/v1/routes/{route['id']}")).status_code == 404
    assert (await new.get(f"/v1/routes/{route['id']}")).status_code == 200


async def test_drivers_cannot_change_routes(api: Api, depot: Depot) -> None:
    route = await api.route(depot.driver["id"], depot.hub["id"])
    driver = await api.as_driver(depot.driver)
    body = {"driver_id": depot.driver["id"], "hub_id": depot.hub["id"], "date": "2026-12-01"}
    assert (await driver.post("/v1/routes", body)).status_code == 403
    assert (await driver.post(f"/v1/routes/{route['id']}/publish")).status_code == 403
    put = await driver.put(f"/v1/routes/{route['id']}/stops", {"stops": []})
    assert put.status_code == 403


async def test_partner_is_forbidden_everywhere(api: Api, depot: Depot) -> None:
    route = await api.route(depot.driver["id"], depot.hub["id"])
    partner = await api.user("partner")
    responses = [
        await partner.get("/v1/routes"),
        await partner.get(f"/v1/routes/{route['id']}"),
        await partner.post(
            "/v1/routes",
            {"driver_id": depot.driver["id"], "hub_id": depot.hub["id"], "date": "2026-12-01"},
        ),
        await partner.put(f"/v1/routes/{route['id']}/stops", {"stops": []}),
        await partner.post(f"/v1/routes/{route['id']}/reassign", {"driver_id": depot.driver["id"]}),
        await partner.post(f"/v1/routes/{route['id']}/publish"),
    ]
    assert [r.status_code for r in responses] == [403] * 6
    assert responses[0].headers["content-type"].startswith("application/problem+json")


async def test_dispatcher_runs_the_whole_flow(api: Api, depot: Depot) -> None:
    dispatcher = await api.user("dispatcher")
    a, b = depot.shipments[:2]
    route = await dispatcher.route(depot.driver["id"], depot.hub["id"], [a])
    put = await dispatcher.put(
        f"/v1/routes/{route['id']}/stops", {"stops": [{"shipment_id": b}, {"shipment_id": a}]}
    )
    assert put.status_code == 200
    moved = await dispatcher.post(
        f"/v1/routes/{route['id']}/reassign", {"driver_id": depot.other_driver["id"]}
    )
    assert moved.status_code == 200
    published = await dispatcher.publish_route(route["id"])
    assert published["status"] == "published"
    assert (await dispatcher.get("/v1/routes")).json()["items"][0]["id"] == route["id"]


async def test_driver_sees_shipments_of_their_published_route(api: Api, depot: Depot) -> None:
    a = depot.shipments[0]
    route = await api.route(depot.driver["id"], depot.hub["id"], [a])
    driver = await api.as_driver(depot.driver)
    assert (await driver.get(f"/v1/shipments/{a}")).status_code == 404
    await api.publish_route(route["id"])
    assert (await driver.get(f"/v1/shipments/{a}")).status_code == 200
