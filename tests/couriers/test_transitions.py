"""The status machine: every allowed transition, illegal ones (409 naming the status), and the
record each transition leaves (who, when, why, a message, a `courier.status_changed` row)."""

import json

import pytest

from backend.couriers.state import ALLOWED
from tests.couriers.support import (
    active_courier,
    apply,
    checked,
    sign_in_courier,
    staff_post,
    submitted,
)

# Each action and the status it leads to.
ACTIONS = {
    "start-review": "under_review",
    "checks": "checks_pending",
    "approve": "approved",
    "reject": "rejected",
    "suspend": "suspended",
    "reactivate": "active",
    "offboard": "offboarded",
}
BODIES = {"reject": {"reason": "r"}, "suspend": {"reason": "r"}, "offboard": {"reason": "r"}}


async def application_in(api, client, db, status: str):
    """An application brought to `status` through the API."""
    hub = await api.hub()
    if status == "draft":
        return await apply(client)
    if status in ("active", "suspended", "offboarded"):
        applicant, _ = await active_courier(api, db, hub["id"])
        if status != "active":
            action = "suspend" if status == "suspended" else "offboard"
            await staff_post(api, f"{applicant.path}/{action}", {"reason": "r"})
        return applicant
    applicant = await submitted(client, db)
    if status == "submitted":
        return applicant
    if status == "rejected":
        await staff_post(api, f"{applicant.path}/reject", {"reason": "r"})
        return applicant
    await staff_post(api, f"{applicant.path}/start-review")
    if status == "checks_pending":
        await staff_post(api, f"{applicant.path}/checks")
    return applicant


ILLEGAL = [
    (status, action)
    for status in (
        "draft",
        "submitted",
        "under_review",
        "checks_pending",
        "rejected",
        "active",
        "suspended",
        "offboarded",
    )
    for action, target in ACTIONS.items()
    if target not in ALLOWED[status] and not (action == "approve" and status == "checks_pending")
]


@pytest.mark.parametrize(("status", "action"), ILLEGAL)
async def test_an_illegal_transition_is_409_naming_the_current_status(
    api, client, db, status, action
) -> None:
    applicant = await application_in(api, client, db, status)
    body = BODIES.get(action) or ({"home_hub_id": None} if action == "approve" else None)
    response = await api.post(f"{applicant.path}/{action}", body)
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "illegal_transition"
    assert problem["errors"] == [{"field": "status", "message": status}]
    assert status in problem["detail"]
    assert (await api.get(applicant.path)).json()["status"] == status


async def test_submitting_twice_is_409(client, db) -> None:
    applicant = await submitted(client, db)
    again = await applicant.post(f"{applicant.path}/submit")
    assert again.status_code == 409
    assert again.json()["errors"] == [{"field": "status", "message": "submitted"}]


async def test_the_whole_way_is_recorded_with_who_when_and_why(api, client, db) -> None:
    dispatcher = await api.user("dispatcher")
    hub = await api.hub()
    applicant = await submitted(client, db)
    await checked(dispatcher, applicant)
    await staff_post(api, f"{applicant.path}/approve", {"home_hub_id": hub["id"]})
    await staff_post(api, f"{applicant.path}/suspend", {"reason": "complaints"})
    await staff_post(api, f"{applicant.path}/reactivate", {"reason": "apologised"})
    read = await staff_post(api, f"{applicant.path}/offboard", {"reason": "moved away"})
    steps = [(t["from_status"], t["to_status"], t["actor_kind"]) for t in read["transitions"]]
    assert steps == [
        ("draft", "submitted", "applicant"),
        ("submitted", "under_review", "staff"),
        ("under_review", "checks_pending", "staff"),
        ("checks_pending", "approved", "staff"),
        ("approved", "active", "staff"),
        ("active", "suspended", "staff"),
        ("suspended", "active", "staff"),
        ("active", "offboarded", "staff"),
    ]
    reasons = [t["reason"] for t in read["transitions"]][-3:]
    assert reasons == ["complaints", "apologised", "moved away"]
    times = [t["at"] for t in read["transitions"]]
    assert times == sorted(times)
    messages = await db.fetch(
        "SELECT kind FROM courier_messages WHERE application_id = $1 AND kind LIKE 'status_%'"
        " ORDER BY created_at, id",
        applicant.id,
    )
    assert [m["kind"] for m in messages] == [f"status_{t}" for _, t, _ in steps]
    changed = await db.fetch(
        "SELECT payload FROM outbox WHERE topic = 'courier.status_changed' ORDER BY id"
    )
    assert len(changed) == len(steps)
    last = json.loads(changed[-1]["payload"])
    assert (last["from_status"], last["to_status"], last["reason"]) == (
        "active",
        "offboarded",
        "moved away",
    )
    assert last["application_id"] == applicant.id and last["driver_id"] == read["driver_id"]


