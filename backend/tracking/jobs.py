"""Periodic tracking jobs: partition upkeep, stale drivers, ETA refresh.

`TrackingJobs.run_forever` runs them in a loop beside the outbox worker (inside the API process,
and in `lastmile worker`); tests call each job directly. Every job runs in its own transaction
behind an advisory lock, so with several processes exactly one does each job at a time and the
others skip that round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db.session import unit_of_work
from backend.lib.clock import utcnow
from backend.tracking.eta import EtaService, SpeedModel
from backend.tracking.partitions import PartitionReport, maintain
from backend.tracking.repository import TrackingRepository
from backend.tracking.service import TrackingService

log = logging.getLogger("lastmile.tracking")

# Advisory lock keys, one per job (arbitrary, fixed, distinct).
PARTITIONS_LOCK, STALE_LOCK, ETA_LOCK = 54_101, 54_102, 54_103


def speed_model(settings: Settings) -> SpeedModel:
    return SpeedModel(
        speed_kmh=settings.eta_speed_kmh,
        detour_factor=settings.eta_detour_factor,
        service_seconds=settings.eta_service_seconds,
    )


class TrackingJobs:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings

    async def maintain_partitions(self, now: datetime | None = None) -> PartitionReport | None:
        async with unit_of_work(self.sessionmaker) as session:
            if not await TrackingRepository(session).try_job_lock(PARTITIONS_LOCK):
                return None
            return await maintain(session, now or utcnow(), self.settings.tracking_retention_days)

    async def detect_stale(self, now: datetime | None = None) -> int | None:
        async with unit_of_work(self.sessionmaker) as session:
            if not await TrackingRepository(session).try_job_lock(STALE_LOCK):
                return None
            return await TrackingService(session).detect_stale(
                now or utcnow(), self.settings.tracking_stale_seconds
            )

    async def refresh_etas(self, now: datetime | None = None) -> int | None:
        async with unit_of_work(self.sessionmaker) as session:
            if not await TrackingRepository(session).try_job_lock(ETA_LOCK):
                return None
            service = EtaService(
                session, speed_model(self.settings), self.settings.eta_change_threshold_seconds
            )
            return await service.refresh(now or utcnow())

    async def run_once(self) -> None:
        """Each job on its own: one failing does not stop the others."""
        for job in (self.maintain_partitions, self.detect_stale, self.refresh_etas):
            try:
                await job()
            except Exception:
                log.exception("tracking job %s failed", job.__name__)

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.run_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.tracking_jobs_seconds)
