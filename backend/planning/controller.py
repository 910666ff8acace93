from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.auth.guards import staff_only
from backend.auth.schemas import Principal
from backend.config import Settings
from backend.db.session import DbSession
from backend.lib.errors import Conflict, Invalid
from backend.lib.openapi import raises
from backend.planning.schemas import (
    DriverPlanningIn,
    DriverPlanningRead,
    PlanApplied,
    PlanCreate,
    PlanRead,
)
from backend.planning.service import PlanService
from backend.planning.settings import PlanningSettings


class PlanController(Controller):
    path = "/v1"
    tags = ["planning"]
    guards = [staff_only]

    @post(
        "/plans",
        status_code=202,
        opt=raises(
            (
                Invalid,
                "invalid",
                "range",
                "unknown_hub",
                "unknown_driver",
                "unknown_shipment",
                "duplicate",
            )
        ),
    )
    async def create_plan(
        self,
        data: JSONBody[PlanCreate],
        db_session: DbSession,
        settings: NamedDependency[Settings],
        request: Request[Principal, Any, Any],
    ) -> PlanRead:
        """Plan routes with the solver (queued).

        Queue a plan; the worker solves it. Follow it at `GET /v1/plans/{id}` or on the live
        feed (`plan.progress`)."""
        service = PlanService(db_session, PlanningSettings.of(settings))
        return await service.create(data, request.user.user_id)

    @get("/plans/{plan_id:uuid}")
    async def get_plan(self, plan_id: FromPath[UUID], db_session: DbSession) -> PlanRead:
        """One plan: its status and progress, then the routes found, their cost and the shipments
        left unassigned (or the error)."""
        return await PlanService(db_session).get(plan_id)

    @post(
        "/plans/{plan_id:uuid}/apply",
        status_code=200,
        opt=raises(
            (Conflict, "plan_applied", "plan_not_ready", "recovery_plan", "route_published")
        ),
    )
    async def apply_plan(
        self,
        plan_id: FromPath[UUID],
        db_session: DbSession,
        request: Request[Principal, Any, Any],
    ) -> PlanApplied:
        """Draft routes from the plan (publishing is separate). Applying twice is 409."""
        return await PlanService(db_session).apply(plan_id, request.user.user_id)

    @get("/drivers/{driver_id:uuid}/planning")
    async def get_driver_planning(
        self, driver_id: FromPath[UUID], db_session: DbSession
    ) -> DriverPlanningRead:
        """The driver's planning settings; 404 until some are set."""
        return await PlanService(db_session).driver_planning(driver_id)

    @put("/drivers/{driver_id:uuid}/planning", opt=raises((Invalid, "tz", "range", "unknown_zone")))
    async def set_driver_planning(
        self, driver_id: FromPath[UUID], data: JSONBody[DriverPlanningIn], db_session: DbSession
    ) -> DriverPlanningRead:
        """Shift, break, start and end places, skills and zones the planner uses."""
        return await PlanService(db_session).set_driver_planning(driver_id, data)
