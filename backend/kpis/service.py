"""KPIs: facts kept exact from the event log, figures per group, targets and their check."""

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.incidents.service import IncidentService
from backend.kpis.models import KpiTarget
from backend.kpis.repository import KpiRepository
from backend.kpis.schemas import (
    CostModel,
    KpiReport,
    KpiRow,
    KpiTargetList,
    KpiTargetRead,
    KpiTargetWrite,
    TargetCheck,
)
from backend.lib.errors import Invalid, NotFound


@dataclass(frozen=True, slots=True)
class KpiSettings:
    cost_model: CostModel
    max_range_days: int
    check_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "KpiSettings":
        model = CostModel(
            currency=settings.kpi_currency,
            per_km=settings.kpi_cost_per_km,
            per_driver_hour=settings.kpi_cost_per_driver_hour,
            per_partner_parcel=settings.kpi_cost_per_partner_parcel,
        )
        return cls(model, settings.kpi_max_range_days, settings.kpi_check_days)


class KpiService:
    def __init__(self, session: AsyncSession, settings: KpiSettings) -> None:
        self.session = session
        self.settings = settings
        self.repo = KpiRepository(session)

    async def refresh(self) -> int:
        """Rebuild the facts of every shipment whose events changed since the last rebuild
        (late events included), so what follows reads exact figures. Returns how many."""
        shipment_ids = await self.repo.take_dirty()
        await self.repo.rebuild_facts(shipment_ids)
        return len(shipment_ids)

    async def report(
        self, from_day: date, to_day: date, group_by: str, hub_id: UUID | None
    ) -> KpiReport:
        if from_day > to_day:
            raise Invalid("`from` is after `to`", field="from")
        if (to_day - from_day).days + 1 > self.settings.max_range_days:
            raise Invalid(
                f"At most {self.settings.max_range_days} days at once",
                field="to",
                code="range_too_long",
            )
        if hub_id and not await self.repo.hub_exists(hub_id):
            raise NotFound("No such hub")
        await self.refresh()
        rows = await self.repo.aggregate(group_by, from_day, to_day, hub_id, self._costs())
        return KpiReport(
            from_day=from_day,
            to_day=to_day,
            group_by=group_by,
            hub_id=hub_id,
            cost_model=self.settings.cost_model,
            rows=[msgspec.convert(row, KpiRow) for row in rows],
        )

    def _costs(self) -> dict[str, float]:
        model = self.settings.cost_model
        return {
            "per_km": model.per_km,
            "per_driver_hour": model.per_driver_hour,
            "per_partner_parcel": model.per_partner_parcel,
        }

    # targets -----------------------------------------------------------------------------------

    async def targets(self, hub_id: UUID | None) -> KpiTargetList:
        return KpiTargetList(items=[_target_read(t) for t in await self.repo.targets(hub_id)])

    async def set_target(self, hub_id: UUID, kpi: str, data: KpiTargetWrite) -> KpiTargetRead:
        low, high = data.bounds
        if low is None and high is None:
            raise Invalid("Give `min`, `max` or both", field="min")
        if low is not None and high is not None and low > high:
            raise Invalid("`min` is above `max`", field="min")
        if not await self.repo.hub_exists(hub_id):
            raise NotFound("No such hub")
        return _target_read(await self.repo.put_target(hub_id, kpi, low, high))

    async def delete_target(self, hub_id: UUID, kpi: str) -> None:
        if not await self.repo.delete_target(hub_id, kpi):
            raise NotFound("No such target")

    async def check_targets(self, now: datetime) -> TargetCheck:
        """Each hub's figures over its last `check_days` complete local days against its
        targets: a KPI outside opens (or keeps) one incident per hub and KPI; back inside
        resolves it; a KPI with nothing measured leaves things as they are."""
        await self.refresh()
        targets: dict[UUID, list[KpiTarget]] = {}
        for target in await self.repo.targets(None):
            targets.setdefault(target.hub_id, []).append(target)
        zones = await self.repo.hub_time_zones(list(targets))
        incidents = IncidentService(self.session)
        opened = still_open = resolved = 0
        for hub_id, hub_targets in targets.items():
            to_day = now.astimezone(ZoneInfo(zones[hub_id])).date() - timedelta(days=1)
            from_day = to_day - timedelta(days=self.settings.check_days - 1)
            rows = await self.repo.aggregate("hub", from_day, to_day, hub_id, self._costs())
            figures = rows[0] if rows else {}
            inside: list[str] = []
            for target in hub_targets:
                value = figures.get(target.kpi)
                if value is None or not math.isfinite(value):
                    continue
                if _within(target, value):
                    inside.append(target.kpi)
                    continue
                data = {
                    "value": value,
                    "min": target.min_value,
                    "max": target.max_value,
                    "from": from_day.isoformat(),
                    "to": to_day.isoformat(),
                }
                if await incidents.kpi_off_target(hub_id, target.kpi, data, now):
                    opened += 1
                else:
                    still_open += 1
            resolved += await incidents.kpis_back_on_target(hub_id, inside, now)
        return TargetCheck(
            hubs=len(targets), opened=opened, still_open=still_open, resolved=resolved
        )


def _within(target: KpiTarget, value: float) -> bool:
    low_ok = target.min_value is None or value >= target.min_value
    return low_ok and (target.max_value is None or value <= target.max_value)


def _target_read(target: KpiTarget) -> KpiTargetRead:
    return KpiTargetRead(
        hub_id=target.hub_id,
        kpi=target.kpi,  # type: ignore[arg-type]  # the check constraint keeps it a Kpi
        min=target.min_value,
        max=target.max_value,
        updated_at=target.updated_at,
    )
