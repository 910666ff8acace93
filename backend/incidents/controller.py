"""HTTP for the incident queue: list and filter, acknowledge, assign, comment, resolve, reopen,
playbook steps, and the after-action review (docs/incidents.md). Dispatchers and admins only."""

from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from backend.auth.guards import staff_only
from backend.auth.schemas import Principal
from backend.db.session import DbSession
from backend.incidents.actions import PlaybookRunner
from backend.incidents.review import ReviewService
from backend.incidents.schemas import (
    ActivityRead,
    AssignIn,
    CommentIn,
    DisruptionReview,
    FindingIn,
    FindingRead,
    IncidentDetail,
    IncidentPage,
    IncidentRead,
    IncidentReview,
    ReopenIn,
    ResolveIn,
    StepIn,
    StepTaken,
)
from backend.incidents.triage import TriageService
from backend.lib.errors import Conflict, Invalid
from backend.lib.openapi import raises
from backend.lib.pagination import DEFAULT_LIMIT, Cursor, Limit

AppRequest = Request[Principal, Any, Any]


class IncidentController(Controller):
    path = "/v1"
    tags = ["incidents"]
    guards = [staff_only]

    @get("/incidents", summary="List incidents")
    async def list_incidents(
        self,
        db_session: DbSession,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        status: FromQuery[str | None] = None,
        kind: FromQuery[str | None] = None,
        severity: FromQuery[str | None] = None,
        hub_id: FromQuery[UUID | None] = None,
        route_id: FromQuery[UUID | None] = None,
        since: FromQuery[datetime | None] = None,
    ) -> IncidentPage:
        """Newest first. `status`, `kind` and `severity` take several values comma-separated;
        `since` (RFC 3339 with an offset) keeps those opened at or after it. An unknown status
        or severity, a malformed kind, or `since` without an offset: 422 naming the field."""
        return await TriageService(db_session).page(
            cursor=cursor,
            limit=limit,
            status=status,
            kind=kind,
            severity=severity,
            hub_id=hub_id,
            route_id=route_id,
            since=since,
        )

    @get("/incidents/{incident_id:uuid}", summary="Get an incident with its activity log")
    async def get_incident(
        self, incident_id: FromPath[UUID], db_session: DbSession
    ) -> IncidentDetail:
        """The incident, its playbook (steps taken so far) and its activities oldest first.
        404 for an unknown id."""
        return await TriageService(db_session).get(incident_id)

    @post(
        "/incidents/{incident_id:uuid}/acknowledge",
        status_code=200,
        summary="Acknowledge an incident",
        opt=raises((Conflict, "incident_resolved")),
    )
    async def acknowledge(
        self, incident_id: FromPath[UUID], db_session: DbSession, request: AppRequest
    ) -> IncidentRead:
        """Someone is on it: status `acknowledged`. Acknowledging again keeps the first time.
        404 unknown id; 409 `incident_resolved` once resolved."""
        return await TriageService(db_session).acknowledge(incident_id, request.user.user_id)

    @post(
        "/incidents/{incident_id:uuid}/assign",
        status_code=200,
        summary="Assign an incident",
        opt=raises((Invalid, "not_staff")),
    )
    async def assign(
        self,
        incident_id: FromPath[UUID],
        data: JSONBody[AssignIn],
        db_session: DbSession,
        request: AppRequest,
    ) -> IncidentRead:
        """Give the incident to an active dispatcher or admin. 404 unknown incident; 422
        `not_staff` when `user_id` names no active staff user."""
        return await TriageService(db_session).assign(
            incident_id, data.user_id, request.user.user_id
        )

    @post(
        "/incidents/{incident_id:uuid}/comments", status_code=201, summary="Comment on an incident"
    )
    async def comment(
        self,
        incident_id: FromPath[UUID],
        data: JSONBody[CommentIn],
        db_session: DbSession,
        request: AppRequest,
    ) -> ActivityRead:
        """A note on the incident's log (1 to 4,000 characters, not only blanks). 404 unknown
        id; 422 for an empty or too long text."""
        return await TriageService(db_session).comment(incident_id, data.text, request.user.user_id)

    @post(
        "/incidents/{incident_id:uuid}/resolve",
        status_code=200,
        summary="Resolve an incident",
        opt=raises((Conflict, "incident_resolved")),
    )
    async def resolve(
        self,
        incident_id: FromPath[UUID],
        data: JSONBody[ResolveIn],
        db_session: DbSession,
        request: AppRequest,
    ) -> IncidentRead:
        """Close it with a resolution code (docs/incidents.md lists them) and an optional note;
        sends the `incident.resolved` webhook. 404 unknown id; 409 `incident_resolved` if it
        is resolved already; 422 for an unknown code."""
        return await TriageService(db_session).resolve(incident_id, data, request.user.user_id)

    @post(
        "/incidents/{incident_id:uuid}/reopen",
        status_code=200,
        summary="Reopen a resolved incident",
        opt=raises((Conflict, "incident_not_resolved", "incident_superseded")),
    )
    async def reopen(
        self,
        incident_id: FromPath[UUID],
        data: JSONBody[ReopenIn],
        db_session: DbSession,
        request: AppRequest,
    ) -> IncidentRead:
        """Back to `open`, resolution cleared, the reason logged. 404 unknown id; 409
        `incident_not_resolved` if it is not resolved, `incident_superseded` when another
        incident is open about the same subject."""
        return await TriageService(db_session).reopen(
            incident_id, data.reason, request.user.user_id
        )

    @post(
        "/incidents/{incident_id:uuid}/playbook/{step:int}",
        status_code=200,
        summary="Take a playbook step",
        opt=raises((Conflict, "incident_resolved"), (Invalid, "missing_parameter")),
    )
    async def take_step(
        self,
        incident_id: FromPath[UUID],
        step: FromPath[int],
        db_session: DbSession,
        request: AppRequest,
        data: JSONBody[StepIn | None] = None,
    ) -> StepTaken:
        """Run the step's one-click action (its parameters in the body: `driver_id`,
        `route_id`, `organization_id`, `shipment_ids`, `window`, `time_limit_s` as the action
        needs), or mark a manual step done; either way an `action` activity, and an incident
        not yet acknowledged is acknowledged. 404 unknown incident or step; 409
        `incident_resolved`; 422 naming a missing or wrong parameter; the 404/409/422 of the
        service the action calls (a closed route, a delivered shipment, an inactive carrier)."""
        return await PlaybookRunner(db_session).take(
            incident_id, step, data or StepIn(), request.user
        )

    @get("/incidents/{incident_id:uuid}/review", summary="After-action review of an incident")
    async def incident_review(
        self, incident_id: FromPath[UUID], db_session: DbSession
    ) -> IncidentReview:
        """The timeline from the event log (detected, opened, acknowledged, assigned, steps
        taken, resolved or cleared, and the affected shipments' events since detection), the
        outcome (times to acknowledge, to first action, to resolve; shipments affected and
        delivered in their window) and the findings. Measures settle once resolved. 404
        unknown id."""
        return await ReviewService(db_session).incident(incident_id)

    @post(
        "/incidents/{incident_id:uuid}/review/findings",
        status_code=201,
        summary="Add a finding or follow-up to an incident's review",
    )
    async def add_incident_finding(
        self,
        incident_id: FromPath[UUID],
        data: JSONBody[FindingIn],
        db_session: DbSession,
        request: AppRequest,
    ) -> FindingRead:
        """A `finding` (what the review found) or a `follow_up` (with an optional owner, an
        active staff user, and a due date). 404 unknown id; 422 naming the field."""
        return await ReviewService(db_session).add_finding(
            data, request.user.user_id, incident_id=incident_id
        )

    @get("/disruptions/{disruption_id:uuid}/review", summary="After-action review of a disruption")
    async def disruption_review(
        self, disruption_id: FromPath[UUID], db_session: DbSession
    ) -> DisruptionReview:
        """The disruption's moments (detected, plan ready, applied, recovered), the affected
        shipments' events and the incidents opened about them since detection, the outcome
        (times to plan, apply and recover; shipments delivered in their window, late, not
        delivered; handed over) and the findings. 404 unknown id."""
        return await ReviewService(db_session).disruption(disruption_id)

    @post(
        "/disruptions/{disruption_id:uuid}/review/findings",
        status_code=201,
        summary="Add a finding or follow-up to a disruption's review",
    )
    async def add_disruption_finding(
        self,
        disruption_id: FromPath[UUID],
        data: JSONBody[FindingIn],
        db_session: DbSession,
        request: AppRequest,
    ) -> FindingRead:
        """As for an incident's review. 404 unknown id; 422 naming the field."""
        return await ReviewService(db_session).add_finding(
            data, request.user.user_id, disruption_id=disruption_id
        )
