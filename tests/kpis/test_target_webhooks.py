"""The KPI target check's incidents reach webhooks: `incident.opened` when a hub's KPI leaves
its target, `incident.resolved` when the check resolves it, to the admin endpoints subscribed."""

import json
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar

from backend.app import create_app
from backend.db.session import make_engine, make_sessionmaker
from tests.conftest import _truncate, make_settings
from tests.factories import Api
from tests.kpis.conftest import History
from tests.kpis.support import at
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import endpoint, verify, worker

NOW = at("2026-11-22T12:00:00Z")


@pytest.fixture
async def app(db) -> AsyncIterator[Litestar]:
    await _truncate(db)
    yield create_app(make_settings(webhooks_allow_private=True))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    await server.stop()


@pytest.fixture
async def sessionmaker(app: Litestar):
    engine = make_engine(app.state.settings)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_an_incident_the_check_resolves_is_sent_as_resolved(
    api: Api, db, jobs, history: History, receiver, sessionmaker
) -> None:
    hub_id = history.hub["id"]
    hooks = await endpoint(api, receiver.url, ["incident.opened", "incident.resolved"])
    await api.put(f"/v1/kpis/targets/{hub_id}/on_time_rate", {"min": 0.9})
    assert (await jobs.check_kpi_targets(NOW)).opened == 1
    assert (await jobs.check_kpi_targets(NOW)).still_open == 1  # refreshed: nothing sent
    assert await worker(sessionmaker).run_until_idle() == 1
    incident_id = await db.fetchval("SELECT id FROM incidents WHERE kind = 'kpi_off_target'")
    opened = verify(hooks["secret"], receiver.received[0])
    assert opened["type"] == "incident.opened"
    assert opened["data"] == {
        "incident_id": str(incident_id),
        "kind": "kpi_off_target",
        "incident_occurred_at": NOW.isoformat(),
        "hub_id": hub_id,
        "kpi": "on_time_rate",
    }

    await api.put(f"/v1/kpis/targets/{hub_id}/on_time_rate", {"min": 0.5})
    assert (await jobs.check_kpi_targets(NOW)).resolved == 1
    assert (await jobs.check_kpi_targets(NOW)).resolved == 0  # resolved once, sent once
    assert await worker(sessionmaker).run_until_idle() == 1
    resolved = verify(hooks["secret"], receiver.received[1])
    assert resolved["type"] == "incident.resolved"
    assert resolved["data"] == opened["data"] | {"resolved_at": NOW.isoformat()}
    assert (
        resolved["data"]["resolved_at"]
        == (
            await db.fetchval("SELECT resolved_at FROM incidents WHERE id = $1", incident_id)
        ).isoformat()
    )


async def test_an_endpoint_not_subscribed_hears_nothing(
    api: Api, db, jobs, history: History, receiver, sessionmaker
) -> None:
    hub_id = history.hub["id"]
    await endpoint(api, receiver.url, ["incident.opened"])
    await api.put(f"/v1/kpis/targets/{hub_id}/on_time_rate", {"min": 0.9})
    await jobs.check_kpi_targets(NOW)
    await api.put(f"/v1/kpis/targets/{hub_id}/on_time_rate", {"min": 0.5})
    assert (await jobs.check_kpi_targets(NOW)).resolved == 1
    assert await worker(sessionmaker).run_until_idle() == 1
    assert [json.loads(m.body)["type"] for m in receiver.received] == ["incident.opened"]
