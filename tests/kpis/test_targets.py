"""Targets per hub: a KPI outside its target opens one incident per hub and KPI (a periodic
job with a controlled clock); back inside, the incident is resolved."""

import asyncio

from tests.factories import Api
from tests.kpis.conftest import History
from tests.kpis.support import at

# New York's yesterday is the 21st: the check covers the 15th to the 21st.
NOW = at("2026-11-22T12:00:00Z")


async def _off_target(db) -> list[dict]:
    rows = await db.fetch(
        "SELECT status, data FROM incidents WHERE kind = 'kpi_off_target' ORDER BY created_at"
    )
    return [{"status": r["status"], "data": __import__("json").loads(r["data"])} for r in rows]


async def test_off_target_opens_one_incident_then_clears(
    api: Api, db, jobs, history: History
) -> None:
    hub_id = history.hub["id"]
    assert (
        await api.put(f"/v1/kpis/targets/{hub_id}/on_time_rate", {"min": 0.9})
    ).status_code == 200
    assert (
        await api.put(f"/v1/kpis/targets/{hub_id}/attempts_per_parcel", {"max": 2})
    ).status_code == 200
    first = await jobs.check_kpi_targets(NOW)
    assert (first.hubs, first.opened, first.still_open, first.resolved) == (1, 1, 0, 0)
    [incident] = await _off_target(db)
    assert incident["status"] == "open"
    assert incident["data"] | {} == {
        "hub_id": hub_id,
        "kpi": "on_time_rate",
        "value": 0.75,  # s1 s4 s6 of s1 s2 s4 s6
        "min": 0.9,
        "max": None,
        "from": "2026-11-15",
        "to": "2026-11-21",
    }
    again = await jobs.check_kpi_targets(NOW)
    assert (again.opened, again.still_open) == (0, 1)
    assert len(await _off_target(db)) == 1
    await api.put(f"/v1/kpis/targets/{hub_id}/on_time_rate", {"min": 0.5})
    cleared = await jobs.check_kpi_targets(NOW)
    assert (cleared.opened, cleared.resolved) == (0, 1)
    [incident] = await _off_target(db)
    assert incident["status"] == "resolved"
    resolved_at = await db.fetchval(
        "SELECT resolved_at FROM incidents WHERE kind = 'kpi_off_target'"
    )
    assert resolved_at == NOW
    # Off again later: a new incident (the resolved one stays as it was).
    await api.put(f"/v1/kpis/targets/{hub_id}/on_time_rate", {"min": 0.8})
    assert (await jobs.check_kpi_targets(NOW)).opened == 1
    assert [i["status"] for i in await _off_target(db)] == ["resolved", "open"]


async def test_nothing_measured_changes_nothing(api: Api, jobs, history: History) -> None:
    hub_id = history.hub["id"]
    await api.put(f"/v1/kpis/targets/{hub_id}/partner_report_lag_p50_seconds", {"max": 60})
    # A week with no partner report at all: neither opened nor resolved.
    quiet = await jobs.check_kpi_targets(at("2026-12-20T12:00:00Z"))
    assert (quiet.opened, quiet.still_open, quiet.resolved) == (0, 0, 0)


async def test_concurrent_checks_open_one_incident(api: Api, db, history: History, app) -> None:
    """Two checks racing (two worker processes, each past its lock at once): the partial
    unique index keeps one unresolved incident per hub and KPI."""
    from backend.db.session import make_engine, make_sessionmaker, unit_of_work
    from backend.kpis.service import KpiService, KpiSettings

    hub_id = history.hub["id"]
    await api.put(f"/v1/kpis/targets/{hub_id}/dwell_p90_seconds", {"max": 100})
    engine = make_engine(app.state.settings)
    sessions = make_sessionmaker(engine)
    settings = KpiSettings.from_settings(app.state.settings)

    async def check() -> None:
        async with unit_of_work(sessions) as session:
            await KpiService(session, settings).check_targets(NOW)

    try:
        await asyncio.gather(*(check() for _ in range(4)))
    finally:
        await engine.dispose()
    assert (
        await db.fetchval(
            "SELECT count(*) FROM incidents WHERE kind = 'kpi_off_target' AND status = 'open'"
        )
        == 1
    )
