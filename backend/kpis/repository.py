"""KPI queries: facts rebuilt from the event log, the aggregate per group, targets."""

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kpis.daily_sql import (
    CLEAR_TOUCHED,
    DELETE_TOUCHED,
    ROLLUP_TOUCHED,
    TOUCH,
    TOUCHED_TABLE,
    rollup,
)
from backend.kpis.facts_sql import REFRESH_FACTS
from backend.kpis.models import KpiTarget
from backend.kpis.queries import kpi_query
from backend.network.models import Hub

# Held while rebuilding facts, so two readers do not rebuild the same shipments at once and
# the second reads what the first built.
REFRESH_LOCK = 54_201
# Shipments rebuilt per statement: bounds the statement's memory, not its correctness.
REFRESH_CHUNK = 5_000


class KpiRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def take_dirty(self) -> list[UUID]:
        """The shipments marked since the last rebuild, unmarked. Rows a writer commits later
        were not seen, so they stay for the next rebuild."""
        if not await self.session.scalar(text("SELECT EXISTS (SELECT FROM kpi_dirty_shipments)")):
            return []
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": REFRESH_LOCK}
        )
        rows = await self.session.scalars(
            text("DELETE FROM kpi_dirty_shipments RETURNING shipment_id")
        )
        return sorted(set(rows))

    async def rebuild_facts(self, shipment_ids: Sequence[UUID], *, daily: bool = True) -> None:
        """These shipments' facts from their events, and (`daily`) the daily rows of every
        route-day they were or now are on."""
        if daily and shipment_ids:
            await self.session.execute(text(TOUCHED_TABLE))
        for start in range(0, len(shipment_ids), REFRESH_CHUNK):
            chunk = {"ids": list(shipment_ids[start : start + REFRESH_CHUNK])}
            if daily:
                await self.session.execute(text(TOUCH), chunk)
            await self.session.execute(text(REFRESH_FACTS), chunk)
            if daily:
                await self.session.execute(text(TOUCH), chunk)
        if daily and shipment_ids:
            for statement in (DELETE_TOUCHED, ROLLUP_TOUCHED, CLEAR_TOUCHED):
                await self.session.execute(text(statement))

    async def rebuild_daily(self, hub_ids: Sequence[UUID]) -> None:
        """All daily rows of these hubs, from their facts (after a bulk load)."""
        hubs = {"hubs": list(hub_ids)}
        await self.session.execute(
            text("DELETE FROM kpi_daily WHERE hub_id = ANY(CAST(:hubs AS uuid[]))"), hubs
        )
        facts = "SELECT * FROM kpi_shipment_facts WHERE hub_id = ANY(CAST(:hubs AS uuid[]))"
        await self.session.execute(text(rollup(facts)), hubs)

    async def aggregate(
        self,
        group_by: str,
        from_day: date,
        to_day: date,
        hub_id: UUID | None,
        costs: dict[str, float],
    ) -> list[dict[str, Any]]:
        params = {"from_day": from_day, "to_day": to_day, "hub_id": hub_id, **costs}
        # Merging a month of histograms sorts ~10^5 (group, second) pairs: in memory, not on
        # disk (the default 4 MB spills).
        await self.session.execute(text("SET LOCAL work_mem = '64MB'"))
        result = await self.session.execute(text(kpi_query(group_by)), params)
        return [dict(row) for row in result.mappings()]

    # targets -----------------------------------------------------------------------------------

    async def hub_exists(self, hub_id: UUID) -> bool:
        return bool(await self.session.scalar(select(Hub.id).where(Hub.id == hub_id)))

    async def hub_ids(self) -> list[UUID]:
        return list(await self.session.scalars(select(Hub.id).order_by(Hub.id)))

    async def targets(self, hub_id: UUID | None) -> Sequence[KpiTarget]:
        query = select(KpiTarget).order_by(KpiTarget.hub_id, KpiTarget.kpi)
        if hub_id:
            query = query.where(KpiTarget.hub_id == hub_id)
        return (await self.session.scalars(query)).all()

    async def put_target(
        self, hub_id: UUID, kpi: str, min_value: float | None, max_value: float | None
    ) -> KpiTarget:
        values = {"min_value": min_value, "max_value": max_value}
        statement = (
            insert(KpiTarget)
            .values(hub_id=hub_id, kpi=kpi, **values)
            .on_conflict_do_update(
                index_elements=[KpiTarget.hub_id, KpiTarget.kpi],
                set_={**values, "updated_at": text("now()")},
            )
            .returning(KpiTarget)
        )
        target = (await self.session.scalars(statement)).one()
        await self.session.refresh(target)
        return target

    async def delete_target(self, hub_id: UUID, kpi: str) -> bool:
        result = await self.session.execute(
            delete(KpiTarget).where(KpiTarget.hub_id == hub_id, KpiTarget.kpi == kpi)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def hub_time_zones(self, hub_ids: list[UUID]) -> dict[UUID, str]:
        rows = await self.session.execute(select(Hub.id, Hub.time_zone).where(Hub.id.in_(hub_ids)))
        return {hub_id: zone for hub_id, zone in rows.all()}
