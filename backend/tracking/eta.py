"""ETAs for every remaining stop of active routes.

The model: from the driver's latest fix, drive the stops in sequence. A leg takes its
straight-line length (PostGIS, on the spheroid) times a detour factor (roads are not straight)
at an average urban speed; a stop whose window has not opened yet is waited for; each stop then
takes a fixed service time. Crude but honest, cheap enough to run for the whole fleet in one
query, and every knob is a setting (docs/tracking.md).

A stop's ETA is announced (`shipment.eta_changed` in the outbox) when it is first estimated and
whenever it moves by more than the threshold from the value last announced, so slow drift
adds up to an announcement instead of hiding under the threshold step by step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.outbox.service import OutboxService
from backend.tracking.repository import TrackingRepository

ETA_CHANGED = "shipment.eta_changed"
# Shipments still to be visited today; delivered, failed, returned and cancelled ones are done.
REMAINING_STATUSES = ("created", "at_hub", "out_for_delivery")


@dataclass(frozen=True, slots=True)
class SpeedModel:
    speed_kmh: float
    detour_factor: float
    service_seconds: int

    def drive(self, straight_m: float) -> timedelta:
        metres_per_second = self.speed_kmh * 1000 / 3600
        return timedelta(seconds=straight_m * self.detour_factor / metres_per_second)


def speed_model(settings: Settings) -> SpeedModel:
    return SpeedModel(
        speed_kmh=settings.eta_speed_kmh,
        detour_factor=settings.eta_detour_factor,
        service_seconds=settings.eta_service_seconds,
    )


@dataclass(frozen=True, slots=True)
class Leg:
    stop_id: UUID
    shipment_id: UUID
    straight_m: float
    window_start: datetime | None = None


def estimate(legs: Iterable[Leg], depart_at: datetime, model: SpeedModel) -> list[datetime]:
    """Arrival times for consecutive legs of one route, leaving `depart_at`. Pure."""
    clock = depart_at
    arrivals = []
    for leg in legs:
        clock += model.drive(leg.straight_m)
        if leg.window_start and clock < leg.window_start:
            clock = leg.window_start
        arrival = clock.replace(microsecond=0)
        arrivals.append(arrival)
        clock = arrival + timedelta(seconds=model.service_seconds)
    return arrivals


def should_announce(eta: datetime, announced: datetime | None, threshold_seconds: int) -> bool:
    if announced is None:
        return True
    return abs((eta - announced).total_seconds()) > threshold_seconds


class EtaService:
    def __init__(self, session: AsyncSession, model: SpeedModel, threshold_seconds: int) -> None:
        self.session = session
        self.repo = TrackingRepository(session)
        self.model = model
        self.threshold_seconds = threshold_seconds

    async def refresh(self, now: datetime, driver_ids: Sequence[UUID] | None = None) -> int:
        """Recompute, store and announce ETAs of active routes (all, or these drivers');
        returns how many stops got an ETA."""
        rows = await self.repo.eta_legs(now.astimezone(UTC).date(), REMAINING_STATUSES, driver_ids)
        saved: list[tuple[UUID, datetime, datetime | None]] = []
        announcements: list[dict[str, Any]] = []
        for route_rows in _by_route(rows):
            legs = [
                Leg(r["stop_id"], r["shipment_id"], r["leg_m"] or 0.0, r["window_start"])
                for r in route_rows
            ]
            depart_at = max(now, route_rows[0]["fix_at"])
            for row, eta in zip(route_rows, estimate(legs, depart_at, self.model), strict=True):
                announced = row["announced_eta"]
                if should_announce(eta, announced, self.threshold_seconds):
                    announcements.append(
                        {
                            "shipment_id": str(row["shipment_id"]),
                            "eta": _iso(eta),
                            "previous_eta": _iso(announced) if announced else None,
                        }
                    )
                    announced = eta
                saved.append((row["stop_id"], eta, announced))
        await self.repo.save_etas(saved, now)
        await self.repo.clear_done_etas(now.astimezone(UTC).date(), REMAINING_STATUSES, now)
        if announcements:
            await OutboxService(self.session).announce(ETA_CHANGED, announcements)
        return len(saved)


def _by_route(rows: Sequence[Any]) -> list[list[Any]]:
    routes: dict[UUID, list[Any]] = {}
    for row in rows:
        routes.setdefault(row["route_id"], []).append(row)
    return list(routes.values())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
