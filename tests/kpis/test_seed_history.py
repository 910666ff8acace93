"""`lastmile seed-history` at a small size: consistent rows, and facts equal to a rebuild."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.session import make_engine, make_sessionmaker
from backend.kpis.seed import HistorySize, seed_history
from tests.factories import Api
from tests.kpis.support import kpis

TODAY = datetime(2026, 12, 1, tzinfo=UTC)


async def _seed(app, size: HistorySize):
    engine: AsyncEngine = make_engine(app.state.settings)
    seen: list[int] = []
    try:
        seeded = await seed_history(
            make_sessionmaker(engine), size, today=TODAY, progress=lambda d, t, s: seen.append(d)
        )
    finally:
        await engine.dispose()
    return seeded, seen


async def test_a_small_history_and_its_facts(api: Api, app, db) -> None:
    size = HistorySize(shipments=3_000, days=10, hubs=4, drivers=20, chunk=1_000)
    seeded, seen = await _seed(app, size)
    assert seen == [1_000, 2_000, 3_000]
    assert (seeded.first_day, seeded.last_day) == ("2026-11-21", "2026-11-30")
    assert await db.fetchval("SELECT count(*) FROM shipments") == 3_000
    assert await db.fetchval("SELECT count(*) FROM shipment_events") == seeded.events
    assert await db.fetchval("SELECT count(*) FROM kpi_shipment_facts") == 3_000
    assert await db.fetchval("SELECT count(*) FROM kpi_dirty_shipments") == 0
    assert await db.fetchval("SELECT count(DISTINCT time_zone) FROM hubs") == 4
    report = await kpis(api, **{"from": "2026-11-15", "to": "2026-12-05"})
    assert sum(row["shipments"] for row in report["rows"]) == 3_000
    figures = report["rows"][3]
    assert 0.8 < figures["first_attempt_success"] < 0.95  # 12 % fail first
    assert 0.02 < figures["diversion_frequency"] < 0.15  # 4 % partners, 3 % redirected
    assert figures["dwell_p50_seconds"] > 0 and figures["cost_per_parcel"] > 0
    # The facts the seeder built are the ones a rebuild from the event log gives.
    before = await db.fetch("SELECT * FROM kpi_shipment_facts ORDER BY shipment_id")
    await db.execute("INSERT INTO kpi_dirty_shipments (shipment_id) SELECT id FROM shipments")
    await kpis(api, **{"from": "2026-11-15", "to": "2026-12-05"})
    after = await db.fetch("SELECT * FROM kpi_shipment_facts ORDER BY shipment_id")
    assert [dict(r) for r in before] == [dict(r) for r in after]


async def test_two_runs_live_side_by_side(app, db) -> None:
    size = HistorySize(shipments=500, days=5, hubs=2, drivers=4, chunk=500)
    await _seed(app, size)
    await _seed(app, size)
    assert await db.fetchval("SELECT count(*) FROM shipments") == 1_000
