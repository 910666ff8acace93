"""repeated_failure: opened in the push that records the second failed attempt (no job round
needed), kept by the job, cleared by a status change or a round, opened again when the cause
returns."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

from tests.factories import Api
from tests.incidents.rules_support import (
    assert_cleared,
    data_of,
    detect,
    incidents,
    open_one,
    rule,
    set_rules,
)
from tests.sync.factories import Handheld, fleet

ABSENT = {"reason": "recipient_absent"}


def _an_hour_ago(handheld: Handheld) -> Handheld:
    t0 = datetime.now(UTC) - timedelta(hours=1)
    return Handheld(handheld.api, handheld.device_id, t0=t0)


async def _attempt(handheld: Handheld, shipment_id: str, second: int) -> None:
    result = await handheld.push(
        [
            handheld.event("scan_loaded", second, shipment_id=shipment_id),
            handheld.event("delivery_failed", second + 5, shipment_id=shipment_id, data=ABSENT),
        ]
    )
    assert [r["status"] for r in result["results"]] == ["accepted", "accepted"]


async def test_repeated_failure_opens_with_the_push_and_clears_with_the_status(
    api: Api, jobs, db
) -> None:
    f = await fleet(api, drivers=1, per_route=2)
    route = f.routes[0]
    # Events of the past hour, so dispatch's cancellation (now) comes after them in the fold.
    handheld = _an_hour_ago(f.handhelds[0])
    shipment_id, other_id = f.shipments[0][0]["id"], f.shipments[0][1]["id"]
    await _attempt(handheld, shipment_id, 0)
    await _attempt(handheld, other_id, 2)
    assert await incidents(db, "repeated_failure") == []

    await _attempt(handheld, shipment_id, 10)  # the second failed attempt
    incident = await open_one(db, "repeated_failure")
    assert incident["subject"] == f"shipment:{shipment_id}"
    assert (incident["hub_id"], incident["route_id"], incident["driver_id"]) == (
        UUID(f.hub["id"]),
        UUID(route["id"]),
        UUID(f.drivers[0]["id"]),
    )
    assert incident["severity"] == "medium"
    activity = await db.fetchval(
        "SELECT count(*) FROM incident_activities WHERE incident_id = $1", incident["id"]
    )
    assert activity == 0  # opening logs nothing of the rule's own; the triage log starts empty

    # The job finds the same fault: nothing new.
    round_ = await detect(jobs, datetime.now(UTC))
    assert (round_.at_fault["repeated_failure"], round_.started["repeated_failure"]) == (1, 0)
    assert len(await incidents(db, "repeated_failure")) == 1

    # The hub tolerates three failures: the next round clears it ...
    await set_rules(api, f.hub["id"], rules=[rule("repeated_failure", 3, "high")])
    assert (await detect(jobs, datetime.now(UTC))).cleared["repeated_failure"] == 1
    await assert_cleared(db, incident["id"])
    # ... and the third failure opens a new one in its own push, with the hub's severity.
    await _attempt(handheld, shipment_id, 20)
    again = await open_one(db, "repeated_failure")
    assert again["id"] != incident["id"]
    assert (again["severity"], data_of(again)["failed_attempts"]) == ("high", 3)

    # Dispatch cancels the shipment: cleared in the same transaction.
    response = await api.post(f"/v1/shipments/{shipment_id}/cancel")
    assert response.status_code == 200, response.text
    await assert_cleared(db, again["id"])
    assert (await detect(jobs, datetime.now(UTC))).at_fault["repeated_failure"] == 0


async def test_a_replayed_failure_opens_nothing_more(api: Api, db) -> None:
    f = await fleet(api, drivers=1, per_route=1)
    handheld, shipment_id = f.handhelds[0], f.shipments[0][0]["id"]
    await _attempt(handheld, shipment_id, 0)
    events = [
        handheld.event("scan_loaded", 10, shipment_id=shipment_id),
        handheld.event("delivery_failed", 15, shipment_id=shipment_id, data=ABSENT),
    ]
    batch = "0192f0c8-0000-7000-8000-000000000001"
    await handheld.push(events, batch_id=batch)
    await handheld.push(events, batch_id=batch)
    await handheld.push(events)  # the same events in another batch: duplicates
    assert len(await incidents(db, "repeated_failure")) == 1


async def test_custody_conflicts_of_one_shipment_are_one_urgent_incident(api: Api, db) -> None:
    f = await fleet(api, drivers=2, per_route=1)
    first, shipment_id = f.handhelds[0], f.shipments[0][0]["id"]
    await api.post(f"/v1/routes/{f.routes[0]['id']}/reassign", {"driver_id": f.drivers[1]["id"]})
    await first.push([first.event("scan_loaded", 1, shipment_id=shipment_id)])
    await first.push([first.event("scan_loaded", 2, shipment_id=shipment_id)])
    incident = await open_one(db, "custody_conflict")
    assert (incident["subject"], incident["severity"]) == (f"shipment:{shipment_id}", "high")
