"""Planning's queries: what a plan needs to know about shipments and drivers, read set-based,
and the plan jobs themselves (claimed with SKIP LOCKED under a lease)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Row, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Uuid

from backend.planning.models import DriverPlanning, Plan

# Shipments with what planning needs: place, window, zone, proof needs, parcels and weights,
# and the driver whose active route holds it (with that route's status).
_SHIPMENTS = """
    SELECT s.id, ST_X(s.location::geometry) AS lon, ST_Y(s.location::geometry) AS lat,
           s.window_start, s.window_end, s.zone_id, s.outside_zones, s.requirements,
           s.status, s.service_level, s.hub_id,
           coalesce(p.parcels, 0) AS parcels, coalesce(p.kg, 0) AS kg,
           coalesce(p.max_kg, 0) AS max_kg,
           r.driver_id AS route_driver_id, r.id AS route_id, r.status AS route_status,
           st.sequence AS stop_sequence
    FROM shipments s
    LEFT JOIN LATERAL (
        SELECT count(*) AS parcels, sum(coalesce(weight_kg, 0)) AS kg,
               max(coalesce(weight_kg, 0)) AS max_kg
        FROM parcels WHERE parcels.shipment_id = s.id
    ) p ON true
    LEFT JOIN stops st ON st.shipment_id = s.id AND st.active
    LEFT JOIN routes r ON r.id = st.route_id
"""

_UNROUTED = text(
    _SHIPMENTS
    + """
    WHERE s.hub_id = :hub_id AND st.id IS NULL
      AND s.status IN ('created', 'at_hub', 'attempt_failed')
      AND (s.window_start IS NULL OR s.window_start::date = :date)
    ORDER BY s.id
    """
).bindparams(bindparam("hub_id", type_=Uuid()))

_BY_ID = text(_SHIPMENTS + " WHERE s.id = ANY(:ids) ORDER BY s.id").bindparams(
    bindparam("ids", type_=ARRAY(Uuid()))
)

_DRIVERS = """
    SELECT d.id, d.home_hub_id, d.active, d.employment, v.kind, v.capacity_parcels, v.capacity_kg,
           dp.shift_start, dp.shift_end, coalesce(dp.break_minutes, 0) AS break_minutes,
           coalesce(dp.skills, '[]'::jsonb) AS skills, dp.zone_ids,
           ST_X(dp.start_location::geometry) AS start_lon,
           ST_Y(dp.start_location::geometry) AS start_lat,
           ST_X(dp.end_location::geometry) AS end_lon, ST_Y(dp.end_location::geometry) AS end_lat,
           ST_X(lp.location::geometry) AS pos_lon, ST_Y(lp.location::geometry) AS pos_lat,
           lp.at AS pos_at,
           EXISTS (SELECT 1 FROM routes r WHERE r.driver_id = d.id AND r.date = :date
                   AND r.status IN ('published', 'in_progress')) AS on_the_road
    FROM drivers d
    LEFT JOIN vehicles v ON v.driver_id = d.id
    LEFT JOIN driver_planning dp ON dp.driver_id = d.id
    LEFT JOIN latest_positions lp ON lp.driver_id = d.id
"""

_HUB_DRIVERS = text(
    _DRIVERS + " WHERE d.home_hub_id = :hub_id AND d.active ORDER BY d.id"
).bindparams(bindparam("hub_id", type_=Uuid()))
_DRIVERS_BY_ID = text(_DRIVERS + " WHERE d.id = ANY(:ids) ORDER BY d.id").bindparams(
    bindparam("ids", type_=ARRAY(Uuid()))
)

_HUB_PLACE = text(
    "SELECT ST_X(location::geometry) AS lon, ST_Y(location::geometry) AS lat FROM hubs"
    " WHERE id = :hub_id"
).bindparams(bindparam("hub_id", type_=Uuid()))

# A queued plan, or a solving one whose worker stopped renewing its lease.
_CLAIM = text(
    """
    UPDATE plans SET status = 'solving', lease_until = now() + make_interval(secs => :lease),
                     attempts = attempts + 1, updated_at = now()
    WHERE id = (
        SELECT id FROM plans
        WHERE status = 'queued' OR (status = 'solving' AND lease_until < now())
        ORDER BY created_at
        FOR UPDATE SKIP LOCKED
        LIMIT 1
    )
    RETURNING id
    """
)


class PlanningRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # inputs ----------------------------------------------------------------------------------

    async def unrouted_shipments(self, hub_id: UUID, date: dt.date) -> Sequence[Row]:
        return (await self.session.execute(_UNROUTED, {"hub_id": hub_id, "date": date})).all()

    async def shipments(self, ids: Sequence[UUID]) -> Sequence[Row]:
        return (await self.session.execute(_BY_ID, {"ids": list(ids)})).all()

    async def hub_drivers(self, hub_id: UUID, date: dt.date) -> Sequence[Row]:
        return (await self.session.execute(_HUB_DRIVERS, {"hub_id": hub_id, "date": date})).all()

    async def drivers(self, ids: Sequence[UUID], date: dt.date) -> Sequence[Row]:
        return (await self.session.execute(_DRIVERS_BY_ID, {"ids": list(ids), "date": date})).all()

    async def hub_place(self, hub_id: UUID) -> Row | None:
        return (await self.session.execute(_HUB_PLACE, {"hub_id": hub_id})).first()

    async def driver_planning(self, driver_id: UUID) -> DriverPlanning | None:
        return await self.session.get(DriverPlanning, driver_id, populate_existing=True)

    async def save_driver_planning(self, values: dict[str, Any]) -> None:
        row = await self.driver_planning(values["driver_id"])
        if row is None:
            self.session.add(DriverPlanning(**values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
        await self.session.flush()

    # plan jobs -------------------------------------------------------------------------------

    async def add(self, plan: Plan) -> Plan:
        self.session.add(plan)
        await self.session.flush()
        return plan

    async def get(self, plan_id: UUID, *, for_update: bool = False) -> Plan | None:
        query = select(Plan).where(Plan.id == plan_id).execution_options(populate_existing=True)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def claim(self, lease_seconds: float) -> UUID | None:
        return await self.session.scalar(_CLAIM, {"lease": lease_seconds})

    async def heartbeat(
        self, plan_id: UUID, lease_seconds: float, best_cost: int | None, elapsed_s: float
    ) -> bool:
        """Renew the lease and record progress; False when the plan is no longer ours."""
        statement = (
            update(Plan)
            .where(Plan.id == plan_id, Plan.status == "solving")
            .values(
                lease_until=text(f"now() + interval '{float(lease_seconds)} seconds'"),
                best_cost=best_cost,
                elapsed_s=elapsed_s,
            )
            .returning(Plan.id)
        )
        return (await self.session.scalar(statement)) is not None
