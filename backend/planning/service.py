"""Plans: asked for in a request, solved by the worker (`worker.py`), read, and applied as draft
routes. A plan is a proposal: nothing changes for anyone until it is applied."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.drivers.service import DriverService
from backend.lib.clock import utcnow
from backend.lib.errors import Conflict, Invalid, NotFound
from backend.lib.geo import point_from_db, point_to_db
from backend.live.messages import LiveMessage, announce
from backend.manifests.schemas import RouteCreate, RouteRead, StopIn
from backend.manifests.service import RouteService
from backend.network.service import NetworkService
from backend.planning.models import Plan
from backend.planning.repository import PlanningRepository
from backend.planning.schemas import (
    DriverPlanningIn,
    DriverPlanningRead,
    PlanApplied,
    PlanCreate,
    PlanRead,
)
from backend.planning.settings import PlanningSettings

# A plan's date must be near: a year-1 or year-9999 date is a typo, not a plan.
MAX_DAYS_AWAY = 366


class PlanService:
    def __init__(self, session: AsyncSession, settings: PlanningSettings | None = None) -> None:
        self.session = session
        self.settings = settings
        self.repo = PlanningRepository(session)

    async def create(self, data: PlanCreate, actor_id: UUID | None) -> PlanRead:
        """Queue a plan; the worker solves it. Inputs are checked here so a bad id is a 422 now,
        not a failed plan later."""
        check_date(data.date)
        await NetworkService(self.session).require_hub(data.hub_id)
        if self.settings and data.time_limit_s > self.settings.max_time_limit_s:
            raise Invalid(
                f"At most {self.settings.max_time_limit_s:g} s", field="time_limit_s", code="range"
            )
        if data.driver_ids is not None:
            await self._check_drivers(data.driver_ids)
        if data.shipment_ids is not None:
            await self._check_shipments(data.shipment_ids, data.hub_id)
        request: dict[str, Any] = {
            "shipment_ids": _strs(data.shipment_ids),
            "driver_ids": _strs(data.driver_ids),
            "optional_penalty": data.optional_penalty,
        }
        plan = await self.repo.add(
            Plan(
                hub_id=data.hub_id,
                date=data.date,
                purpose="plan",
                status="queued",
                objective=data.objective,
                time_limit_s=data.time_limit_s,
                request=request,
                created_by=actor_id,
            )
        )
        announce_plan(self.session, plan)
        return plan_read(plan)

    async def get(self, plan_id: UUID) -> PlanRead:
        plan = await self.repo.get(plan_id)
        if plan is None:
            raise NotFound("No such plan")
        return plan_read(plan)

    async def apply(self, plan_id: UUID, actor_id: UUID | None) -> PlanApplied:
        """Each planned route becomes the driver's draft route for that day (a new one, or the
        stops of their existing draft replaced). Publishing stays a separate step."""
        plan = await self.repo.get(plan_id, for_update=True)
        if plan is None:
            raise NotFound("No such plan")
        if plan.purpose != "plan":
            raise Conflict(
                "A recovery plan is applied through its disruption", code="recovery_plan"
            )
        if plan.applied_at is not None:
            raise Conflict("The plan was already applied", code="plan_applied")
        if plan.status != "done" or plan.result is None:
            raise Conflict(
                f"The plan is {plan.status}; only a done plan applies", code="plan_not_ready"
            )
        routes = RouteService(self.session)
        applied: list[RouteRead] = []
        for planned in plan.result["routes"]:
            stops = [StopIn(shipment_id=UUID(s["shipment_id"])) for s in planned["stops"]]
            driver_id = UUID(planned["driver_id"])
            existing = await routes.of_driver_day(driver_id, plan.hub_id, plan.date)
            if any(route.status != "draft" for route in existing):
                raise Conflict(
                    "The driver's route for that day is already published", code="route_published"
                )
            if existing:
                applied.append(await routes.replace_stops(existing[0].id, stops, actor_id))
            else:
                applied.append(
                    await routes.create(
                        RouteCreate(
                            driver_id=driver_id, hub_id=plan.hub_id, date=plan.date, stops=stops
                        ),
                        actor_id,
                    )
                )
        plan.applied_at = utcnow()
        await self.session.flush()
        return PlanApplied(plan_id=plan.id, routes=applied)

    # driver planning settings ---------------------------------------------------------------

    async def driver_planning(self, driver_id: UUID) -> DriverPlanningRead:
        await DriverService(self.session).get(driver_id)  # 404 for an unknown driver
        row = await self.repo.driver_planning(driver_id)
        if row is None:
            raise NotFound("The driver has no planning settings yet")
        return driver_planning_read(row)

    async def set_driver_planning(
        self, driver_id: UUID, data: DriverPlanningIn
    ) -> DriverPlanningRead:
        await DriverService(self.session).get(driver_id)
        for name in ("shift_start", "shift_end"):
            if getattr(data, name).tzinfo is not None:
                raise Invalid("Shift times are UTC, without an offset", field=name, code="tz")
        if data.shift_end <= data.shift_start:
            raise Invalid("The shift must end after it starts", field="shift_end", code="range")
        network = NetworkService(self.session)
        for n, zone_id in enumerate(data.zone_ids or []):
            await network.require_zone(zone_id, field=f"zone_ids[{n}]")
        values = {
            "driver_id": driver_id,
            "shift_start": data.shift_start,
            "shift_end": data.shift_end,
            "break_minutes": data.break_minutes,
            "skills": sorted(set(data.skills)),
            "zone_ids": _strs(data.zone_ids),
            "start_location": _point(data.start_location),
            "end_location": _point(data.end_location),
        }
        await self.repo.save_driver_planning(values)
        return await self.driver_planning(driver_id)

    # checks ----------------------------------------------------------------------------------

    async def _check_drivers(self, driver_ids: Sequence[UUID]) -> None:
        found = {row.id: row for row in await self.repo.drivers(driver_ids, dt.date.today())}
        for n, driver_id in enumerate(driver_ids):
            row = found.get(driver_id)
            if row is None or not row.active:
                raise Invalid(
                    "No such active driver", field=f"driver_ids[{n}]", code="unknown_driver"
                )

    async def _check_shipments(self, shipment_ids: Sequence[UUID], hub_id: UUID) -> None:
        if len(set(shipment_ids)) != len(shipment_ids):
            raise Invalid("A shipment is listed twice", field="shipment_ids", code="duplicate")
        found = {row.id: row for row in await self.repo.shipments(shipment_ids)}
        for n, sid in enumerate(shipment_ids):
            row = found.get(sid)
            if row is None or row.hub_id != hub_id:
                raise Invalid(
                    "No such shipment at this hub",
                    field=f"shipment_ids[{n}]",
                    code="unknown_shipment",
                )


def check_date(date: dt.date) -> None:
    if abs((date - utcnow().date()).days) > MAX_DAYS_AWAY:
        raise Invalid("The date must be within a year of today", field="date", code="range")


def announce_plan(session: AsyncSession, plan: Plan) -> None:
    """Progress on the dispatch feed (staff only): status, best cost so far, elapsed."""
    if (plan.request or {}).get("quiet"):
        return
    announce(
        session,
        [
            LiveMessage(
                type="plan.progress",
                data={
                    "plan_id": str(plan.id),
                    "purpose": plan.purpose,
                    "status": plan.status,
                    "best_cost": plan.best_cost,
                    "elapsed_s": plan.elapsed_s,
                },
            )
        ],
    )


def plan_read(plan: Plan) -> PlanRead:
    result = plan.result or {}
    return PlanRead(
        id=plan.id,
        hub_id=plan.hub_id,
        date=plan.date,
        purpose=plan.purpose,  # type: ignore[arg-type]
        status=plan.status,  # type: ignore[arg-type]
        objective=plan.objective,  # type: ignore[arg-type]
        time_limit_s=plan.time_limit_s,
        best_cost=plan.best_cost,
        elapsed_s=plan.elapsed_s,
        attempts=plan.attempts,
        routes=result.get("routes", []),
        unassigned=result.get("unassigned", []),
        cost=result.get("cost"),
        error=plan.error,
        created_at=plan.created_at,
        finished_at=plan.finished_at,
        applied_at=plan.applied_at,
    )


def driver_planning_read(row: Any) -> DriverPlanningRead:
    return DriverPlanningRead(
        driver_id=row.driver_id,
        shift_start=row.shift_start,
        shift_end=row.shift_end,
        break_minutes=row.break_minutes,
        skills=list(row.skills or []),
        zone_ids=[UUID(z) for z in row.zone_ids] if row.zone_ids is not None else None,
        start_location=point_from_db(row.start_location),
        end_location=point_from_db(row.end_location),
    )


def _strs(values: Sequence[UUID] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]


def _point(point: Any) -> Any:
    return None if point is None else point_to_db(point.lon, point.lat)
