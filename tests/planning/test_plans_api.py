"""Plans through the API: queued in the request, solved by the worker, applied as drafts."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from tests.factories import Api, point, square
from tests.planning.support import make_day, plan_worker, solved, today, window


@pytest.fixture
async def worker(app):
    async for value in plan_worker(app):
        yield value


async def post_plan(api: Api, body: dict) -> dict:
    response = await api.post("/v1/plans", body)
    assert response.status_code == 202, response.text
    return response.json()


async def test_a_plan_is_solved_in_the_background_and_applied_as_draft_routes(api, worker):
    day = await make_day(api)
    plan = await post_plan(api, {"hub_id": day.hub["id"], "date": today(), "time_limit_s": 1})
    assert plan["status"] == "queued" and plan["routes"] == []
    done = await solved(api, worker, plan["id"])
    assert done["status"] == "done" and done["unassigned"] == []
    planned = sorted(s["shipment_id"] for r in done["routes"] for s in r["stops"])
    assert planned == sorted(day.shipments)
    assert sum(route["distance_m"] for route in done["routes"]) > 0
    for route in done["routes"]:
        assert route["duration_s"] > 0 and route["parcels"] == len(route["stops"])
        assert [s["sequence"] for s in route["stops"]] == list(range(1, len(route["stops"]) + 1))
        assert route["stops"][0]["arrival"] <= route["stops"][0]["start"]

    applied = await api.post(f"/v1/plans/{plan['id']}/apply")
    assert applied.status_code == 200, applied.text
    routes = applied.json()["routes"]
    assert {r["status"] for r in routes} == {"draft"}
    assert sorted(s["shipment_id"] for r in routes for s in r["stops"]) == planned
    again = await api.post(f"/v1/plans/{plan['id']}/apply")
    assert again.status_code == 409 and again.json()["code"] == "plan_applied"
    # Publishing stays a separate step, and works on what the plan made.
    published = await api.post(f"/v1/routes/{routes[0]['id']}/publish")
    assert published.status_code == 200 and published.json()["status"] == "published"


async def test_two_applies_at_once_give_one_success(api, worker):
    day = await make_day(api, shipments=3)
    plan = await post_plan(api, {"hub_id": day.hub["id"], "date": today(), "time_limit_s": 0.3})
    await solved(api, worker, plan["id"])
    path = f"/v1/plans/{plan['id']}/apply"
    first, second = await asyncio.gather(api.post(path), api.post(path))
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    routes = (await api.get("/v1/routes", params={"hub_id": day.hub["id"]})).json()["items"]
    assert sorted(s["shipment_id"] for r in routes for s in r["stops"]) == sorted(day.shipments)


async def test_driver_planning_settings_are_checked(api):
    day = await make_day(api, shipments=0)
    driver = day.drivers[0]["id"]
    path = f"/v1/drivers/{driver}/planning"
    assert (await api.get(path)).status_code == 404  # none yet
    good = {"shift_start": "07:00:00", "shift_end": "15:00:00", "zone_ids": [day.zone["id"]]}
    cases = [
        ({"shift_end": "06:00:00"}, "shift_end"),
        ({"shift_start": "07:00:00+02:00"}, "shift_start"),
        ({"zone_ids": [str(uuid.uuid4())]}, "zone_ids[0]"),
        ({"skills": ["flying"]}, "skills"),
        ({"break_minutes": 10**9}, "break_minutes"),
        ({"start_location": point(500, 0)}, "start_location"),
    ]
    for change, field in cases:
        response = await api.put(path, good | change)
        assert response.status_code in (400, 422), (change, response.text)
        problem = response.json()
        named = [e.get("field") for e in problem.get("errors", [])] + [problem.get("field")]
        assert any(field in (n or "") for n in named) or field in problem["detail"], problem
    assert (await api.put(f"/v1/drivers/{uuid.uuid4()}/planning", good)).status_code == 404
    assert (await api.get(f"/v1/drivers/{uuid.uuid4()}/planning")).status_code == 404
    saved = await api.put(path, good)
    assert saved.status_code == 200 and saved.json()["zone_ids"] == [day.zone["id"]]
    assert (await api.get(path)).json() == saved.json()


async def test_a_plan_not_done_does_not_apply(api):
    day = await make_day(api, shipments=1)
    plan = await post_plan(api, {"hub_id": day.hub["id"], "date": today()})
    response = await api.post(f"/v1/plans/{plan['id']}/apply")
    assert response.status_code == 409 and response.json()["code"] == "plan_not_ready"


async def test_unassigned_shipments_carry_their_reason(api, worker):
    day = await make_day(api, shipments=2)
    hub = day.hub["id"]
    adult = (await api.shipment(hub, requirements={"min_age": 18}))["id"]
    far = (await api.shipment(hub, lon=14.5, lat=53.5))["id"]  # in no zone
    night = (await api.shipment(hub, window=window(2, 3)))["id"]
    cold = (await api.shipment(hub, requirements={"cold_chain": True}))["id"]
    plan = await post_plan(api, {"hub_id": hub, "date": today(), "time_limit_s": 0.5})
    done = await solved(api, worker, plan["id"])
    reasons = {u["shipment_id"]: u["reason"] for u in done["unassigned"]}
    assert reasons == {
        adult: "no_driver_with_skills",
        far: "outside_every_zone",
        night: "window_unreachable",
        cold: "no_driver_with_skills",
    }
    # Give a driver the age-check skill: the adult shipment goes to that driver.
    checker = day.drivers[0]["id"]
    response = await api.put(
        f"/v1/drivers/{checker}/planning",
        {"shift_start": "06:00:00", "shift_end": "20:00:00", "skills": ["age_check"]},
    )
    assert response.status_code == 200, response.text
    plan = await post_plan(api, {"hub_id": hub, "date": today(), "time_limit_s": 0.5})
    done = await solved(api, worker, plan["id"])
    by_driver = {s["shipment_id"]: r["driver_id"] for r in done["routes"] for s in r["stops"]}
    assert by_driver[adult] == checker


async def test_driver_settings_bound_shifts_zones_and_capacity(api, worker):
    day = await make_day(api, drivers=2, shipments=0)
    hub = day.hub["id"]
    west = await api.zone(hub, area=square(13.30, 52.50, 0.02))
    east_ids = [(await api.shipment(hub, lon=13.40 + 0.001 * i))["id"] for i in range(3)]
    west_ids = [(await api.shipment(hub, lon=13.30 + 0.001 * i))["id"] for i in range(3)]
    windowed = (await api.shipment(hub, window=window(9, 10)))["id"]
    first, second = (d["id"] for d in day.drivers)
    for driver, zone in ((first, day.zone["id"]), (second, west["id"])):
        response = await api.put(
            f"/v1/drivers/{driver}/planning",
            {
                "shift_start": "08:00:00",
                "shift_end": "17:00:00",
                "break_minutes": 30,
                "zone_ids": [zone],
                "end_location": point(13.35, 52.50),
            },
        )
        assert response.status_code == 200, response.text
    plan = await post_plan(api, {"hub_id": hub, "date": today(), "time_limit_s": 0.5})
    done = await solved(api, worker, plan["id"])
    assert done["unassigned"] == []
    by_driver = {s["shipment_id"]: r["driver_id"] for r in done["routes"] for s in r["stops"]}
    assert {by_driver[s] for s in [*east_ids, windowed]} == {first}
    assert {by_driver[s] for s in west_ids} == {second}
    for route in done["routes"]:
        assert route["start"][11:16] >= "08:00" and route["end"][11:16] <= "16:30"
        for stop in route["stops"]:
            if stop["shipment_id"] == windowed:
                assert "09:00" <= stop["start"][11:16] <= "10:00"


async def test_plan_inputs_are_checked_with_the_field_named(api):
    day = await make_day(api, shipments=1)
    other = await make_day(api, shipments=1)
    hub = day.hub["id"]
    cases = [
        ({"shipment_ids": [str(uuid.uuid4())]}, "shipment_ids[0]"),
        ({"shipment_ids": other.shipments}, "shipment_ids[0]"),
        ({"shipment_ids": day.shipments * 2}, "shipment_ids"),
        ({"driver_ids": [other.drivers[0]["id"], str(uuid.uuid4())]}, "driver_ids[1]"),
        ({"date": "0001-01-01"}, "date"),
        ({"time_limit_s": 1e12}, "time_limit_s"),
        ({"time_limit_s": 3000}, "time_limit_s"),
        ({"objective": "fastest"}, "objective"),
        ({"hub_id": str(uuid.uuid4())}, "hub_id"),
        ({"surprise": 1}, "surprise"),
    ]
    for change, field in cases:
        body = {"hub_id": hub, "date": today()} | change
        response = await api.post("/v1/plans", body)
        assert response.status_code in (400, 422), (change, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        named = [e.get("field") for e in problem.get("errors", [])] + [problem.get("field")]
        assert any(field in (n or "") for n in named) or field in problem["detail"], problem
    nul = await api.post("/v1/plans", {"hub_id": hub, "date": "2026-12-01\x00"})
    assert nul.status_code in (400, 422)


async def test_only_staff_plan_and_unknown_plans_are_404(api, worker):
    day = await make_day(api, shipments=1)
    plan = await post_plan(api, {"hub_id": day.hub["id"], "date": today(), "time_limit_s": 0.2})
    await solved(api, worker, plan["id"])
    driver = await api.as_driver(day.drivers[0])
    dispatcher = await api.user("dispatcher")
    body = {"hub_id": day.hub["id"], "date": today()}
    for path in ("/v1/plans", f"/v1/plans/{plan['id']}/apply"):
        assert (await driver.post(path, body if path == "/v1/plans" else None)).status_code == 403
    assert (await driver.get(f"/v1/plans/{plan['id']}")).status_code == 403
    assert (await driver.get(f"/v1/drivers/{day.drivers[0]['id']}/planning")).status_code == 403
    partner = await api.user("partner")
    assert (await partner.post("/v1/plans", body)).status_code == 403
    assert (await partner.get(f"/v1/plans/{plan['id']}")).status_code == 403
    assert (await api.client.get(f"/v1/plans/{plan['id']}")).status_code == 401
    assert (await dispatcher.get(f"/v1/plans/{plan['id']}")).status_code == 200
    assert (await dispatcher.post(f"/v1/plans/{plan['id']}/apply")).status_code == 200
    assert (await api.get(f"/v1/plans/{uuid.uuid4()}")).status_code == 404
    assert (await api.post(f"/v1/plans/{uuid.uuid4()}/apply")).status_code == 404


async def test_the_solve_survives_a_worker_that_dies(app, api, db: asyncpg.Pool):
    day = await make_day(api, shipments=6)
    plan = await post_plan(api, {"hub_id": day.hub["id"], "date": today(), "time_limit_s": 2})
    async for first in plan_worker(app, lease_seconds=0.5):
        running = asyncio.create_task(first.run_once())
        for _ in range(200):
            status = await db.fetchval(
                "SELECT status FROM plans WHERE id = $1", uuid.UUID(plan["id"])
            )
            if status == "solving":
                break
            await asyncio.sleep(0.02)
        running.cancel()  # the worker dies mid-solve: nothing is written on its way out
        with pytest.raises(asyncio.CancelledError):
            await running
    row = await db.fetchrow(
        "SELECT status, attempts FROM plans WHERE id = $1", uuid.UUID(plan["id"])
    )
    assert (row["status"], row["attempts"]) == ("solving", 1)
    async for second in plan_worker(app, lease_seconds=0.5):
        assert await second.run_once() is None  # the lease still holds: not claimable yet
        await asyncio.sleep(0.6)
        assert str(await second.run_once()) == plan["id"]
    done = (await api.get(f"/v1/plans/{plan['id']}")).json()
    assert done["status"] == "done" and done["attempts"] == 2
    assert sorted(s["shipment_id"] for r in done["routes"] for s in r["stops"]) == sorted(
        day.shipments
    )


async def test_progress_reaches_the_dispatch_feed(app, api, live):
    """queued (from the worker's claim), solving with the best cost so far, then done."""
    from backend.planning.settings import PlanningSettings
    from backend.planning.worker import PlanWorker, plan_workers_config

    day = await make_day(api, shipments=6)
    plan = await post_plan(api, {"hub_id": day.hub["id"], "date": today(), "time_limit_s": 2.5})
    worker = PlanWorker(
        live.sessionmaker, PlanningSettings.of(app.state.settings), **plan_workers_config()
    )
    seen: list[dict] = []
    with live.runtime.hub.feed(lambda m: m.type == "plan.progress") as feed:
        await worker.run_once()
        while not seen or seen[-1]["status"] != "done":
            seen.append((await asyncio.wait_for(feed.next(), 10))[0].data)
    assert {m["plan_id"] for m in seen} == {plan["id"]}
    statuses = [m["status"] for m in seen]
    assert statuses[0] == "solving" and statuses[-1] == "done"
    assert any(m["status"] == "solving" and m["elapsed_s"] for m in seen)
    assert seen[-1]["best_cost"] is not None


async def test_loaded_parcels_stay_and_a_draft_route_gets_its_stops_replaced(api, worker):
    from tests.sync.factories import Handheld

    day = await make_day(api, shipments=4)
    first, second = (d["id"] for d in day.drivers)
    hub = day.hub["id"]
    loaded = (await api.shipment(hub))["id"]
    route = await api.publish_route((await api.route(first, hub, [loaded], date=today()))["id"])
    device = Handheld(await api.as_driver(day.drivers[0]), "device-1")
    await device.push([device.event("scan_loaded", 1, shipment_id=loaded)])
    # The second driver has a draft for the day with one shipment the plan does not include.
    stray = (await api.shipment(hub))["id"]
    draft = await api.route(second, hub, [stray], date=today())
    body = {
        "hub_id": hub,
        "date": today(),
        "shipment_ids": [loaded, *day.shipments],
        "driver_ids": [first, second],
        "time_limit_s": 0.5,
    }
    done = await solved(api, worker, (await post_plan(api, body))["id"])
    owner = {s["shipment_id"]: r["driver_id"] for r in done["routes"] for s in r["stops"]}
    assert owner[loaded] == first and done["unassigned"] == []
    # The first driver's route is published: applying over it is refused, nothing changes.
    response = await api.post(f"/v1/plans/{done['id']}/apply")
    if first in {r["driver_id"] for r in done["routes"]}:
        assert response.status_code == 409 and response.json()["code"] == "route_published"
        assert (await api.get(f"/v1/routes/{route['id']}")).json()["stops"][0][
            "shipment_id"
        ] == loaded
    # Without the loaded one, only the second driver: their draft's stops are replaced.
    body |= {"shipment_ids": day.shipments, "driver_ids": [second]}
    done = await solved(api, worker, (await post_plan(api, body))["id"])
    applied = await api.post(f"/v1/plans/{done['id']}/apply")
    assert applied.status_code == 200, applied.text
    (replaced,) = applied.json()["routes"]
    assert replaced["id"] == draft["id"] and replaced["status"] == "draft"
    assert sorted(s["shipment_id"] for s in replaced["stops"]) == sorted(day.shipments)
