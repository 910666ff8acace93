"""The periodic jobs loop, its locks, and the live feed's retention job."""

from uuid import UUID

from backend.db.session import unit_of_work
from backend.live.service import LiveService
from backend.system.jobs import LIVE_FEED_RETENTION_LOCK, PeriodicJobs
from tests.factories import Api
from tests.live.support import delivery_round


async def test_every_domain_job_is_scheduled(jobs: PeriodicJobs) -> None:
    assert [job.__name__ for job, _ in jobs.schedule] == [
        "maintain_partitions",
        "detect_stale",
        "refresh_etas",
        "prune_sync_changes",
        "prune_live_feed",
        "suspend_expired_couriers",
        "purge_courier_documents",
        "expire_offers",
        "prune_idempotency_keys",
        "prune_refresh_tokens",
        "check_kpi_targets",
        "detect_incidents",
        "escalate_incidents",
    ]


async def test_the_loop_runs_jobs_when_due_and_one_failing_stops_none(jobs: PeriodicJobs) -> None:
    ran: list[str] = []

    async def broken() -> None:
        ran.append("broken")
        raise RuntimeError("a job failed")

    async def hourly() -> None:
        ran.append("hourly")

    async def every_round() -> None:
        ran.append("every_round")

    jobs.schedule = [(broken, 0), (hourly, 3600), (every_round, 0)]
    await jobs.run_due()
    await jobs.run_due()
    assert ran == ["broken", "hourly", "every_round", "broken", "every_round"]


async def test_a_job_another_process_is_running_is_skipped(jobs: PeriodicJobs, db) -> None:
    async with db.acquire() as connection, connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", LIVE_FEED_RETENTION_LOCK)
        assert await jobs.prune_live_feed() is None
    assert await jobs.prune_live_feed() == 0


async def test_old_feed_entries_are_pruned_and_each_shipments_newest_is_kept(
    api: Api, jobs: PeriodicJobs, db
) -> None:
    round_ = await delivery_round(api, count=2)
    old, recent = (UUID(s["id"]) for s in round_.shipments)
    await round_.load(0)  # old: seq 1
    await round_.fail(0)  # old: seq 2
    await round_.load(0)  # old: seq 3
    await round_.load(1)  # recent: seq 1
    await db.execute(
        "UPDATE shipment_feed SET created_at = now() - interval '31 days' WHERE shipment_id = $1",
        old,
    )
    await db.execute(
        "UPDATE shipment_feed SET created_at = now() - interval '29 days' WHERE shipment_id = $1",
        recent,
    )
    assert await jobs.prune_live_feed() == 2  # default retention: 30 days
    kept = await db.fetch("SELECT shipment_id, seq FROM shipment_feed ORDER BY shipment_id, seq")
    assert sorted((row["shipment_id"], row["seq"]) for row in kept) == sorted(
        [(old, 3), (recent, 1)]
    )
    # The numbering carries on from the kept entry, so Last-Event-ID stays meaningful.
    await round_.deliver(0)
    async with unit_of_work(jobs.sessionmaker) as session:
        resumed = await LiveService(session).replay(old, 1)
    assert [(m.seq, m.data["status"]) for m in resumed] == [
        (3, "out_for_delivery"),
        (4, "delivered"),
    ]
