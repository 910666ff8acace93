"""Endpoints and deliveries through the API: who manages what, SSRF, rotation, replays."""

import json
import uuid
from datetime import UTC, datetime

from standardwebhooks import Webhook

from backend.webhooks.worker import WebhookWorker
from tests.factories import Api, shipment_body
from tests.partners.support import partner
from tests.webhooks.support import endpoint, verify, worker


async def test_private_and_plain_http_urls_are_refused_without_the_flag(api: Api) -> None:
    """`api` runs with the default settings (no LASTMILE_WEBHOOKS_ALLOW_PRIVATE)."""
    for url in (
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest",
        "https://user:pw@example.com/",
        "ftp://example.com/",
        "https://no-such-host.invalid/",
        "not a url",
    ):
        response = await api.post(
            "/v1/webhook-endpoints", {"url": url, "event_types": ["shipment.created"]}
        )
        assert response.status_code == 422, (url, response.text)
        assert response.json()["errors"][0]["field"] == "url"


async def test_send_time_check_refuses_private_addresses(receiver, sessionmaker, db) -> None:
    """An endpoint whose name later resolves to a private address (rebinding) is refused
    when the worker connects, without the development flag."""
    await db.execute(
        "TRUNCATE webhook_attempts, webhook_deliveries, webhook_events, webhook_endpoints CASCADE"
    )
    endpoint_id, event_id = uuid.uuid4(), uuid.uuid4()
    await db.execute(
        "INSERT INTO webhook_endpoints (id, url, event_types, secret) VALUES ($1, $2, $3, $4)",
        endpoint_id,
        receiver.url.replace("127.0.0.1", "localhost"),
        ["route.published"],
        "whsec_" + "A" * 32,
    )
    await db.execute(
        "INSERT INTO webhook_events (id, type, body) VALUES ($1, 'route.published', '{}')", event_id
    )
    await db.execute(
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id) VALUES ($1, $2, $3)",
        uuid.uuid4(),
        event_id,
        endpoint_id,
    )
    await WebhookWorker(sessionmaker, allow_private=False).run_until_idle()
    assert receiver.received == []
    error = await db.fetchval("SELECT error FROM webhook_attempts")
    assert error.startswith("refused"), error


async def test_organisations_manage_only_their_own_endpoints(hooks_api: Api, receiver) -> None:
    api = hooks_api
    _, shop = await partner(api, "shipper")
    _, other = await partner(api, "shipper")
    dispatcher = await api.user("dispatcher")
    driver = await api.as_driver(await api.driver((await api.hub())["id"]))
    mine = await endpoint(shop, receiver.url, ["shipment.created"], description="orders")
    assert mine["secret"].startswith("whsec_")
    theirs = await endpoint(other, receiver.url, ["shipment.created"])
    admins = await endpoint(api, receiver.url, ["route.published"])
    assert (await shop.get("/v1/webhook-endpoints")).json()["items"][0]["id"] == mine["id"]
    assert len((await api.get("/v1/webhook-endpoints")).json()["items"]) == 3
    for path in (f"/v1/webhook-endpoints/{theirs['id']}", f"/v1/webhook-endpoints/{admins['id']}"):
        assert (await shop.get(path)).status_code == 404
        assert (await shop.patch(path, {"description": "x"})).status_code == 404
        assert (await shop.post(path + "/disable")).status_code == 404
        assert (await shop.post(path + "/rotate-secret")).status_code == 404
        assert (await shop.client.delete(path, headers=shop.headers)).status_code == 404
    for client in (dispatcher, driver):
        assert (await client.get("/v1/webhook-endpoints")).status_code == 403
        assert (await client.get("/v1/webhook-deliveries")).status_code == 403
    named = {
        "url": receiver.url,
        "event_types": ["shipment.created"],
        "organization_id": str(uuid.uuid4()),
    }
    assert (await shop.post("/v1/webhook-endpoints", named)).status_code == 422
    for bad in (
        {"url": receiver.url, "event_types": ["shipment.exploded"]},
        {"url": receiver.url, "event_types": []},
        {"url": receiver.url + "\x00", "event_types": ["shipment.created"]},
        {"url": receiver.url, "event_types": ["shipment.created"], "extra": 1},
    ):
        assert (await shop.post("/v1/webhook-endpoints", bad)).status_code in (400, 422), bad
    path = f"/v1/webhook-endpoints/{mine['id']}"
    assert (await shop.post(path + "/disable")).json()["enabled"] is False
    assert (await shop.post(path + "/enable")).json()["enabled"] is True
    updated = await shop.patch(path, {"event_types": ["shipment.delivered"]})
    assert updated.json()["event_types"] == ["shipment.delivered"]
    assert (await shop.client.delete(path, headers=shop.headers)).status_code == 204
    assert (await shop.get(path)).status_code == 404


