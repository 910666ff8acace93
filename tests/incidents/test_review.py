"""After-action reviews: the timeline rebuilt from the event log, the outcome measured, and the
reviewers' findings and follow-ups, for incidents and for disruptions."""

from __future__ import annotations

import uuid

import pytest

from tests.disruptions.support import at_eleven, make_road, post_disruption
from tests.factories import Api
from tests.incidents.support import open_incidents
from tests.planning.support import plan_worker
from tests.sync.factories import Handheld, fleet


@pytest.fixture
async def worker(app, monkeypatch):
    at_eleven(monkeypatch)
    async for value in plan_worker(app):
        yield value


def kinds(review: dict) -> list[str]:
    return [entry["kind"] for entry in review["timeline"]]


async def test_an_incident_review_tells_what_happened_and_how_it_ended(api: Api) -> None:
    f = await fleet(api, drivers=2, per_route=2)
    shipment_id = f.shipments[0][0]["id"]
    [incident_id] = await open_incidents(
        api, {"kind": "custody_conflict", "shipment_id": shipment_id}
    )
    base = f"/v1/incidents/{incident_id}"
    await api.post(f"{base}/acknowledge")
    await api.post(f"{base}/comments", {"text": "driver 2 has the parcel"})
    step = await api.post(f"{base}/playbook/3", {"driver_id": f.drivers[1]["id"]})
    assert step.status_code == 200, step.text
    second = f.handhelds[1]
    await second.push(
        [
            second.event("scan_loaded", 1, shipment_id=shipment_id),
            second.event("delivered", 2, shipment_id=shipment_id, data={"handoff": "recipient"}),
        ]
    )
    resolved = await api.post(f"{base}/resolve", {"resolution_code": "delivered"})
    assert resolved.status_code == 200, resolved.text

    response = await api.get(f"{base}/review")
    assert response.status_code == 200, response.text
    review = response.json()
    own = [k for k in kinds(review) if not k.startswith("shipment.")]
    assert own == ["detected", "opened", "acknowledged", "commented", "action", "resolved"]
    shipment_kinds = {k for k in kinds(review) if k.startswith("shipment.")}
    assert {"shipment.unassigned", "shipment.assigned", "shipment.delivered"} <= shipment_kinds
    times = [entry["at"] for entry in review["timeline"]]
    assert times == sorted(times)
    action = next(e for e in review["timeline"] if e["kind"] == "action")
    assert action["data"]["action"] == "move_stops"
    assert action["actor_id"] is not None

    outcome = review["outcome"]
    assert outcome["seconds_to_acknowledge"] is not None
    assert outcome["seconds_to_acknowledge"] <= outcome["seconds_to_first_action"]
    assert outcome["seconds_to_first_action"] <= outcome["seconds_to_resolve"]
    assert (outcome["actions_taken"], outcome["reopened"]) == (1, 0)
    assert outcome["resolution_code"] == "delivered"
    assert outcome["shipments_affected"] == 1
    assert (outcome["delivered"], outcome["not_delivered"]) == (1, 0)
    assert outcome["delivered_in_window"] + outcome["delivered_late"] == 1
    assert review["findings"] == []


async def test_an_open_incident_reviews_with_what_has_happened_so_far(api: Api) -> None:
    [incident_id] = await open_incidents(api, {"kind": "stale_gps"})
    review = (await api.get(f"/v1/incidents/{incident_id}/review")).json()
    assert kinds(review) == ["detected", "opened"]
    outcome = review["outcome"]
    assert outcome["seconds_to_acknowledge"] is None and outcome["seconds_to_resolve"] is None
    assert (outcome["shipments_affected"], outcome["not_delivered"]) == (0, 0)
    assert (await api.get(f"/v1/incidents/{uuid.uuid4()}/review")).status_code == 404


