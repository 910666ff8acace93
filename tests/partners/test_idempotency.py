"""Idempotency-Key: replays, reuse with another body, the concurrent case, per-caller scope."""

import asyncio

from tests.factories import Api, shipment_body
from tests.partners.support import partner


async def test_same_key_same_body_replays_the_stored_response(api: Api, db) -> None:
    hub = await api.hub()
    _, shop = await partner(api, "shipper")
    body = shipment_body(hub["id"])
    headers = shop.headers | {"Idempotency-Key": "order-42"}
    first = await api.client.post("/v1/shipments", json=body, headers=headers)
    second = await api.client.post("/v1/shipments", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await db.fetchval("SELECT count(*) FROM shipments") == 1
    # Another body under the same key is refused, naming the header.
    other = await api.client.post("/v1/shipments", json=shipment_body(hub["id"]), headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    # Keys are per caller: the admin's "order-42" is its own.
    mine = await api.client.post(
        "/v1/shipments",
        json=shipment_body(hub["id"]),
        headers=api.headers | {"Idempotency-Key": "order-42"},
    )
    assert mine.status_code == 201 and mine.json()["id"] != first.json()["id"]


async def test_errors_are_stored_too_but_bad_keys_are_refused(api: Api) -> None:
    hub = await api.hub()
    headers = api.headers | {"Idempotency-Key": "k-1"}
    bad = shipment_body(hub["id"], parcels=[])
    first = await api.client.post("/v1/shipments", json=bad, headers=headers)
    again = await api.client.post("/v1/shipments", json=bad, headers=headers)
    assert first.status_code == again.status_code == 422
    assert again.headers.get("idempotent-replayed") == "true"
    for key in ("", "x" * 256, "with space"):
        response = await api.client.post(
            "/v1/shipments", json=bad, headers=api.headers | {"Idempotency-Key": key}
        )
        assert response.status_code == 422, key


async def test_every_creating_post_honours_it(api: Api) -> None:
    hub = await api.hub()
    carrier_org, _ = await partner(api, "regional_courier")
    shipment = await api.shipment(hub["id"])
    cases = [
        ("/v1/organizations", {"name": "Idem", "kind": "shipper"}),
        ("/v1/shipments/bulk", {"shipments": [shipment_body(hub["id"])]}),
        (f"/v1/shipments/{shipment['id']}/handover", {"organization_id": carrier_org["id"]}),
    ]
    for n, (path, body) in enumerate(cases):
        headers = api.headers | {"Idempotency-Key": f"case-{n}"}
        first = await api.client.post(path, json=body, headers=headers)
        second = await api.client.post(path, json=body, headers=headers)
        assert first.status_code in (200, 201), (path, first.text)
        assert (second.status_code, second.json()) == (first.status_code, first.json()), path
        assert second.headers["idempotent-replayed"] == "true"


async def test_a_concurrent_request_with_the_same_key_is_409(api: Api, app) -> None:
    """While the first request runs (its key is claimed), a twin answers 409; afterwards the
    twin gets the stored response."""
    hub = await api.hub()
    body = shipment_body(hub["id"])
    headers = api.headers | {"Idempotency-Key": "race"}
    results = await asyncio.gather(
        *(api.client.post("/v1/shipments", json=body, headers=headers) for _ in range(6))
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
    for response in results:
        if response.status_code == 409:
            assert response.json()["code"] == "request_in_progress"
    created = {r.json()["id"] for r in results if r.status_code == 201}
    assert len(created) == 1  # replays carry the same shipment
    late = await api.client.post("/v1/shipments", json=body, headers=headers)
    assert late.status_code == 201 and late.json()["id"] in created


async def test_stored_keys_are_pruned_after_a_day(api: Api, jobs, db) -> None:
    from datetime import timedelta

    from backend.lib.clock import utcnow

    hub = await api.hub()
    headers = api.headers | {"Idempotency-Key": "old"}
    await api.client.post("/v1/shipments", json=shipment_body(hub["id"]), headers=headers)
    assert await jobs.prune_idempotency_keys(utcnow()) == 0
    assert await jobs.prune_idempotency_keys(utcnow() + timedelta(hours=25)) == 1
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 0
