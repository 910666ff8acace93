"""Positions: pings in (own endpoint or push batches), the latest fix per driver, tracks, and
stale drivers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.devices import driver_on_device
from backend.auth.schemas import Principal
from backend.incidents.service import IncidentService, NewIncident
from backend.lib.clock import utcnow
from backend.lib.errors import Invalid, NotFound
from backend.lib.geo import Point
from backend.live.messages import announce_positions
from backend.tracking.partitions import retention_cutoff
from backend.tracking.repository import TrackingRepository
from backend.tracking.schemas import (
    LineString,
    PingBatch,
    PingResult,
    PositionCollection,
    PositionFeature,
    PositionProperties,
    TrackFeature,
    TrackProperties,
)

# A device clock may run this far ahead of ours; later pings are ignored, not clamped (a
# position with a wrong time would be drawn in the wrong place on the track).
FUTURE_TOLERANCE = timedelta(minutes=2)
# The live map shows drivers seen within this horizon.
MAP_HORIZON = timedelta(hours=24)
MAX_TRACK_RANGE = timedelta(days=7)
MAX_TRACK_POINTS = 50_000

# (at, lon, lat, accuracy_m, speed_mps, heading)
Fix = tuple[datetime, float, float, float | None, float | None, float | None]


class TrackingService:
    def __init__(self, session: AsyncSession, *, retention_days: int = 30) -> None:
        self.session = session
        self.repo = TrackingRepository(session)
        self.retention_days = retention_days

    # ingest ----------------------------------------------------------------------------------

    async def ingest_pings(self, principal: Principal, batch: PingBatch) -> PingResult:
        driver_id = driver_on_device(principal, batch.device_id, "pings")
        fixes = [(p.at, p.lon, p.lat, p.accuracy_m, p.speed_mps, p.heading) for p in batch.pings]
        return await self.record_fixes(driver_id, batch.device_id, fixes)

    async def record_fixes(
        self, driver_id: UUID, device_id: str, fixes: Sequence[Fix]
    ) -> PingResult:
        """Store fixes in one statement; those outside the kept time range are ignored."""
        now = utcnow()
        oldest, newest = retention_cutoff(now, self.retention_days), now + FUTURE_TOLERANCE
        kept = [fix for fix in fixes if oldest <= fix[0] <= newest]
        if not kept:
            return PingResult(accepted=0, duplicates=0, ignored=len(fixes))
        columns = [list(column) for column in zip(*kept, strict=True)]
        stored, moved = await self.repo.ingest(driver_id, device_id, columns, now)
        if moved:  # the newest fix of the call became the driver's latest position
            at, lon, lat, *_ = max(kept, key=lambda fix: fix[0])
            announce_positions(self.session, [(driver_id, lon, lat, at)])
        return PingResult(
            accepted=stored, duplicates=len(kept) - stored, ignored=len(fixes) - len(kept)
        )

    # reads -----------------------------------------------------------------------------------

    async def positions(self, hub_id: UUID | None, stale_seconds: int) -> PositionCollection:
        now = utcnow()
        features = []
        for row in await self.repo.latest(now - MAP_HORIZON, hub_id):
            age = max(0, int((now - row["at"]).total_seconds()))
            features.append(
                PositionFeature(
                    id=row["driver_id"],
                    geometry=Point.at(row["lon"], row["lat"]),
                    properties=PositionProperties(
                        driver_id=row["driver_id"],
                        driver_name=row["driver_name"],
                        device_id=row["device_id"],
                        at=row["at"],
                        received_at=row["received_at"],
                        accuracy_m=row["accuracy_m"],
                        speed_mps=row["speed_mps"],
                        heading=row["heading"],
                        age_seconds=age,
                        stale=age > stale_seconds,
                    ),
                )
            )
        return PositionCollection(features=features, stale_after_seconds=stale_seconds)

    async def track(
        self,
        driver_id: UUID,
        principal: Principal,
        start: datetime | None,
        end: datetime | None,
    ) -> TrackFeature:
        """Staff see any driver's track; a driver only their own (others answer 404)."""
        if not principal.is_staff and principal.driver_id != driver_id:
            raise NotFound("No such driver")
        if not await self.repo.driver_exists(driver_id):
            raise NotFound("No such driver")
        end = _aware(end, "to") or utcnow()
        start = _aware(start, "from") or end - timedelta(hours=12)
        if start >= end:
            raise Invalid("from must be before to", field="from", code="bad_range")
        if end - start > MAX_TRACK_RANGE:
            raise Invalid("A track spans at most 7 days", field="from", code="range_too_long")
        rows = await self.repo.track(driver_id, start, end, MAX_TRACK_POINTS + 1)
        truncated = len(rows) > MAX_TRACK_POINTS
        rows = rows[:MAX_TRACK_POINTS]
        geometry = (
            LineString([[row["lon"], row["lat"]] for row in rows]) if len(rows) >= 2 else None
        )
        return TrackFeature(
            geometry=geometry,
            properties=TrackProperties(
                driver_id=driver_id,
                start=start,
                end=end,
                points=len(rows),
                times=[row["at"] for row in rows],
                truncated=truncated,
            ),
        )

    # stale drivers ---------------------------------------------------------------------------

    async def detect_stale(self, now: datetime, stale_seconds: int) -> int:
        """Open a `stale_gps` incident for each driver on an active route whose newest fix is
        older than the threshold. One incident per silence: the key holds the last fix time,
        so a driver who pings again and then falls silent again gets a new one."""
        rows = await self.repo.stale_drivers(
            now - timedelta(seconds=stale_seconds), now.astimezone(UTC).date()
        )
        await IncidentService(self.session).open(
            [
                NewIncident(
                    kind="stale_gps",
                    driver_id=row["driver_id"],
                    dedupe_key=f"stale_gps:{row['driver_id']}:{row['at'].isoformat()}",
                    data={
                        "last_fix_at": row["at"].isoformat(),
                        "silent_seconds": int((now - row["at"]).total_seconds()),
                    },
                    occurred_at=now,
                )
                for row in rows
            ]
        )
        return len(rows)


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise Invalid(f"{name} needs a UTC offset (RFC 3339)", field=name)
    return value
