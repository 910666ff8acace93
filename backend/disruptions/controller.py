from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from backend.auth.guards import staff_only
from backend.auth.schemas import Principal
from backend.db.session import DbSession
from backend.disruptions.schemas import (
    ContingencyIn,
    ContingencyRead,
    DisruptionCreate,
    DisruptionRead,
)
from backend.disruptions.service import DisruptionService, apply_recovery
from backend.lib.errors import Conflict, Invalid
from backend.lib.openapi import raises
from backend.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, Page


class DisruptionController(Controller):
    path = "/v1"
    tags = ["disruptions"]
    guards = [staff_only]

    @post(
        "/disruptions",
        status_code=202,
        opt=raises(
            (Conflict, "disruption_open"),
            (
                Invalid,
                "invalid",
                "naive_time",
                "range",
                "unknown_driver",
                "driver_inactive",
                "unknown_hub",
                "unknown_zone",
            ),
        ),
    )
    async def create_disruption(
        self,
        data: JSONBody[DisruptionCreate],
        db_session: DbSession,
        request: Request[Principal, Any, Any],
    ) -> DisruptionRead:
        """Report or rehearse a disruption.

        Report a disruption (`mode: live`) or rehearse one (`mode: drill`). The recovery is
        planned in the background: follow `plan_id`, or this disruption's `status`."""
        return await DisruptionService(db_session).create(data, request.user.user_id)

    @get("/disruptions")
    async def list_disruptions(
        self,
        db_session: DbSession,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        hub_id: FromQuery[UUID | None] = None,
    ) -> Page[DisruptionRead]:
        """List disruptions, optionally of one hub."""
        return await DisruptionService(db_session).page(cursor=cursor, limit=limit, hub_id=hub_id)

    @get("/disruptions/{disruption_id:uuid}")
    async def get_disruption(
        self, disruption_id: FromPath[UUID], db_session: DbSession
    ) -> DisruptionRead:
        """With its impact, timeline and (once applied) the outcome so far."""
        return await DisruptionService(db_session).get(disruption_id)

    @post(
        "/disruptions/{disruption_id:uuid}/apply",
        status_code=200,
        opt=raises((Conflict, "drill", "recovery_applied", "recovery_not_ready")),
    )
    async def apply_disruption(
        self,
        disruption_id: FromPath[UUID],
        db_session: DbSession,
        request: Request[Principal, Any, Any],
    ) -> DisruptionRead:
        """Confirm a live recovery: routes change, drivers pull it, recipients are told."""
        return await apply_recovery(db_session, disruption_id, request.user.user_id)

    @get("/hubs/{hub_id:uuid}/contingency")
    async def get_contingency(
        self, hub_id: FromPath[UUID], db_session: DbSession
    ) -> ContingencyRead:
        """The hub's contingency settings: spare drivers, fallback hub, partner carriers in order
        of preference, whether a recovery applies itself, and the solver's time limit.
        Defaults when none were set."""
        return await DisruptionService(db_session).contingency(hub_id)

    @put(
        "/hubs/{hub_id:uuid}/contingency",
        opt=raises(
            (
                Invalid,
                "invalid",
                "unknown_hub",
                "unknown_driver",
                "driver_inactive",
                "not_a_carrier",
            )
        ),
    )
    async def set_contingency(
        self, hub_id: FromPath[UUID], data: JSONBody[ContingencyIn], db_session: DbSession
    ) -> ContingencyRead:
        """Replace the hub's contingency settings, which every later recovery of the hub uses."""
        return await DisruptionService(db_session).set_contingency(hub_id, data)
