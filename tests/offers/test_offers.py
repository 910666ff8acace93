"""Work offers: eligibility (capacity, availability, distance with PostGIS), exactly one winner,
pull and live feed, decline, withdrawal and expiry."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from backend.auth.schemas import Principal
from backend.lib.ids import uuid7
from backend.live.controller import visible_to
from backend.live.messages import LiveMessage
from tests.factories import CENTER, point
from tests.offers.support import TOMORROW, courier, make_offer, offer_body, shipments
from tests.pod.support import east_of
from tests.sync.factories import Handheld


async def test_eligibility_by_status_availability_capacity_and_distance(api, db) -> None:
    hub = await api.hub()
    near = await courier(api, db, hub["id"])
    available_offline = await courier(api, db, hub["id"], online=False)
    unavailable = await courier(api, db, hub["id"], online=False, availability=[])
    few_parcels = await courier(api, db, hub["id"], vehicle={"kind": "bike", "capacity_parcels": 1})
    light = await courier(api, db, hub["id"], vehicle={"kind": "bike", "capacity_kg": 2})
    far = await courier(api, db, hub["id"], metres_from_hub=8_000)
    nowhere = await courier(api, db, hub["id"], metres_from_hub=None, online=False)
    suspended = await courier(api, db, hub["id"])
    await api.post(f"{suspended.application_path}/suspend", {"reason": "complaints"})
    employee = await api.driver(hub["id"])
    work = await shipments(api, hub["id"], count=2)  # 2 parcels, 3 kg
    everyone = [
        c.driver_id
        for c in (near, available_offline, unavailable, few_parcels, light, far, nowhere, suspended)
    ] + [employee["id"]]
    offer = await make_offer(api, shipment_ids=work, radius_m=3_000, courier_ids=everyone)
    assert sorted(offer["offered"]) == sorted([near.driver_id, available_offline.driver_id])
    reasons = {e["courier_id"]: e["reasons"] for e in offer["excluded"]}
    assert reasons == {
        unavailable.driver_id: ["not_available"],
        few_parcels.driver_id: ["no_capacity_parcels"],
        light.driver_id: ["no_capacity_weight"],
        far.driver_id: ["too_far"],
        nowhere.driver_id: ["not_available", "position_unknown"] if False else ["position_unknown"],
        suspended.driver_id: ["not_active"],
        employee["id"]: ["not_a_courier"],
    }
    assert (offer["parcels"], offer["weight_kg"], offer["status"]) == (2, 3.0, "open")
    assert offer["window_start"].startswith(f"{TOMORROW}T10:00")


async def test_without_a_radius_distance_does_not_count_and_all_couriers_are_considered(
    api, db
) -> None:
    hub = await api.hub()
    near, far = (
        await courier(api, db, hub["id"]),
        await courier(api, db, hub["id"], metres_from_hub=50_000),
    )
    offer = await make_offer(api, shipment_ids=await shipments(api, hub["id"]))
    assert sorted(offer["offered"]) == sorted([near.driver_id, far.driver_id])
    assert offer["excluded"] == []


async def test_availability_is_checked_against_the_work_window(api, db) -> None:
    hub = await api.hub()
    weekday = TOMORROW.isoweekday()
    morning = await courier(
        api,
        db,
        hub["id"],
        online=False,
        availability=[{"weekday": weekday, "start": "08:00", "end": "13:00"}],
    )
    evening = await courier(
        api,
        db,
        hub["id"],
        online=False,
        availability=[{"weekday": weekday, "start": "17:00", "end": "22:00"}],
    )
    other_day = await courier(
        api,
        db,
        hub["id"],
        online=False,
        availability=[{"weekday": weekday % 7 + 1, "start": "08:00", "end": "13:00"}],
    )
    offer = await make_offer(
        api,
        shipment_ids=await shipments(api, hub["id"]),
        courier_ids=[morning.driver_id, evening.driver_id, other_day.driver_id],
    )
    assert offer["offered"] == [morning.driver_id]
    assert {e["courier_id"] for e in offer["excluded"]} == {evening.driver_id, other_day.driver_id}


async def test_the_first_stop_can_be_the_anchor(api, db) -> None:
    hub = await api.hub()
    far_lon, far_lat = east_of(*CENTER, 20_000)
    near_the_stop = await courier(api, db, hub["id"], metres_from_hub=19_800)
    at_the_hub = await courier(api, db, hub["id"])
    work = await shipments(api, hub["id"], count=1, location=point(far_lon, far_lat))
    offer = await make_offer(api, shipment_ids=work, radius_m=1_000, anchor="first_stop")
    assert offer["offered"] == [near_the_stop.driver_id]
    # Out of range only, and not named: counted, not listed.
    assert (offer["excluded"], offer["out_of_range"]) == ([], 1)
    named = await make_offer(
        api,
        shipment_ids=await shipments(api, hub["id"], count=1, location=point(far_lon, far_lat)),
        radius_m=1_000,
        anchor="first_stop",
        courier_ids=[near_the_stop.driver_id, at_the_hub.driver_id],
    )
    assert named["excluded"] == [{"courier_id": at_the_hub.driver_id, "reasons": ["too_far"]}]
    assert named["out_of_range"] == 0


async def test_nobody_eligible_is_422(api, db) -> None:
    hub = await api.hub()
    await courier(api, db, hub["id"], metres_from_hub=9_000)
    response = await api.post(
        "/v1/offers", offer_body(shipment_ids=await shipments(api, hub["id"]), radius_m=500)
    )
    assert response.status_code == 422
    assert response.json()["code"] == "no_eligible_courier"
    assert response.json()["errors"][0]["field"] == "radius_m"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expires_at": "2026-12-01T10:00:00"}, "expires_at"),  # no time zone
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2999-01-01T00:00:00Z"}, "expires_at"),
        ({"pay": {"amount": -1, "currency": "EUR"}}, "pay.amount"),
        ({"pay": {"amount": 1e300, "currency": "EUR"}}, "pay.amount"),
        ({"pay": {"amount": 1, "currency": "euro"}}, "pay.currency"),
        ({"radius_m": 0}, "radius_m"),
        ({"radius_m": 10**12}, "radius_m"),
        ({"shipment_ids": []}, "shipment_ids"),
        ({"shipment_ids": ["0190e4c2-0000-7000-8000-000000000000"]}, "shipment_ids[0]"),
        ({"route_id": "0190e4c2-0000-7000-8000-000000000000"}, "route_id"),
        ({"anchor": "moon"}, "anchor"),
    ],
)
async def test_bad_offers_are_422_naming_the_field(api, db, change, field) -> None:
    hub = await api.hub()
    work = await shipments(api, hub["id"], count=1)
    body = offer_body(shipment_ids=work) | change
    if "route_id" in change:
        body.pop("shipment_ids")
    response = await api.post("/v1/offers", body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_route_or_shipments_but_not_both_nor_neither(api, db) -> None:
    hub = await api.hub()
    work = await shipments(api, hub["id"], count=1)
    driver = await api.driver(hub["id"])
    route = await api.route(driver["id"], hub["id"], await shipments(api, hub["id"], count=1))
    for body in (offer_body(), offer_body(route_id=route["id"], shipment_ids=work)):
        response = await api.post("/v1/offers", body)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "route_id"


async def test_only_staff_make_offers_and_only_recipients_answer(api, db) -> None:
    hub = await api.hub()
    offered = await courier(api, db, hub["id"])
    bystander = await courier(api, db, hub["id"], metres_from_hub=9_000)
    offer = await make_offer(api, shipment_ids=await shipments(api, hub["id"]), radius_m=2_000)
    assert offer["offered"] == [offered.driver_id]
    assert (await offered.api.post("/v1/offers", offer_body())).status_code == 403
    partner = await api.user("partner")
    assert (await partner.post("/v1/offers", offer_body())).status_code == 403
    assert (await partner.post(f"/v1/offers/{offer['id']}/accept")).status_code == 403
    employee = await api.as_driver(await api.driver(hub["id"]))
    for who in (bystander.api, employee):
        assert (await who.post(f"/v1/offers/{offer['id']}/accept")).status_code == 404
        assert (await who.post(f"/v1/offers/{offer['id']}/decline")).status_code == 404
        assert (await who.get(f"/v1/offers/{offer['id']}")).status_code == 403
        assert (await who.get("/v1/offers/mine")).json()["items"] == []
    unknown = f"/v1/offers/{uuid7()}/accept"
    assert (await offered.api.post(unknown)).status_code == 404
    dispatcher = await api.user("dispatcher")
    assert (await dispatcher.get(f"/v1/offers/{offer['id']}")).status_code == 200


async def test_accepting_hands_over_the_route_and_closes_the_offer_to_others(api, db) -> None:
    hub = await api.hub()
    first, second = await courier(api, db, hub["id"]), await courier(api, db, hub["id"])
    work = await shipments(api, hub["id"], count=3)
    offer = await make_offer(api, shipment_ids=work)
    mine = (await second.api.get("/v1/offers/mine")).json()["items"]
    assert [(o["id"], o["status"], o["response"]) for o in mine] == [(offer["id"], "open", None)]
    assert mine[0]["pay"] == {"amount": 42.5, "currency": "EUR"} and mine[0]["stops"] == 3
    accepted = await first.api.post(f"/v1/offers/{offer['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    route_id = accepted.json()["route_id"]
    again = await first.api.post(f"/v1/offers/{offer['id']}/accept")
    assert again.status_code == 200 and again.json()["route_id"] == route_id
    taken = await second.api.post(f"/v1/offers/{offer['id']}/accept")
    assert taken.status_code == 409 and taken.json()["code"] == "offer_taken"
    declined_late = await second.api.post(f"/v1/offers/{offer['id']}/decline")
    assert declined_late.status_code == 409 and declined_late.json()["code"] == "offer_taken"
    route = (await api.get(f"/v1/routes/{route_id}")).json()
    assert route["driver_id"] == first.driver_id and route["status"] == "published"
    assert [s["shipment_id"] for s in route["stops"]] == work
    read = (await api.get(f"/v1/offers/{offer['id']}")).json()
    assert (read["status"], read["winner_driver_id"], read["route_id"]) == (
        "accepted",
        first.driver_id,
        route_id,
    )
    won = (await first.api.get("/v1/offers/mine")).json()["items"][0]
    assert (won["won"], won["response"]) == (True, "accepted")


async def test_a_draft_route_is_offered_and_reassigned_to_the_winner(api, db) -> None:
    hub = await api.hub()
    taker = await courier(api, db, hub["id"])
    placeholder = await api.driver(hub["id"])
    route = await api.route(placeholder["id"], hub["id"], await shipments(api, hub["id"]))
    offer = await make_offer(api, route_id=route["id"])
    assert offer["route_id"] == route["id"] and offer["parcels"] == 2
    again = await api.post("/v1/offers", offer_body(route_id=route["id"]))
    assert again.status_code == 409 and again.json()["code"] == "offer_exists"
    accepted = await taker.api.post(f"/v1/offers/{offer['id']}/accept")
    assert accepted.json()["route_id"] == route["id"]
    read = (await api.get(f"/v1/routes/{route['id']}")).json()
    assert (read["driver_id"], read["status"]) == (taker.driver_id, "published")
    published = await api.post("/v1/offers", offer_body(route_id=route["id"]))
    assert published.status_code == 409 and published.json()["code"] == "route_not_offerable"


async def test_fifty_concurrent_accepts_have_exactly_one_winner(api, db) -> None:
    hub = await api.hub()
    couriers = [await courier(api, db, hub["id"], metres_from_hub=None) for _ in range(50)]
    offer = await make_offer(api, shipment_ids=await shipments(api, hub["id"], count=3))
    assert len(offer["offered"]) == 50
    responses = await asyncio.gather(
        *(c.api.post(f"/v1/offers/{offer['id']}/accept") for c in couriers)
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 49
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"offer_taken"}
    winner = next(c for c, r in zip(couriers, responses, strict=True) if r.status_code == 200)
    routes = await db.fetch("SELECT driver_id, status FROM routes")
    assert [(str(r["driver_id"]), r["status"]) for r in routes] == [(winner.driver_id, "published")]
    stops = await db.fetchval("SELECT count(*) FROM stops WHERE active")
    assert stops == 3
    read = (await api.get(f"/v1/offers/{offer['id']}")).json()
    assert read["winner_driver_id"] == winner.driver_id


async def test_offers_reach_the_pull_and_the_winner_pulls_the_route(api, db) -> None:
    hub = await api.hub()
    winner, loser = await courier(api, db, hub["id"]), await courier(api, db, hub["id"])
    winner_phone = Handheld(winner.api, f"phone-{winner.driver_id}")
    loser_phone = Handheld(loser.api, f"phone-{loser.driver_id}")
    await winner_phone.pull()
    await loser_phone.pull()
    work = await shipments(api, hub["id"], count=2)
    offer = await make_offer(api, shipment_ids=work)
    snapshot = await loser_phone.snapshot()
    assert snapshot[("offer", offer["id"])]["pay"] == {"amount": 42.5, "currency": "EUR"}
    page = await loser_phone.pull()
    assert [(c["entity"], c["op"]) for c in page["changes"]] == [("offer", "upsert")]
    data = page["changes"][0]["data"]
    assert (data["stops"], data["parcels"], data["status"]) == (2, 2, "open")
    assert data["pickup"] == point(*CENTER)
    await winner_phone.pull()
    await winner.api.post(f"/v1/offers/{offer['id']}/accept")
    lost = await loser_phone.pull()
    assert [(c["entity"], c["op"], c["id"]) for c in lost["changes"]] == [
        ("offer", "remove", offer["id"])
    ]
    await winner_phone.pull()
    entities = {kind for kind, _ in winner_phone.local}
    assert entities == {"route", "stop", "shipment"}
    assert {i for kind, i in winner_phone.local if kind == "shipment"} == set(work)


async def test_the_winner_pushes_a_delivery_of_the_route(api, db) -> None:
    hub = await api.hub()
    winner = await courier(api, db, hub["id"])
    work = await shipments(api, hub["id"], count=1)
    offer = await make_offer(api, shipment_ids=work)
    await winner.api.post(f"/v1/offers/{offer['id']}/accept")
    phone = Handheld(winner.api, f"phone-{winner.driver_id}")
    await phone.pull()
    result = await phone.push(
        [
            phone.event("scan_loaded", 1, shipment_id=work[0]),
            phone.event("delivered", 2, shipment_id=work[0], data={"handoff": "recipient"}),
        ]
    )
    assert [r["status"] for r in result["results"]] == ["accepted", "accepted"], result
    assert result["results"][-1]["shipment"]["status"] == "delivered"


async def test_declining_is_recorded_and_hides_the_offer(api, db) -> None:
    hub = await api.hub()
    decider = await courier(api, db, hub["id"])
    offer = await make_offer(api, shipment_ids=await shipments(api, hub["id"]))
    phone = Handheld(decider.api, f"phone-{decider.driver_id}")
    await phone.pull()
    assert ("offer", offer["id"]) in phone.local
    declined = await decider.api.post(f"/v1/offers/{offer['id']}/decline")
    assert declined.status_code == 200 and declined.json()["response"] == "declined"
    await phone.pull()
    assert ("offer", offer["id"]) not in phone.local
    row = await db.fetchrow(
        "SELECT response, responded_at FROM offer_recipients WHERE offer_id = $1", offer["id"]
    )
    assert row["response"] == "declined" and row["responded_at"] is not None
    # Declined is not accepted; the offer is still open for others.
    assert (await api.get(f"/v1/offers/{offer['id']}")).json()["status"] == "open"


async def test_withdrawn_and_expired_offers_are_closed(api, db, jobs, monkeypatch) -> None:
    hub = await api.hub()
    taker = await courier(api, db, hub["id"])
    withdrawn = await make_offer(api, shipment_ids=await shipments(api, hub["id"]))
    assert (await api.post(f"/v1/offers/{withdrawn['id']}/withdraw")).json()["status"] == (
        "withdrawn"
    )
    closed = await taker.api.post(f"/v1/offers/{withdrawn['id']}/accept")
    assert closed.status_code == 409 and closed.json()["code"] == "offer_closed"
    again = await api.post(f"/v1/offers/{withdrawn['id']}/withdraw")
    assert again.status_code == 409
    expiring = await make_offer(api, shipment_ids=await shipments(api, hub["id"]))
    later = datetime.now(UTC) + timedelta(hours=1)
    monkeypatch.setattr("backend.offers.service.utcnow", lambda: later)
    late = await taker.api.post(f"/v1/offers/{expiring['id']}/accept")
    assert late.status_code == 409 and late.json()["code"] == "offer_closed"
    assert "expired" in late.json()["detail"]


async def test_an_offer_nobody_accepts_opens_an_incident_when_it_expires(api, db, jobs) -> None:
    hub = await api.hub()
    c = await courier(api, db, hub["id"])
    offer = await make_offer(api, shipment_ids=await shipments(api, hub["id"]))
    phone = Handheld(c.api, f"phone-{c.driver_id}")
    await phone.pull()
    assert await jobs.expire_offers(datetime.now(UTC)) == 0
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await jobs.expire_offers(later) == 1
    assert await jobs.expire_offers(later) == 0
    incident = await db.fetchrow("SELECT kind, data::text AS data FROM incidents")
    assert incident["kind"] == "offer_expired" and offer["id"] in incident["data"]
    assert (await api.get(f"/v1/offers/{offer['id']}")).json()["status"] == "expired"
    await phone.pull()
    assert ("offer", offer["id"]) not in phone.local
    closed = await c.api.post(f"/v1/offers/{offer['id']}/accept")
    assert closed.json()["code"] == "offer_closed"


async def test_going_online_needs_an_active_courier(api, db) -> None:
    hub = await api.hub()
    c = await courier(api, db, hub["id"], metres_from_hub=None)
    employee = await api.as_driver(await api.driver(hub["id"]))
    assert (await employee.get("/v1/couriers/me")).status_code == 404
    body = {"position": point(*CENTER)}
    assert (await employee.post("/v1/couriers/me/online", body)).status_code == 404
    bad = await c.api.post("/v1/couriers/me/online", {"position": point(200, 0)})
    assert bad.status_code == 422
    online = (await c.api.post("/v1/couriers/me/online", body)).json()
    assert online["online"] is True and online["position"] == point(*CENTER)
    slots = [{"weekday": 2, "start": "09:00", "end": "17:00"}]
    updated = await c.api.put("/v1/couriers/me/availability", {"availability": slots})
    assert updated.json()["availability"] == slots
    wrong = await c.api.put(
        "/v1/couriers/me/availability",
        {"availability": [{"weekday": 2, "start": "09:00+02:00", "end": "17:00"}]},
    )
    assert wrong.status_code == 422
    await api.post(f"{c.application_path}/suspend", {"reason": "x"})
    # A suspension deactivates the courier's driver, which ends their sessions at once.
    refused = await c.api.post("/v1/couriers/me/online", body)
    assert refused.status_code == 401, refused.text


def test_a_driver_on_the_live_feed_sees_only_offers_made_to_them() -> None:
    me, other = uuid7(), uuid7()
    driver = Principal(user_id=uuid7(), role="driver", driver_id=me)
    sees = visible_to(driver, frozenset({"offer"}))
    assert sees(LiveMessage(type="offer", driver_id=me))
    assert not sees(LiveMessage(type="offer", driver_id=other))
    assert not sees(LiveMessage(type="driver.position", driver_id=me))
    staff = visible_to(Principal(user_id=uuid7(), role="dispatcher"), None)
    assert staff(LiveMessage(type="offer", driver_id=other))


def test_the_weekly_slot_a_work_window_needs() -> None:
    from backend.offers.eligibility import weekly_slot

    monday = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert weekly_slot(monday, monday + timedelta(hours=2)) == (1, "10:00", "12:00")
    assert weekly_slot(monday, monday.replace(hour=0) + timedelta(days=1)) == (1, "10:00", "24:00")
    assert weekly_slot(monday, monday + timedelta(hours=15)) is None  # past midnight
    assert weekly_slot(monday, monday + timedelta(days=3)) is None


async def test_the_same_work_offered_twice_at_once_makes_one_offer(api, db) -> None:
    hub = await api.hub()
    await courier(api, db, hub["id"])
    work = await shipments(api, hub["id"], count=2)
    responses = await asyncio.gather(
        *(api.post("/v1/offers", offer_body(shipment_ids=work)) for _ in range(6))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"offer_exists"}
    assert await db.fetchval("SELECT count(*) FROM offers") == 1