async def test_a_rejected_application_can_do_nothing_more(api, client, db) -> None:
    applicant = await submitted(client, db)
    nul = await api.post(f"{applicant.path}/reject", {"reason": "no\u0000"})
    assert nul.status_code == 422 and nul.json()["errors"][0]["field"] == "reason"
    queue = await api.get("/v1/courier-applications", params={"city": "Ber\u0000lin"})
    assert queue.status_code in (400, 422)
    read = await staff_post(api, f"{applicant.path}/reject", {"reason": "no right to work"})
    assert read["status"] == "rejected"
    assert read["transitions"][-1]["reason"] == "no right to work"
    assert (
        await applicant.post(
            f"{applicant.path}/documents", {"kind": "id_card", "blob_sha256": "a" * 64}
        )
    ).status_code == 409
    assert (await applicant.get(applicant.path)).json()["status"] == "rejected"


async def test_approval_needs_a_clear_check(api, client, db) -> None:
    hub = await api.hub()
    applicant = await submitted(client, db)
    await checked(api, applicant, status="consider")
    response = await api.post(f"{applicant.path}/approve", {"home_hub_id": hub["id"]})
    assert response.status_code == 409
    assert response.json()["code"] == "check_not_clear"
    assert response.json()["errors"] == [{"field": "checks", "message": "consider"}]
    read = await staff_post(api, f"{applicant.path}/reject", {"reason": "check: consider"})
    assert read["status"] == "rejected"


async def test_approval_needs_a_finished_check(api, client, db) -> None:
    hub = await api.hub()
    applicant = await submitted(client, db)
    await staff_post(api, f"{applicant.path}/start-review")
    await staff_post(api, f"{applicant.path}/checks")
    response = await api.post(f"{applicant.path}/approve", {"home_hub_id": hub["id"]})
    assert response.status_code == 409
    assert response.json()["errors"] == [{"field": "checks", "message": "requested"}]


async def test_approval_makes_the_courier_a_driver_with_vehicle_zones_and_availability(
    api, client, db
) -> None:
    hub = await api.hub()
    zone = await api.zone(hub["id"])
    slots = [{"weekday": 1, "start": "08:00", "end": "12:00"}]
    applicant = await submitted(
        client,
        db,
        vehicle={"kind": "cargo_bike", "capacity_parcels": 40, "capacity_kg": 120},
        preferred_zone_ids=[zone["id"]],
        availability=slots,
    )
    await checked(api, applicant)
    read = await staff_post(api, f"{applicant.path}/approve", {})  # hub from the zone
    assert read["status"] == "active"
    driver = (await api.get(f"/v1/drivers/{read['driver_id']}")).json()
    assert driver["employment"] == "courier"
    assert driver["home_hub_id"] == hub["id"]
    assert driver["email"] == applicant.body["email"]
    assert driver["vehicle"] == {"kind": "cargo_bike", "capacity_parcels": 40, "capacity_kg": 120}
    courier = await sign_in_courier(api, applicant)  # with the password they applied with
    me = (await courier.get("/v1/couriers/me")).json()
    assert me["availability"] == slots
    assert me["status"] == "active" and me["online"] is False
    profile = await db.fetchval(
        "SELECT zone_ids::text FROM courier_profiles WHERE driver_id = $1", read["driver_id"]
    )
    assert zone["id"] in profile


async def test_approval_without_zone_needs_a_hub(api, client, db) -> None:
    applicant = await submitted(client, db)
    await checked(api, applicant)
    response = await api.post(f"{applicant.path}/approve", {})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "home_hub_id"
    assert (await api.get(applicant.path)).json()["status"] == "checks_pending"


async def test_suspension_and_offboarding_stop_the_courier_signing_in(api, db) -> None:
    hub = await api.hub()
    applicant, read = await active_courier(api, db, hub["id"])
    await staff_post(api, f"{applicant.path}/suspend", {"reason": "complaints"})
    refused = await api.client.post(
        "/v1/auth/token",
        json={"email": applicant.body["email"], "password": "courier-password"},
    )
    assert refused.status_code == 401
    assert (await api.get(f"/v1/drivers/{read['driver_id']}")).json()["active"] is False
    await staff_post(api, f"{applicant.path}/reactivate")
    await sign_in_courier(api, applicant)


async def test_the_review_queue_is_for_staff_only(api, client, db) -> None:
    applicant = await submitted(client, db)
    hub = await api.hub()
    driver = await api.as_driver(await api.driver(hub["id"]))
    partner = await api.user("partner")
    for who in (driver, partner):
        for action in ("start-review", "checks", "approve", "reject", "suspend", "offboard"):
            response = await who.post(f"{applicant.path}/{action}", BODIES.get(action, {}))
            assert response.status_code == 403, (who.role, action)
    assert (await api.get(applicant.path)).json()["status"] == "submitted"
    unknown = "0190e4c2-0000-7000-8000-000000000000"
    response = await api.post(f"/v1/courier-applications/{unknown}/start-review")
    assert response.status_code == 404
