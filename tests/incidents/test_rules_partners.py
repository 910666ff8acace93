"""webhook_endpoint_failing and offer_unanswered: fire once, stay one, clear when the cause
clears, fire again when it returns."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from backend.db.session import unit_of_work
from backend.system.jobs import PeriodicJobs
from backend.webhooks.queue import DeliveryQueue
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
from tests.offers.support import courier, make_offer, shipments


async def _endpoint(db: asyncpg.Pool) -> UUID:
    """An admin's endpoint, as the endpoints API stores one (its URL is never called here)."""
    return await db.fetchval(
        "INSERT INTO webhook_endpoints (id, url, event_types, secret)"
        " VALUES (gen_random_uuid(), 'https://hooks.example.com/in', ARRAY['shipment.created'],"
        " 'whsec_dGVzdC1zZWNyZXQ=') RETURNING id"
    )


async def _failing(jobs: PeriodicJobs, endpoint_id: UUID, at: datetime, gone: bool = False) -> None:
    """The webhook workers' own bookkeeping of a failed delivery (410: gone)."""
    async with unit_of_work(jobs.sessionmaker) as session:
        await DeliveryQueue(session).endpoints_failing(
            [endpoint_id], [endpoint_id] if gone else [], at
        )


async def _healthy(db: asyncpg.Pool, endpoint_id: UUID) -> None:
    """What the workers' `DeliveryQueue.record` does to an endpoint that answered 2xx."""
    await db.execute("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1", endpoint_id)


async def test_webhook_endpoint_failing_follows_the_endpoints_health(api: Api, jobs, db) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0)
    endpoint_id = await _endpoint(db)
    await _failing(jobs, endpoint_id, t0)
    # Default: an hour of failures; endpoints belong to no hub, so the default applies.
    assert (await detect(jobs, t0 + timedelta(minutes=59))).at_fault[
        "webhook_endpoint_failing"
    ] == 0
    assert (await detect(jobs, t0 + timedelta(minutes=61))).started["webhook_endpoint_failing"] == 1
    incident = await open_one(db, "webhook_endpoint_failing")
    assert incident["subject"] == f"endpoint:{endpoint_id}"
    assert (incident["hub_id"], incident["occurred_at"]) == (None, t0 + timedelta(minutes=60))
    assert data_of(incident)["endpoint_id"] == str(endpoint_id)
    assert (await detect(jobs, t0 + timedelta(minutes=90))).started["webhook_endpoint_failing"] == 0

    await _healthy(db, endpoint_id)  # a delivery went through
    assert (await detect(jobs, t0 + timedelta(minutes=91))).cleared["webhook_endpoint_failing"] == 1
    await assert_cleared(db, incident["id"])

    await _failing(jobs, endpoint_id, t0 + timedelta(minutes=100))
    assert (await detect(jobs, t0 + timedelta(minutes=161))).started[
        "webhook_endpoint_failing"
    ] == 1
    second = await open_one(db, "webhook_endpoint_failing")
    assert second["id"] != incident["id"]

    # The receiver answers 410: the endpoint is disabled (its own incident), this one clears.
    await _failing(jobs, endpoint_id, t0 + timedelta(minutes=170), gone=True)
    assert (await detect(jobs, t0 + timedelta(minutes=171))).cleared[
        "webhook_endpoint_failing"
    ] == 1
    await assert_cleared(db, second["id"])
    assert len(await incidents(db, "webhook_endpoint_disabled")) == 0  # opened by the worker


async def test_offer_unanswered_fires_once_clears_and_fires_again(api: Api, jobs, db) -> None:
    hub = await api.hub()
    await courier(api, db, hub["id"])
    offer = await make_offer(api, shipment_ids=await shipments(api, hub["id"]), radius_m=2_000)
    made = await db.fetchval("SELECT created_at FROM offers WHERE id = $1", UUID(offer["id"]))
    assert (await detect(jobs, made + timedelta(minutes=19))).at_fault["offer_unanswered"] == 0
    assert (await detect(jobs, made + timedelta(minutes=21))).started["offer_unanswered"] == 1
    incident = await open_one(db, "offer_unanswered")
    assert incident["subject"] == f"offer:{offer['id']}"
    assert (incident["hub_id"], incident["severity"]) == (UUID(hub["id"]), "medium")
    assert data_of(incident)["offered_to"] == 1
    assert (await detect(jobs, made + timedelta(minutes=22))).started["offer_unanswered"] == 0

    await set_rules(api, hub["id"], rules=[rule("offer_unanswered", 25, "low")])
    assert (await detect(jobs, made + timedelta(minutes=23))).cleared["offer_unanswered"] == 1
    await assert_cleared(db, incident["id"])
    assert (await detect(jobs, made + timedelta(minutes=26))).started["offer_unanswered"] == 1
    second = await open_one(db, "offer_unanswered")
    assert (second["id"] != incident["id"], second["severity"]) == (True, "low")

    response = await api.post(f"/v1/offers/{offer['id']}/withdraw")
    assert response.status_code == 200, response.text
    assert (await detect(jobs, made + timedelta(minutes=27))).cleared["offer_unanswered"] == 1
    await assert_cleared(db, second["id"])
