"""Disruptions' queries: the day's routes and their stops at a hub, what a disruption touches,
and the event log's word on what happened to affected shipments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import Row, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Uuid

from backend.disruptions.models import Disruption, HubContingency

# Shipments that are still to be delivered today (a failed attempt is done for today).
OPEN_STATUSES = ("created", "at_hub", "out_for_delivery")

_DAY_STOPS = text(
    """
    SELECT r.id AS route_id, r.driver_id, r.status AS route_status, st.id AS stop_id,
           st.sequence, s.id AS shipment_id, s.status, s.zone_id
    FROM routes r
    JOIN stops st ON st.route_id = r.id AND st.active
    JOIN shipments s ON s.id = st.shipment_id
    WHERE r.hub_id = :hub_id AND r.date = :date AND r.status IN ('published', 'in_progress')
    ORDER BY r.driver_id, st.sequence
    """
).bindparams(bindparam("hub_id", type_=Uuid()))

_UNROUTED_TODAY = text(
    """
    SELECT s.id FROM shipments s
    WHERE s.hub_id = :hub_id AND s.status IN ('created', 'at_hub')
      AND (s.window_start IS NULL OR s.window_start::date = :date)
      AND NOT EXISTS (SELECT 1 FROM stops st WHERE st.shipment_id = s.id AND st.active)
    ORDER BY s.id LIMIT :limit
    """
).bindparams(bindparam("hub_id", type_=Uuid()))

# For each shipment: its window and its first delivery (by effective time) if any.
_DELIVERIES = text(
    """
    SELECT s.id, s.window_start, s.window_end, s.status,
           (SELECT min(e.effective_at) FROM shipment_events e
             WHERE e.shipment_id = s.id AND e.type = 'delivered') AS delivered_at,
           (SELECT max(e.effective_at) FROM shipment_events e
             WHERE e.shipment_id = s.id AND e.type IN ('delivered', 'delivery_failed'))
             AS settled_at
    FROM shipments s WHERE s.id = ANY(:ids)
    """
).bindparams(bindparam("ids", type_=ARRAY(Uuid())))


class DisruptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, disruption: Disruption) -> Disruption:
        self.session.add(disruption)
        await self.session.flush()
        return disruption

    async def get(self, disruption_id: UUID, *, for_update: bool = False) -> Disruption | None:
        query = (
            select(Disruption)
            .where(Disruption.id == disruption_id)
            .execution_options(populate_existing=True)
        )
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def by_plan(self, plan_id: UUID) -> Disruption | None:
        return await self.session.scalar(
            select(Disruption).where(Disruption.plan_id == plan_id).with_for_update()
        )

    async def page(
        self, *, after: UUID | None, limit: int, hub_id: UUID | None
    ) -> Sequence[Disruption]:
        query = select(Disruption).order_by(Disruption.id.desc()).limit(limit)
        if after:
            query = query.where(Disruption.id < after)
        if hub_id:
            query = query.where(Disruption.hub_id == hub_id)
        return (await self.session.scalars(query)).all()

    async def live_on(
        self, hub_id: UUID, date: dt.date, kinds: Sequence[str]
    ) -> Sequence[Disruption]:
        query = select(Disruption).where(
            Disruption.hub_id == hub_id,
            Disruption.date == date,
            Disruption.mode == "live",
            Disruption.kind.in_(kinds),
            Disruption.status.in_(("planning", "ready", "applied")),
        )
        return (await self.session.scalars(query)).all()

    async def lock_subject(self, key: str) -> None:
        """Serialise disruptions about the same thing (one driver, one hub, one zone)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key}
        )

    async def day_stops(self, hub_id: UUID, date: dt.date) -> Sequence[Row]:
        return (await self.session.execute(_DAY_STOPS, {"hub_id": hub_id, "date": date})).all()

    async def unrouted_today(self, hub_id: UUID, date: dt.date, limit: int) -> list[UUID]:
        rows = await self.session.execute(
            _UNROUTED_TODAY, {"hub_id": hub_id, "date": date, "limit": limit}
        )
        return [row.id for row in rows]

    async def deliveries(self, shipment_ids: Sequence[UUID]) -> Sequence[Row]:
        return (await self.session.execute(_DELIVERIES, {"ids": list(shipment_ids)})).all()

    async def contingency(self, hub_id: UUID) -> HubContingency | None:
        return await self.session.get(HubContingency, hub_id, populate_existing=True)

    async def save_contingency(self, values: dict) -> HubContingency:
        row = await self.contingency(values["hub_id"])
        if row is None:
            row = HubContingency(**values)
            self.session.add(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
        await self.session.flush()
        return row
