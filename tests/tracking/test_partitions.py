"""Day partitions: made ahead, stranded rows adopted from the default, old days dropped."""

from datetime import UTC, datetime, timedelta

from backend.system.jobs import PeriodicJobs
from backend.tracking.partitions import partition_name
from tests.factories import Api
from tests.tracking.support import ping, send


async def _partitions(db) -> set[str]:
    rows = await db.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'positions'::regclass"
    )
    return {row["relname"] for row in rows}


async def test_maintenance_creates_days_ahead_and_adopts_rows_from_the_default(
    api: Api, jobs: PeriodicJobs, db
) -> None:
    now = datetime.now(UTC)
    today = now.date()
    for name in await _partitions(db):  # a clean slate: only the default partition
        if name != "positions_default":
            await db.execute(f"DROP TABLE {name}")
    hub = await api.hub()
    handheld = await api.as_driver(await api.driver(hub["id"]))
    await send(handheld, [ping(60), ping(3 * 86400)])  # today and three days ago
    report = await jobs.maintain_partitions(now)

    three_days_ago = today - timedelta(days=3)
    wanted = {partition_name(today + timedelta(days=n)) for n in range(-1, 3)}
    assert wanted | {partition_name(three_days_ago)} <= await _partitions(db)
    assert report.adopted_rows == 2
    homes = await db.fetch("SELECT tableoid::regclass::text AS home FROM positions ORDER BY at")
    assert [row["home"] for row in homes] == [
        partition_name(three_days_ago),
        partition_name(today),
    ]
    await send(handheld, [ping(30)])  # new pings land in their day's partition directly
    assert await db.fetchval("SELECT count(*) FROM positions_default") == 0
    again = await jobs.maintain_partitions(now)
    assert again.created == [] and again.dropped == []


async def test_retention_drops_whole_days_and_expires_the_default(
    api: Api, jobs: PeriodicJobs, db
) -> None:
    now = datetime.now(UTC)
    await jobs.maintain_partitions(now)
    hub = await api.hub()
    await send(await api.as_driver(await api.driver(hub["id"])), [ping(60)])
    await db.execute(
        "INSERT INTO positions_default (driver_id, at, device_id, location)"
        " SELECT driver_id, at - interval '1 year', device_id, location FROM positions"
    )
    later = now + timedelta(days=31)  # retention is 30 days
    report = await jobs.maintain_partitions(later)
    assert partition_name(now.date()) in report.dropped
    assert partition_name(now.date()) not in await _partitions(db)
    assert partition_name(later.date() + timedelta(days=2)) in await _partitions(db)
    assert report.expired_default_rows == 1
    assert await db.fetchval("SELECT count(*) FROM positions") == 0