async def test_reviewers_add_findings_and_follow_ups(api: Api) -> None:
    [incident_id] = await open_incidents(api, {"kind": "stale_gps"})
    owner = await api.created(
        "/v1/users",
        {"email": "owner@test.lastmile", "password": "user-password-1", "role": "dispatcher"},
    )
    partner = await api.created(
        "/v1/users",
        {"email": "partner-r@test.lastmile", "password": "user-password-1", "role": "partner"},
    )
    path = f"/v1/incidents/{incident_id}/review/findings"
    finding = await api.post(path, {"kind": "finding", "text": "The handheld ran flat at noon"})
    assert finding.status_code == 201, finding.text
    follow_up = await api.post(
        path,
        {
            "kind": "follow_up",
            "text": "Chargers in every van",
            "owner_id": owner["id"],
            "due": "2026-12-15",
        },
    )
    assert follow_up.status_code == 201, follow_up.text
    assert follow_up.json()["owner_id"] == owner["id"]
    refused = [
        ({"kind": "follow_up", "text": "x", "owner_id": partner["id"]}, "owner_id"),
        ({"kind": "follow_up", "text": "x", "owner_id": str(uuid.uuid4())}, "owner_id"),
        ({"kind": "finding", "text": "x", "due": "2026-12-15"}, "kind"),
        ({"kind": "finding", "text": ""}, "text"),
        ({"kind": "lesson", "text": "x"}, "kind"),
        ({"kind": "finding", "text": "x", "due": "2026-13-45"}, "due"),
        ({"kind": "finding", "text": "x", "extra": True}, "extra"),
    ]
    for body, field in refused:
        response = await api.post(path, body)
        assert response.status_code in (400, 422), (body, response.text)
        assert field in response.text, (body, response.text)
    missing = await api.post(
        f"/v1/incidents/{uuid.uuid4()}/review/findings", {"kind": "finding", "text": "x"}
    )
    assert missing.status_code == 404
    review = (await api.get(f"/v1/incidents/{incident_id}/review")).json()
    assert [(f["kind"], f["text"]) for f in review["findings"]] == [
        ("finding", "The handheld ran flat at noon"),
        ("follow_up", "Chargers in every van"),
    ]
    assert review["findings"][1]["due"] == "2026-12-15"


async def test_a_disruption_review_measures_the_recovery(api: Api, worker) -> None:
    road = await make_road(api)
    disruption = await post_disruption(
        api, {"kind": "vehicle_breakdown", "driver_id": road.drivers[0]["id"], "mode": "live"}
    )
    while await worker.run_once() is not None:
        pass
    assert (await api.post(f"/v1/disruptions/{disruption['id']}/apply")).status_code == 200
    spare = Handheld(await api.as_driver(road.spare, "device-spare"), "device-spare")
    moved = road.shipments[0][1:]
    events = [spare.event("scan_loaded", 1, shipment_id=s) for s in moved]
    events += [
        spare.event("delivered", 5, shipment_id=s, data={"handoff": "recipient"}) for s in moved[:2]
    ]
    await spare.push(events)
    path = f"/v1/disruptions/{disruption['id']}/review"
    response = await api.get(path)
    assert response.status_code == 200, response.text
    review = response.json()
    assert review["status"] == "applied"
    assert [k for k in kinds(review) if not k.startswith(("shipment.", "incident."))] == [
        "detected",
        "plan_ready",
        "applied",
    ]
    outcome = review["outcome"]
    assert outcome["shipments_affected"] == 3
    assert (outcome["delivered"], outcome["not_delivered"]) == (2, 1)
    assert outcome["delivered_in_window"] == 2
    assert outcome["seconds_to_plan"] is not None and outcome["seconds_to_apply"] is not None
    assert outcome["seconds_to_recover"] is None
    added = await api.post(
        f"{path}/findings", {"kind": "follow_up", "text": "Second spare van on Mondays"}
    )
    assert added.status_code == 201, added.text
    assert [f["text"] for f in (await api.get(path)).json()["findings"]] == [
        "Second spare van on Mondays"
    ]
    assert (await api.get(f"/v1/disruptions/{uuid.uuid4()}/review")).status_code == 404
