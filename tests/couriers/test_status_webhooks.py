"""`courier.status_changed` reaches the admin endpoints subscribed to it, signed, through the
outbox and the webhook fan-out; a courier belongs to no organisation, so theirs hear nothing."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.config import Settings
from backend.db.session import make_engine, make_sessionmaker
from tests.conftest import make_settings
from tests.couriers.conftest import drain
from tests.couriers.support import active_courier, staff_post
from tests.partners.support import organization
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import endpoint, verify, worker

# Every step of an onboarding that ends active.
ONBOARDING = [
    ("draft", "submitted"),
    ("submitted", "under_review"),
    ("under_review", "checks_pending"),
    ("checks_pending", "approved"),
    ("approved", "active"),
]


@pytest.fixture
def courier_settings(blob_dir: Path) -> Settings:
    return make_settings(
        blob_dir=str(blob_dir), courier_applications_per_hour=100_000, webhooks_allow_private=True
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    await server.stop()


@pytest.fixture
async def sessionmaker(courier_settings: Settings):
    engine = make_engine(courier_settings)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_status_changes_reach_subscribed_admin_endpoints(
    api, db, outbox, receiver, sessionmaker
) -> None:
    hub = await api.hub()
    admin = await endpoint(api, receiver.url + "/admin", ["courier.status_changed"])
    await endpoint(api, receiver.url + "/shipments", ["shipment.created"])
    carrier = await organization(api, "regional_courier")
    await endpoint(
        api, receiver.url + "/carrier", ["courier.status_changed"], organization_id=carrier["id"]
    )
    applicant, read = await active_courier(api, db, hub["id"])
    await staff_post(api, f"{applicant.path}/suspend", {"reason": "documents to check"})
    await drain(outbox)

    assert await worker(sessionmaker).run_until_idle() == len(ONBOARDING) + 1
    payloads = [verify(admin["secret"], message) for message in receiver.received]
    assert {p["type"] for p in payloads} == {"courier.status_changed"}
    steps = sorted(
        (p["data"]["at"], p["data"]["from_status"], p["data"]["to_status"]) for p in payloads
    )
    assert [(a, b) for _, a, b in steps] == [*ONBOARDING, ("active", "suspended")]
    suspended = next(p["data"] for p in payloads if p["data"]["to_status"] == "suspended")
    assert suspended == {
        "application_id": read["id"],
        "driver_id": read["driver_id"],
        "from_status": "active",
        "to_status": "suspended",
        "reason": "documents to check",
        "at": suspended["at"],
    }
    submitted = next(p["data"] for p in payloads if p["data"]["to_status"] == "submitted")
    assert submitted["driver_id"] is None  # no driver before approval
    # Only the admin endpoint was sent anything.
    sent_to = await db.fetch(
        "SELECT DISTINCT e.url FROM webhook_deliveries d"
        " JOIN webhook_endpoints e ON e.id = d.endpoint_id"
    )
    assert [r["url"] for r in sent_to] == [receiver.url + "/admin"]


async def test_nobody_subscribed_nothing_is_stored(api, db, outbox) -> None:
    hub = await api.hub()
    await active_courier(api, db, hub["id"])
    await drain(outbox)
    assert await db.fetchval("SELECT count(*) FROM webhook_events") == 0
    assert (
        await db.fetchval(
            "SELECT count(*) FROM outbox WHERE topic = 'courier.status_changed'"
            " AND processed_at IS NULL"
        )
        == 0
    )
