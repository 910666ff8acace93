"""The incident API: list and filter, get with its log, acknowledge, assign, comment, resolve,
reopen; every change on the live feed and in the activity log."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from tests.conftest import Live
from tests.factories import Api
from tests.incidents.support import open_incidents, set_fields
from tests.live.support import next_message
from tests.webhooks.support import endpoint

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def _world(api: Api) -> tuple[dict, dict, dict]:
    hub = await api.hub()
    shipment = await api.shipment(hub["id"])
    driver = await api.driver(hub["id"])
    return hub, shipment, driver


async def test_the_list_filters_by_status_kind_severity_hub_route_and_since(api: Api) -> None:
    hub, shipment, driver = await _world(api)
    other_hub = await api.hub()
    route = await api.route(driver["id"], hub["id"], [shipment["id"]])
    [first] = await open_incidents(api, {"kind": "stale_gps", "driver_id": driver["id"]})
    [second] = await open_incidents(
        api, {"kind": "outside_geofence", "shipment_id": shipment["id"]}
    )
    [third] = await open_incidents(api, {"kind": "late_risk", "shipment_id": shipment["id"]})
    await set_fields(first, severity="high", hub_id=hub["id"])
    await set_fields(second, severity="critical", hub_id=other_hub["id"], route_id=route["id"])
    await set_fields(third, created_at=T0 - timedelta(days=3))
    assert (await api.post(f"/v1/incidents/{second}/acknowledge")).status_code == 200

    async def ids(**params: str) -> list[str]:
        response = await api.get("/v1/incidents", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    # Newest first (the third was opened three days ago), nothing hidden.
    assert await ids() == [second, first, third]
    assert await ids(status="open") == [first, third]
    assert await ids(status="open,acknowledged") == [second, first, third]
    assert await ids(kind="stale_gps,late_risk") == [first, third]
    assert await ids(severity="high,critical") == [second, first]
    assert await ids(hub_id=hub["id"]) == [first]
    assert await ids(route_id=route["id"]) == [second]
    assert await ids(since=(T0 - timedelta(days=1)).isoformat()) == [second, first]
    assert await ids(status="resolved") == []


async def test_the_list_pages_with_a_cursor(api: Api) -> None:
    # Opened by one statement (one created_at) and by separate ones.
    opened = await open_incidents(api, *[{"kind": "stale_gps"}] * 3)
    opened = [*sorted(opened), (await open_incidents(api, {"kind": "late_risk"}))[0]]
    opened += await open_incidents(api, {"kind": "late_risk"})
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/v1/incidents", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == list(reversed(opened))


async def test_bad_filters_are_422_naming_the_field(api: Api) -> None:
    cases = {
        "status": "open,closed",
        "severity": "urgent",
        "kind": "Stale GPS!",
        "since": "2026-12-01T09:00:00",
        "hub_id": "not-a-uuid",
        "limit": "100000000000000000000",
        "cursor": "%%%",
    }
    for field, value in cases.items():
        response = await api.get("/v1/incidents", params={field: value})
        assert response.status_code in (400, 422), (field, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in response.text, (field, response.text)


async def test_an_incident_reads_with_its_playbook_and_activity_log(api: Api) -> None:
    _, shipment, driver = await _world(api)
    [incident_id] = await open_incidents(
        api,
        {
            "kind": "custody_conflict",
            "shipment_id": shipment["id"],
            "driver_id": driver["id"],
            "data": {"event_type": "scan_loaded"},
            "occurred_at": T0,
        },
    )
    response = await api.get(f"/v1/incidents/{incident_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "open" and body["severity"] == "medium"
    assert body["shipment_id"] == shipment["id"] and body["driver_id"] == driver["id"]
    assert body["data"] == {"event_type": "scan_loaded"}
    assert body["occurred_at"] == "2026-12-01T09:00:00Z"
    assert [step["step"] for step in body["playbook"]] == [1, 2, 3, 4]
    assert body["playbook"][2]["action"] == "move_stops"
    assert body["playbook"][0]["action"] is None
    assert all(step["taken_at"] is None for step in body["playbook"])
    assert body["activities"] == []
    missing = await api.get(f"/v1/incidents/{uuid.uuid4()}")
    assert missing.status_code == 404


async def test_triage_from_acknowledge_to_reopen(api: Api) -> None:
    _, shipment, _ = await _world(api)
    [incident_id] = await open_incidents(api, {"shipment_id": shipment["id"]})
    dispatcher = await api.user("dispatcher")
    base = f"/v1/incidents/{incident_id}"

    first = await dispatcher.post(f"{base}/acknowledge")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "acknowledged"
    again = await api.post(f"{base}/acknowledge")
    assert again.json()["acknowledged_at"] == first.json()["acknowledged_at"]

    assignee = await api.created(
        "/v1/users",
        {"email": "assignee@test.lastmile", "password": "user-password-1", "role": "dispatcher"},
    )
    assigned = await dispatcher.post(f"{base}/assign", {"user_id": assignee["id"]})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assigned_to"] == assignee["id"]

    comment = await dispatcher.post(f"{base}/comments", {"text": "Calling the driver now"})
    assert comment.status_code == 201, comment.text
    assert comment.json()["kind"] == "commented"
    assert comment.json()["data"] == {"text": "Calling the driver now"}

    resolved = await dispatcher.post(
        f"{base}/resolve", {"resolution_code": "fixed", "note": "driver had it"}
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolution_code"] == "fixed"
    assert resolved.json()["resolved_at"] is not None
    twice = await api.post(f"{base}/resolve", {"resolution_code": "fixed"})
    assert twice.status_code == 409 and twice.json()["code"] == "incident_resolved"
    late_ack = await api.post(f"{base}/acknowledge")
    assert late_ack.status_code == 409 and late_ack.json()["code"] == "incident_resolved"

    reopened = await api.post(f"{base}/reopen", {"reason": "the parcel is missing after all"})
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert (body["status"], body["resolved_at"], body["resolution_code"]) == ("open", None, None)
    not_resolved = await api.post(f"{base}/reopen", {"reason": "again"})
    assert not_resolved.status_code == 409
    assert not_resolved.json()["code"] == "incident_not_resolved"

    log = (await api.get(base)).json()["activities"]
    assert [a["kind"] for a in log] == [
        "acknowledged",
        "assigned",
        "commented",
        "resolved",
        "reopened",
    ]
    assert log[3]["data"] == {"resolution_code": "fixed", "note": "driver had it"}
    assert log[4]["data"]["reason"] == "the parcel is missing after all"
    assert log[0]["actor_id"] is not None


async def test_resolving_sends_the_incident_resolved_webhook(api: Api, db) -> None:
    _, shipment, _ = await _world(api)
    [incident_id] = await open_incidents(api, {"shipment_id": shipment["id"]})
    # A public address written as one; nothing is sent (no webhook worker runs here).
    await endpoint(api, "https://93.184.216.34/hook", ["incident.resolved"])
    response = await api.post(
        f"/v1/incidents/{incident_id}/resolve", {"resolution_code": "false_alarm"}
    )
    assert response.status_code == 200, response.text
    rows = await db.fetch("SELECT body FROM webhook_events WHERE type = 'incident.resolved'")
    assert len(rows) == 1
    assert incident_id.encode() in rows[0]["body"]


async def test_assigning_to_someone_not_staff_is_422(api: Api) -> None:
    _hub, shipment, driver = await _world(api)
    [incident_id] = await open_incidents(api, {"shipment_id": shipment["id"]})
    partner = await api.created(
        "/v1/users",
        {"email": "partner-x@test.lastmile", "password": "user-password-1", "role": "partner"},
    )
    for user_id in (partner["id"], driver["user_id"], str(uuid.uuid4())):
        response = await api.post(f"/v1/incidents/{incident_id}/assign", {"user_id": user_id})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "user_id"


async def test_bodies_are_checked_field_by_field(api: Api) -> None:
    [incident_id] = await open_incidents(api, {"kind": "stale_gps"})
    base = f"/v1/incidents/{incident_id}"
    cases = [
        ("comments", {"text": ""}),
        ("comments", {"text": "   "}),
        ("comments", {"text": "x" * 4001}),
        ("comments", {"text": "ok", "extra": 1}),
        ("comments", {"text": "nul\u0000here"}),
        ("resolve", {"resolution_code": "solved"}),
        ("resolve", {"resolution_code": "fixed", "note": "n" * 2001}),
        ("reopen", {}),
        ("assign", {"user_id": "42"}),
    ]
    for action, body in cases:
        response = await api.post(f"{base}/{action}", body)
        assert 400 <= response.status_code < 500 and response.status_code != 404, (
            action,
            body,
            response.text,
        )
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await api.get(base)).json()["activities"] == []


async def test_another_role_or_an_unknown_id_learns_nothing(api: Api) -> None:
    _hub, shipment, driver = await _world(api)
    [incident_id] = await open_incidents(api, {"shipment_id": shipment["id"]})
    handheld = await api.as_driver(driver)
    assert (await handheld.get(f"/v1/incidents/{incident_id}")).status_code == 403
    assert (await handheld.post(f"/v1/incidents/{incident_id}/acknowledge")).status_code == 403
    unknown = uuid.uuid4()
    for action in ("acknowledge", "resolve", "reopen", "comments", "assign"):
        body = {
            "resolve": {"resolution_code": "fixed"},
            "reopen": {"reason": "r"},
            "comments": {"text": "t"},
            "assign": {"user_id": str(unknown)},
        }.get(action)
        response = await api.post(f"/v1/incidents/{unknown}/{action}", body)
        assert response.status_code == 404, (action, response.text)


async def test_concurrent_acknowledgements_log_one(api: Api) -> None:
    [incident_id] = await open_incidents(api, {"kind": "stale_gps"})
    dispatchers = [await api.user("dispatcher") for _ in range(3)]
    answers = await asyncio.gather(
        *(d.post(f"/v1/incidents/{incident_id}/acknowledge") for d in dispatchers)
    )
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert len({a.json()["acknowledged_at"] for a in answers}) == 1
    log = (await api.get(f"/v1/incidents/{incident_id}")).json()["activities"]
    assert [a["kind"] for a in log] == ["acknowledged"]


async def test_reopening_beside_a_newer_incident_about_the_same_subject_is_409(api: Api) -> None:
    first, second = await open_incidents(api, {"kind": "stale_gps"}, {"kind": "stale_gps"})
    await set_fields(first, subject="driver:x")
    await api.post(f"/v1/incidents/{first}/resolve", {"resolution_code": "cleared"})
    await set_fields(second, subject="driver:x")
    response = await api.post(f"/v1/incidents/{first}/reopen", {"reason": "back"})
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "incident_superseded"


async def test_every_change_is_announced_on_the_dispatch_feed(api: Api, pg_live: Live) -> None:
    [incident_id] = await open_incidents(api, {"kind": "stale_gps"})
    base = f"/v1/incidents/{incident_id}"
    with pg_live.runtime.hub.feed(lambda m: m.type == "incident") as feed:
        await api.post(f"{base}/acknowledge")
        await api.post(f"{base}/comments", {"text": "looking"})
        await api.post(f"{base}/resolve", {"resolution_code": "fixed"})
        await api.post(f"{base}/reopen", {"reason": "again"})
        messages = [await next_message(feed) for _ in range(4)]
    assert {m.data["id"] for m in messages} == {incident_id}
    assert [(m.data["change"], m.data["status"]) for m in messages] == [
        ("acknowledged", "acknowledged"),
        ("commented", "acknowledged"),
        ("resolved", "resolved"),
        ("reopened", "open"),
    ]
    assert all(m.data["kind"] == "stale_gps" and m.data["severity"] for m in messages)


async def test_concurrent_resolutions_resolve_once(api: Api) -> None:
    [incident_id] = await open_incidents(api, {"kind": "stale_gps"})
    dispatchers = [await api.user("dispatcher") for _ in range(3)]
    answers = await asyncio.gather(
        *(
            d.post(f"/v1/incidents/{incident_id}/resolve", {"resolution_code": "fixed"})
            for d in dispatchers
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409]
    log = (await api.get(f"/v1/incidents/{incident_id}")).json()["activities"]
    assert [a["kind"] for a in log] == ["resolved"]
