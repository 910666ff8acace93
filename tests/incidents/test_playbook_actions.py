"""Playbook steps: one-click actions reach the drivers' next pull, the recipients' messages (with
the new window and the tracking link) and the tracking page; manual steps are marked done; every
step is on the incident's log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend.db.session import make_engine, make_sessionmaker
from backend.live.hub import LiveRuntime
from backend.notifications.providers import NOTIFIER_KEY, Notifier, RecordingProvider
from backend.outbox.handlers import HANDLERS
from backend.outbox.worker import OutboxWorker
from tests.conftest import make_settings
from tests.factories import Api
from tests.incidents.support import open_incidents, set_fields
from tests.partners.support import partner
from tests.sync.factories import Fleet, Handheld, fleet

TRACK_BASE = "https://track.example"
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).date()
NEW_WINDOW = {
    "start": f"{TOMORROW.isoformat()}T14:00:00Z",
    "end": f"{TOMORROW.isoformat()}T16:00:00Z",
}


@pytest.fixture
async def outbox(app):
    """The outbox worker with a recording provider, on an engine of this event loop."""
    settings = make_settings(channels_backend="memory")
    live = LiveRuntime(settings)
    engine = make_engine(settings)
    notifier = Notifier(RecordingProvider(), TRACK_BASE)
    sessionmaker = make_sessionmaker(engine, info=live.session_info | {NOTIFIER_KEY: notifier})
    async with live.running():
        yield OutboxWorker(sessionmaker, HANDLERS)
    await engine.dispose()


async def drain(worker: OutboxWorker) -> None:
    while await worker.run_once():
        pass


async def step(api: Api, incident_id: str, number: int, body: Any = None) -> dict[str, Any]:
    response = await api.post(f"/v1/incidents/{incident_id}/playbook/{number}", body or {})
    assert response.status_code == 200, response.text
    return response.json()


def shipments_held(handheld: Handheld) -> set[str]:
    return {key[1] for key in handheld.local if key[0] == "shipment"}


async def pulled(f: Fleet) -> None:
    for handheld in f.handhelds:
        await handheld.pull()


async def notifications(api: Api, shipment_id: str) -> list[dict[str, Any]]:
    response = await api.get("/v1/notifications", params={"shipment_id": shipment_id})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_moving_stops_reaches_both_drivers_pulls(api: Api) -> None:
    f = await fleet(api, drivers=2, per_route=2)
    await pulled(f)
    moved = f.shipments[0][0]["id"]
    [incident_id] = await open_incidents(
        api, {"kind": "custody_conflict", "shipment_id": moved, "driver_id": f.drivers[1]["id"]}
    )
    taken = await step(api, incident_id, 3, {"driver_id": f.drivers[1]["id"]})
    assert taken["result"]["route_id"] == f.routes[1]["id"]
    assert taken["result"]["from_route_ids"] == [f.routes[0]["id"]]
    assert taken["incident"]["playbook"][2]["taken_at"] is not None
    assert taken["incident"]["status"] == "acknowledged"
    await pulled(f)
    assert moved not in shipments_held(f.handhelds[0])
    assert moved in shipments_held(f.handhelds[1])
    assert shipments_held(f.handhelds[1]) == {moved} | {s["id"] for s in f.shipments[1]}
    # The device copies equal fresh snapshots: nothing lost, nothing left behind.
    for handheld in f.handhelds:
        assert handheld.local == await handheld.snapshot()


async def test_a_new_window_reaches_the_driver_the_recipient_and_the_tracking_page(
    api: Api, outbox: OutboxWorker
) -> None:
    f = await fleet(api, drivers=1, per_route=2)
    await pulled(f)
    shipment = f.shipments[0][0]
    [incident_id] = await open_incidents(
        api, {"kind": "custody_conflict", "shipment_id": shipment["id"]}
    )
    taken = await step(api, incident_id, 4, {"window": NEW_WINDOW})
    assert taken["result"]["shipment_ids"] == [shipment["id"]]
    await f.handhelds[0].pull()
    held = f.handhelds[0].local[("shipment", shipment["id"])]
    assert _same_window(held["window"], NEW_WINDOW)
    await drain(outbox)
    [message] = await notifications(api, shipment["id"])
    assert message["kind"] == "new_window"
    assert "has a new delivery window" in message["body"]
    assert "between 14:00 and 16:00 UTC" in message["body"]
    assert f"{TRACK_BASE}/t/{shipment['tracking_token']}" in message["body"]
    tracking = await api.client.get(f"/v1/track/{shipment['tracking_token']}")
    assert tracking.status_code == 200, tracking.text
    assert _same_window(tracking.json()["window"], NEW_WINDOW)
    page = await api.client.get(f"/t/{shipment['tracking_token']}")
    assert page.status_code == 200
    assert "Delivery window" in page.text and "14:00 to 16:00 UTC" in page.text


async def test_rescheduling_drops_the_stop_and_tells_the_recipient(
    api: Api, outbox: OutboxWorker
) -> None:
    f = await fleet(api, drivers=1, per_route=2)
    await pulled(f)
    shipment, stays = f.shipments[0]
    [incident_id] = await open_incidents(
        api, {"kind": "repeated_failure", "shipment_id": shipment["id"]}
    )
    taken = await step(api, incident_id, 2, {"window": NEW_WINDOW})
    assert taken["result"]["from_route_ids"] == [f.routes[0]["id"]]
    await f.handhelds[0].pull()
    assert shipments_held(f.handhelds[0]) == {stays["id"]}
    await drain(outbox)
    [message] = await notifications(api, shipment["id"])
    assert message["kind"] == "new_window"
    assert "we moved its delivery to" in message["body"]
    assert "between 14:00 and 16:00 UTC" in message["body"]
    assert shipment["tracking_token"] in message["body"]
    tracking = (await api.client.get(f"/v1/track/{shipment['tracking_token']}")).json()
    assert _same_window(tracking["window"], NEW_WINDOW)
    past = {"start": "2020-01-01T10:00:00Z", "end": "2020-01-01T12:00:00Z"}
    response = await api.post(f"/v1/incidents/{incident_id}/playbook/2", {"window": past})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "window.start"


async def test_handing_over_gives_the_carrier_the_shipments_and_the_driver_loses_them(
    api: Api,
) -> None:
    f = await fleet(api, drivers=1, per_route=2)
    await pulled(f)
    carrier, carrier_api = await partner(api, "regional_courier")
    shipment = f.shipments[0][1]
    [incident_id] = await open_incidents(api, {"kind": "late_risk", "shipment_id": shipment["id"]})
    taken = await step(api, incident_id, 4, {"organization_id": carrier["id"]})
    assert taken["result"]["shipment_ids"] == [shipment["id"]]
    await f.handhelds[0].pull()
    assert shipment["id"] not in shipments_held(f.handhelds[0])
    seen = await carrier_api.get(f"/v1/shipments/{shipment['id']}")
    assert seen.status_code == 200 and seen.json()["status"] == "with_partner"


async def test_giving_the_route_to_another_driver_moves_it_between_pulls(api: Api) -> None:
    f = await fleet(api, drivers=2, per_route=2)
    await pulled(f)
    [incident_id] = await open_incidents(
        api, {"kind": "driver_silent", "driver_id": f.drivers[0]["id"]}
    )
    await set_fields(incident_id, route_id=f.routes[0]["id"])
    await step(api, incident_id, 2, {"driver_id": f.drivers[1]["id"]})
    await pulled(f)
    assert shipments_held(f.handhelds[0]) == set()
    everything = {s["id"] for route in f.shipments for s in route}
    assert shipments_held(f.handhelds[1]) == everything
    assert ("route", f.routes[0]["id"]) in f.handhelds[1].local


async def test_re_planning_queues_a_plan_of_the_routes_stops(api: Api) -> None:
    f = await fleet(api, drivers=1, per_route=3)
    [incident_id] = await open_incidents(
        api, {"kind": "late_risk", "shipment_id": f.shipments[0][0]["id"]}
    )
    taken = await step(api, incident_id, 1, {"time_limit_s": 1})
    assert taken["result"]["route_id"] == f.routes[0]["id"]
    plan = await api.get(f"/v1/plans/{taken['result']['plan_id']}")
    assert plan.status_code == 200, plan.text
    assert plan.json()["status"] == "queued"
    assert plan.json()["hub_id"] == f.hub["id"]


async def test_manual_steps_are_marked_done_and_logged(api: Api) -> None:
    [incident_id] = await open_incidents(api, {"kind": "kpi_off_target"})
    taken = await step(api, incident_id, 2, {"note": "two routes started late"})
    assert taken["result"] == {}
    playbook = taken["incident"]["playbook"]
    assert [s["taken_at"] is not None for s in playbook] == [False, True, False]
    # No body at all is a manual step too.
    response = await api.post(f"/v1/incidents/{incident_id}/playbook/1")
    assert response.status_code == 200, response.text
    log = (await api.get(f"/v1/incidents/{incident_id}")).json()["activities"]
    assert [a["kind"] for a in log] == ["acknowledged", "action", "action"]
    assert log[1]["data"]["step"] == 2 and log[1]["data"]["note"] == "two routes started late"
    assert log[1]["data"]["action"] is None


async def test_steps_refuse_what_they_cannot_do(api: Api) -> None:
    f = await fleet(api, drivers=1, per_route=1)
    shipment_id = f.shipments[0][0]["id"]
    [incident_id] = await open_incidents(
        api, {"kind": "custody_conflict", "shipment_id": shipment_id}
    )
    base = f"/v1/incidents/{incident_id}/playbook"
    cases = [
        (0, {}, 404),
        (5, {}, 404),
        (10**30, {}, 404),
        (3, {}, 422),  # move_stops without driver_id
        (3, {"driver_id": str(uuid.uuid4())}, 422),
        (3, {"driver_id": f.drivers[0]["id"], "shipment_ids": [str(uuid.uuid4())]}, 422),
        (4, {"window": {"start": "2026-12-02T14:00:00", "end": "2026-12-02T16:00:00"}}, 422),
        (4, {"window": {"start": "2026-12-02T16:00:00Z", "end": "2026-12-02T14:00:00Z"}}, 422),
        (1, {"surprise": True}, 422),
        (1, {"note": "bad\u0000note"}, 422),
    ]
    for number, body, status in cases:
        response = await api.post(f"{base}/{number}", body)
        assert response.status_code in (status, 400 if status == 422 else status), (
            number,
            body,
            response.text,
        )
        assert response.headers["content-type"].startswith("application/problem+json")
    log = (await api.get(f"/v1/incidents/{incident_id}")).json()["activities"]
    assert log == []  # a refused step changes nothing
    await api.post(f"/v1/incidents/{incident_id}/resolve", {"resolution_code": "fixed"})
    response = await api.post(f"{base}/1", {})
    assert response.status_code == 409 and response.json()["code"] == "incident_resolved"
    unknown = await api.post(f"/v1/incidents/{uuid.uuid4()}/playbook/1", {})
    assert unknown.status_code == 404


def _same_window(got: dict[str, str], want: dict[str, str]) -> bool:
    def parse(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    return all(parse(got[key]) == parse(want[key]) for key in ("start", "end"))


async def test_a_route_incident_tells_only_the_recipients_still_waiting(
    api: Api, outbox: OutboxWorker
) -> None:
    f = await fleet(api, drivers=1, per_route=2)
    delivered, waiting = (s["id"] for s in f.shipments[0])
    handheld = f.handhelds[0]
    await handheld.push(
        [
            handheld.event("scan_loaded", 1, shipment_id=delivered),
            handheld.event("delivered", 2, shipment_id=delivered, data={"handoff": "recipient"}),
        ]
    )
    [incident_id] = await open_incidents(
        api, {"kind": "route_not_started", "driver_id": f.drivers[0]["id"]}
    )
    await set_fields(incident_id, route_id=f.routes[0]["id"])
    taken = await step(api, incident_id, 3, {"window": NEW_WINDOW})
    assert taken["result"]["shipment_ids"] == [waiting]
    await drain(outbox)
    assert [n["kind"] for n in await notifications(api, waiting)] == ["new_window"]
    assert "new_window" not in [n["kind"] for n in await notifications(api, delivered)]
