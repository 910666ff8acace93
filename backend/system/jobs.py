"""The periodic jobs of every domain, run in one loop beside the outbox worker (inside each API
process when `LASTMILE_EMBEDDED_WORKER=true`, and in `lastmile worker`); tests call each job
directly.

Every job runs in its own transaction behind its own advisory lock, so with several processes
exactly one does a job at a time and the others skip that round. One failing job does not stop
the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.sessions import SessionService
from backend.config import Settings
from backend.couriers.lifecycle import CourierLifecycle
from backend.couriers.rules import rules_from
from backend.db.session import unit_of_work
from backend.idempotency.middleware import KEEP as IDEMPOTENCY_KEEP
from backend.idempotency.repository import IdempotencyRepository
from backend.incidents.rules.escalation import EscalationService
from backend.incidents.rules.service import DetectionRound, DetectionService
from backend.kpis.schemas import TargetCheck
from backend.kpis.service import KpiService, KpiSettings
from backend.lib.clock import utcnow
from backend.live.retention import ShipmentFeedRetention
from backend.offers.service import OfferService
from backend.planning.settings import parse_shift
from backend.pod.storage import blob_store
from backend.sync.changes import ManifestChangeLog
from backend.system.repository import JobLockRepository
from backend.tracking.eta import EtaService, speed_model
from backend.tracking.partitions import PartitionReport, maintain
from backend.tracking.service import TrackingService

log = logging.getLogger("lastmile.jobs")

T = TypeVar("T")

# Advisory lock keys, one per job (arbitrary, fixed, distinct).
PARTITIONS_LOCK, STALE_LOCK, ETA_LOCK = 54_101, 54_102, 54_103
SYNC_RETENTION_LOCK, LIVE_FEED_RETENTION_LOCK = 54_104, 54_105
COURIER_EXPIRY_LOCK, COURIER_DOCUMENTS_LOCK, OFFER_EXPIRY_LOCK = 54_106, 54_107, 54_108
IDEMPOTENCY_RETENTION_LOCK = 54_109
# Offers expire to the minute; dispatch wants the incident soon after.
OFFER_EXPIRY_EVERY_SECONDS = 15.0
REFRESH_TOKENS_LOCK = 54_120
KPI_TARGETS_LOCK = 54_121
DETECTION_LOCK, ESCALATION_LOCK = 54_124, 54_125
# Retention is counted in days and its deletes scan their tables: hourly is plenty.
RETENTION_EVERY_SECONDS = 3600.0


class PeriodicJobs:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        tracking_every = settings.tracking_jobs_seconds
        self.schedule: list[tuple[Callable[[], Awaitable[object]], float]] = [
            (self.maintain_partitions, tracking_every),
            (self.detect_stale, tracking_every),
            (self.refresh_etas, tracking_every),
            (self.prune_sync_changes, RETENTION_EVERY_SECONDS),
            (self.prune_live_feed, RETENTION_EVERY_SECONDS),
            (self.suspend_expired_couriers, settings.courier_jobs_seconds),
            (self.purge_courier_documents, RETENTION_EVERY_SECONDS),
            (self.expire_offers, OFFER_EXPIRY_EVERY_SECONDS),
            (self.prune_idempotency_keys, RETENTION_EVERY_SECONDS),
            (self.prune_refresh_tokens, RETENTION_EVERY_SECONDS),
            (self.check_kpi_targets, settings.kpi_check_seconds),
            (self.detect_incidents, settings.detection_seconds),
            (self.escalate_incidents, settings.detection_seconds),
        ]
        self._next_run: dict[str, float] = {}

    async def _locked(self, lock: int, work: Callable[[AsyncSession], Awaitable[T]]) -> T | None:
        """`work` in its own transaction if no other process holds the job's lock, else None."""
        async with unit_of_work(self.sessionmaker) as session:
            if not await JobLockRepository(session).try_lock(lock):
                return None
            return await work(session)

    # tracking ----------------------------------------------------------------------------------

    async def maintain_partitions(self, now: datetime | None = None) -> PartitionReport | None:
        days = self.settings.tracking_retention_days
        return await self._locked(PARTITIONS_LOCK, lambda s: maintain(s, now or utcnow(), days))

    async def detect_stale(self, now: datetime | None = None) -> int | None:
        seconds = self.settings.tracking_stale_seconds
        return await self._locked(
            STALE_LOCK, lambda s: TrackingService(s).detect_stale(now or utcnow(), seconds)
        )

    async def refresh_etas(self, now: datetime | None = None) -> int | None:
        model, threshold = speed_model(self.settings), self.settings.eta_change_threshold_seconds
        return await self._locked(
            ETA_LOCK, lambda s: EtaService(s, model, threshold).refresh(now or utcnow())
        )

    # retention ---------------------------------------------------------------------------------

    async def prune_sync_changes(self, now: datetime | None = None) -> int | None:
        """Drop manifest changes past `LASTMILE_SYNC_RETENTION_DAYS`; older cursors then get
        `reset_required` from pull."""
        cutoff = (now or utcnow()) - timedelta(days=self.settings.sync_retention_days)
        return await self._locked(SYNC_RETENTION_LOCK, lambda s: ManifestChangeLog(s).prune(cutoff))

    async def prune_live_feed(self, now: datetime | None = None) -> int | None:
        """Drop shipment feed entries past `LASTMILE_LIVE_FEED_RETENTION_DAYS`."""
        cutoff = (now or utcnow()) - timedelta(days=self.settings.live_feed_retention_days)
        return await self._locked(
            LIVE_FEED_RETENTION_LOCK, lambda s: ShipmentFeedRetention(s).prune(cutoff)
        )

    # couriers and offers ----------------------------------------------------------------------

    async def suspend_expired_couriers(self, now: datetime | None = None) -> list | None:
        """Suspend active couriers whose required document expired (reactivated by uploading a
        valid replacement)."""
        rules = rules_from(self.settings)
        today = (now or utcnow()).date()
        return await self._locked(
            COURIER_EXPIRY_LOCK, lambda s: CourierLifecycle(s, rules).suspend_expired(today)
        )

    async def purge_courier_documents(self, now: datetime | None = None) -> int | None:
        """Delete the documents of couriers rejected or offboarded longer than
        `LASTMILE_COURIER_DOCUMENT_RETENTION_DAYS` ago; the decision record stays."""
        rules, store = rules_from(self.settings), blob_store(self.settings)
        cutoff = (now or utcnow()) - timedelta(days=rules.document_retention_days)
        return await self._locked(
            COURIER_DOCUMENTS_LOCK,
            lambda s: CourierLifecycle(s, rules).purge_documents(cutoff, store),
        )

    async def expire_offers(self, now: datetime | None = None) -> int | None:
        """Close offers nobody accepted in time; each opens an incident for dispatch."""
        return await self._locked(
            OFFER_EXPIRY_LOCK, lambda s: OfferService(s).expire_due(now or utcnow())
        )

    async def prune_idempotency_keys(self, now: datetime | None = None) -> int | None:
        """Drop stored Idempotency-Key responses past their 24 h."""
        cutoff = (now or utcnow()) - IDEMPOTENCY_KEEP
        return await self._locked(
            IDEMPOTENCY_RETENTION_LOCK, lambda s: IdempotencyRepository(s).purge(cutoff)
        )

    async def prune_refresh_tokens(self, now: datetime | None = None) -> int | None:
        """Drop refresh tokens that expired a day ago or more (a reuse of one is refused
        as unknown instead of ending its session, by then long over anyway)."""
        cutoff = (now or utcnow()) - timedelta(days=1)
        return await self._locked(REFRESH_TOKENS_LOCK, lambda s: SessionService(s).prune(cutoff))

    # kpis --------------------------------------------------------------------------------------

    async def check_kpi_targets(self, now: datetime | None = None) -> TargetCheck | None:
        """Hubs' KPIs against their targets: incidents opened, kept or resolved."""
        kpis = KpiSettings.from_settings(self.settings)
        return await self._locked(
            KPI_TARGETS_LOCK, lambda s: KpiService(s, kpis).check_targets(now or utcnow())
        )

    # incidents ---------------------------------------------------------------------------------

    async def detect_incidents(self, now: datetime | None = None) -> DetectionRound | None:
        """Every detection rule across all hubs: incidents opened for faults that started,
        cleared for faults that ended."""
        shift_start = parse_shift(self.settings.planning_default_shift)[0]
        return await self._locked(
            DETECTION_LOCK,
            lambda s: DetectionService(s, default_shift_start=shift_start).run(now or utcnow()),
        )

    async def escalate_incidents(self, now: datetime | None = None) -> int | None:
        """High and critical incidents unacknowledged past their hub's delay: escalated once,
        the hub's on-call contact notified."""
        minutes = self.settings.incident_escalation_minutes
        return await self._locked(
            ESCALATION_LOCK,
            lambda s: EscalationService(s, default_minutes=minutes).escalate_due(now or utcnow()),
        )

    # loop --------------------------------------------------------------------------------------

    async def run_due(self) -> None:
        """Each job whose interval has passed since it last ran, on its own."""
        for job, every in self.schedule:
            name = job.__name__
            if self._next_run.get(name, 0.0) > time.monotonic():
                continue
            self._next_run[name] = time.monotonic() + every
            try:
                await job()
            except Exception:
                log.exception("periodic job %s failed", name)

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.run_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.tracking_jobs_seconds)
