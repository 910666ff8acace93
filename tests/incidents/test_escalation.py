"""Escalation with a controlled clock: a high or critical incident nobody acknowledged within
its hub's delay is escalated once, logged, announced, and its hub's on-call contact gets one
message through the notifications outbox."""

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from backend.db.session import make_engine, make_sessionmaker, unit_of_work
from backend.incidents.service import IncidentService, NewIncident
from backend.notifications.providers import NOTIFIER_KEY, Notifier, OutgoingMessage
from backend.outbox.handlers import HANDLERS
from backend.outbox.worker import OutboxWorker
from backend.system.jobs import PeriodicJobs
from tests.conftest import Live, make_settings
from tests.factories import Api
from tests.incidents.rules_support import set_rules
from tests.live.support import next_message

_subjects = itertools.count(1)


class Pager:
    """The SMS and e-mail gateway (the outside world): what it was handed."""

    name = "pager"

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> str | None:
        self.sent.append(message)
        return f"page-{len(self.sent)}"


@pytest.fixture
async def outbox(app):
    pager = Pager()
    engine = make_engine(make_settings())
    sessionmaker = make_sessionmaker(engine, info={NOTIFIER_KEY: Notifier(pager)})
    yield OutboxWorker(sessionmaker, HANDLERS), pager
    await engine.dispose()


async def _drain(worker: OutboxWorker) -> None:
    while await worker.run_once():
        pass


async def _open(live: Live, db: asyncpg.Pool, severity: str, **fields: Any) -> asyncpg.Record:
    """An incident as a detection rule opens one; returns its row."""
    subject = f"route:test-{next(_subjects)}"
    incident = NewIncident(
        kind="route_not_started",
        dedupe_key=None,
        occurred_at=datetime.now(UTC),
        severity=severity,
        subject=subject,
        **fields,
    )
    async with unit_of_work(live.sessionmaker) as session:
        assert await IncidentService(session).open([incident]) == 1
    return await db.fetchrow("SELECT * FROM incidents WHERE subject = $1", subject)


async def _activities(db: asyncpg.Pool, incident_id: UUID) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT kind, actor_id, at, data FROM incident_activities WHERE incident_id = $1",
        incident_id,
    )


async def test_urgent_unacknowledged_incidents_escalate_once_to_the_hubs_on_call(
    api: Api, live: Live, db, outbox
) -> None:
    worker, pager = outbox
    hub, quiet_hub = await api.hub(), await api.hub()
    contact = {"name": "Night desk", "phone": "+49 30 5550100"}
    await set_rules(api, hub["id"], on_call=contact, escalation_minutes=10)
    shipment = await api.shipment(quiet_hub["id"])
    hub_id = UUID(hub["id"])

    high = await _open(live, db, "high", hub_id=hub_id)
    medium = await _open(live, db, "medium", hub_id=hub_id)
    acknowledged = await _open(live, db, "critical", hub_id=hub_id)
    await db.execute(  # as the triage API acknowledges one
        "UPDATE incidents SET status = 'acknowledged', acknowledged_at = now() WHERE id = $1",
        acknowledged["id"],
    )
    # No hub of its own: its shipment's hub, which set nothing (default delay, no contact).
    elsewhere = await _open(live, db, "critical", shipment_id=UUID(shipment["id"]))
    created = max(row["created_at"] for row in (high, medium, acknowledged, elsewhere))
    jobs = PeriodicJobs(live.sessionmaker, make_settings(incident_escalation_minutes=15))

    with live.runtime.hub.feed(lambda m: m.type == "incident") as feed:
        assert await jobs.escalate_incidents(created + timedelta(minutes=9)) == 0
        at = created + timedelta(minutes=11)
        assert await jobs.escalate_incidents(at) == 1
        message = await next_message(feed)
        assert await jobs.escalate_incidents(created + timedelta(minutes=14)) == 0  # once
        assert await jobs.escalate_incidents(created + timedelta(minutes=16)) == 1
        other = await next_message(feed)
    assert message.data == {
        "id": str(high["id"]),
        "kind": "route_not_started",
        "status": "open",
        "severity": "high",
        "escalated_at": at.isoformat(),
    }
    assert other.data["id"] == str(elsewhere["id"])

    escalated = {
        row["id"]: row["escalated_at"]
        for row in await db.fetch("SELECT id, escalated_at FROM incidents")
    }
    assert escalated[high["id"]] == at
    assert escalated[medium["id"]] is None and escalated[acknowledged["id"]] is None
    [activity] = await _activities(db, high["id"])
    assert (activity["kind"], activity["actor_id"], activity["at"]) == ("escalated", None, at)
    assert json.loads(activity["data"]) == {
        "after_minutes": 10,
        "hub_id": hub["id"],
        "on_call": "Night desk",
    }
    assert json.loads((await _activities(db, elsewhere["id"]))[0]["data"])["after_minutes"] == 15

    # The outbox worker sends the on-call message once, however often it runs.
    await _drain(worker)
    await db.execute("UPDATE outbox SET processed_at = NULL, available_at = now()")
    await _drain(worker)
    [page] = pager.sent
    assert (page.channel, page.to, page.kind) == ("sms", "+49 30 5550100", "incident_escalated")
    assert page.idempotency_key == f"{high['id']}:incident_escalated:1"
    assert "route_not_started" in page.body and hub["code"] in page.body
    rows = {
        row["incident_id"]: row
        for row in await db.fetch("SELECT * FROM notifications WHERE incident_id IS NOT NULL")
    }
    assert (rows[high["id"]]["status"], rows[high["id"]]["provider_ref"]) == ("sent", "page-1")
    assert rows[high["id"]]["shipment_id"] is None
    assert (rows[elsewhere["id"]]["channel"], rows[elsewhere["id"]]["status"]) == (
        "none",
        "undeliverable",
    )
    # Dispatch sees them in the notifications list.
    listed = (await api.get("/v1/notifications")).json()["items"]
    assert {item["incident_id"] for item in listed if item["incident_id"]} == {
        str(high["id"]),
        str(elsewhere["id"]),
    }


async def test_an_acknowledgement_or_resolution_before_the_delay_stops_escalation(
    api: Api, live: Live, db
) -> None:
    hub = await api.hub()
    hub_id = UUID(hub["id"])
    acknowledged = await _open(live, db, "high", hub_id=hub_id)
    resolved = await _open(live, db, "critical", hub_id=hub_id)
    await db.execute(
        "UPDATE incidents SET status = 'acknowledged', acknowledged_at = now() WHERE id = $1",
        acknowledged["id"],
    )
    await db.execute(
        "UPDATE incidents SET status = 'resolved', resolved_at = now(),"
        " resolution_code = 'fixed' WHERE id = $1",
        resolved["id"],
    )
    jobs = PeriodicJobs(live.sessionmaker, make_settings())
    assert await jobs.escalate_incidents(datetime.now(UTC) + timedelta(days=1)) == 0
    assert await db.fetchval("SELECT count(*) FROM incident_activities") == 0
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'incident.escalated'") == 0