async def test_a_shipper_hears_only_of_its_own_shipments(
    hooks_api: Api, receiver, sessionmaker
) -> None:
    api = hooks_api
    hub = await api.hub()
    _, shop = await partner(api, "shipper")
    _, other = await partner(api, "shipper")
    await endpoint(shop, receiver.url, ["shipment.created"])
    mine = await shop.created("/v1/shipments", shipment_body(hub["id"]))
    await other.created("/v1/shipments", shipment_body(hub["id"]))
    await api.shipment(hub["id"])
    await worker(sessionmaker).run_until_idle()
    ids = [m.body for m in receiver.received]
    assert len(ids) == 1 and mine["id"].encode() in ids[0]


async def test_rotation_signs_with_both_secrets_and_deliveries_can_be_inspected_and_replayed(
    hooks_api: Api, receiver, sessionmaker
) -> None:
    api = hooks_api
    hub = await api.hub()
    carrier_org, carrier = await partner(api, "regional_courier")
    _, other = await partner(api, "regional_courier")
    created = await endpoint(carrier, receiver.url, ["shipment.handed_over", "route.published"])
    path = f"/v1/webhook-endpoints/{created['id']}"
    rotated = (await carrier.post(path + "/rotate-secret")).json()
    shipment = await api.shipment(hub["id"])
    await api.post(
        f"/v1/shipments/{shipment['id']}/handover", {"organization_id": carrier_org["id"]}
    )
    await worker(sessionmaker).run_until_idle()
    [message] = receiver.received
    headers = {k.lower(): v for k, v in message.headers.items()}
    assert len(headers["webhook-signature"].split()) == 2
    Webhook(created["secret"]).verify(message.body, headers)  # the old secret still verifies
    verify(rotated["secret"], message)  # and so does the new one

    page = (
        await carrier.get("/v1/webhook-deliveries", params={"shipment_id": shipment["id"]})
    ).json()
    [delivery] = page["items"]
    assert delivery["status"] == "delivered" and delivery["type"] == "shipment.handed_over"
    assert delivery["webhook_id"] == headers["webhook-id"]
    assert (await other.get("/v1/webhook-deliveries")).json()["items"] == []
    attempts = (await carrier.get(f"/v1/webhook-deliveries/{delivery['id']}/attempts")).json()
    assert [(a["attempt"], a["status_code"]) for a in attempts] == [(1, 204)]
    assert (await other.get(f"/v1/webhook-deliveries/{delivery['id']}/attempts")).status_code == 404
    assert (
        await other.post(f"/v1/webhook-deliveries/{delivery['id']}/redeliver")
    ).status_code == 404
    again = await carrier.post(f"/v1/webhook-deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 202 and again.json()["status"] == "pending"
    replay = await carrier.post(path + "/replay", {"since": "2026-01-01T00:00:00Z"})
    assert replay.json() == {"deliveries": 1, "truncated": False}
    await worker(sessionmaker).run_until_idle()
    assert [m.headers["webhook-id"] for m in receiver.received] == [headers["webhook-id"]] * 3
    bad = await carrier.post(path + "/replay", {"since": "2026-01-01T00:00:00"})
    assert bad.status_code in (400, 422)
    for query in ({"status": "lost"}, {"endpoint_id": "x"}):
        assert (await carrier.get("/v1/webhook-deliveries", params=query)).status_code in (400, 422)


async def test_route_incident_and_pod_events(hooks_api: Api, receiver, sessionmaker) -> None:
    api = hooks_api
    hub = await api.hub()
    await endpoint(api, receiver.url, ["route.published", "pod.completed", "incident.opened"])
    carrier_org, carrier = await partner(api, "regional_courier")
    driver = await api.driver(hub["id"])
    shipments = [(await api.shipment(hub["id"]))["id"] for _ in range(2)]
    route = await api.route(driver["id"], hub["id"], shipments[:1])
    await api.publish_route(route["id"])
    await api.post(f"/v1/shipments/{shipments[1]}/handover", {"organization_id": carrier_org["id"]})
    delivered = {
        "event_id": str(uuid.uuid4()),
        "seq": 1,
        "type": "delivered",
        "shipment_id": shipments[1],
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": {"handoff": "recipient"},
    }
    assert (await carrier.post("/v1/partner/events", {"events": [delivered]})).status_code == 200
    await worker(sessionmaker).run_until_idle()
    types = sorted(json.loads(m.body)["type"] for m in receiver.received)
    assert "route.published" in types and "pod.completed" in types


def Webhook_type(body: bytes) -> str:
    import json

    return json.loads(body)["type"]
