"""Triage: dispatch works the incident queue. Each change writes an activity (the incident's log,
read back by the review), and is announced on the dispatch live feed after commit."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.incidents.models import INCIDENT_STATUSES, SEVERITIES, Incident, IncidentActivity
from backend.incidents.playbooks import playbook_of
from backend.incidents.queries import TriageRepository
from backend.incidents.schemas import (
    ActivityRead,
    IncidentDetail,
    IncidentPage,
    IncidentRead,
    PlaybookStepRead,
    ResolveIn,
)
from backend.lib.clock import utcnow
from backend.lib.errors import Conflict, Invalid, NotFound
from backend.lib.ids import uuid7
from backend.lib.pagination import decode_cursor, encode_cursor
from backend.live.messages import LiveMessage, announce
from backend.webhooks.service import WebhookService

MAX_FILTER_VALUES = 20
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def filter_values(raw: str | None, field: str, allowed: Sequence[str] | None = None) -> list[str]:
    """`a,b,c` → the distinct values; 422 naming the field for an unknown one."""
    if raw is None:
        return []
    values = sorted({part.strip() for part in raw.split(",") if part.strip()})
    if len(values) > MAX_FILTER_VALUES:
        raise Invalid(f"At most {MAX_FILTER_VALUES} values", field=field)
    for value in values:
        known = value in allowed if allowed is not None else bool(_KIND.match(value))
        if not known:
            hint = f"one of {', '.join(allowed)}" if allowed else "a kind such as stale_gps"
            raise Invalid(f"{value[:40]!r} is not {hint}", field=field)
    return values


class TriageService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = TriageRepository(session)

    # reads -----------------------------------------------------------------------------------

    async def page(
        self,
        *,
        cursor: str | None,
        limit: int,
        status: str | None = None,
        kind: str | None = None,
        severity: str | None = None,
        hub_id: UUID | None = None,
        route_id: UUID | None = None,
        since: datetime | None = None,
    ) -> IncidentPage:
        if since is not None and since.tzinfo is None:
            raise Invalid("since needs a UTC offset (RFC 3339)", field="since")
        rows = await self.repo.page(
            after=decode_cursor(cursor),
            limit=limit + 1,
            statuses=filter_values(status, "status", INCIDENT_STATUSES),
            kinds=filter_values(kind, "kind"),
            severities=filter_values(severity, "severity", SEVERITIES),
            hub_id=hub_id,
            route_id=route_id,
            since=since,
        )
        items = await self.reads(rows[:limit])
        more = len(rows) > limit
        return IncidentPage(
            items=items, next_cursor=encode_cursor(rows[limit - 1].id) if more else None
        )

    async def get(self, incident_id: UUID) -> IncidentDetail:
        incident = await self.require(incident_id)
        read = (await self.reads([incident]))[0]
        activities = [
            ActivityRead(kind=a.kind, actor_id=a.actor_id, at=a.at, data=a.data)
            for a in await self.repo.activities(incident.id)
        ]
        return IncidentDetail(**msgspec.structs.asdict(read), activities=activities)

    async def require(self, incident_id: UUID, *, for_update: bool = False) -> Incident:
        incident = await self.repo.get(incident_id, for_update=for_update)
        if incident is None:
            raise NotFound("No such incident")
        return incident

    async def reads(self, incidents: Sequence[Incident]) -> list[IncidentRead]:
        taken = await self.repo.steps_taken([i.id for i in incidents])
        return [incident_read(i, taken) for i in incidents]

    # changes ---------------------------------------------------------------------------------

    async def acknowledge(self, incident_id: UUID, actor_id: UUID) -> IncidentRead:
        """Idempotent: acknowledging again keeps the first time and logs nothing."""
        incident = await self.require(incident_id, for_update=True)
        ensure_unresolved(incident)
        if incident.acknowledged_at is None:
            incident.acknowledged_at = utcnow()
            incident.status = "acknowledged"
            await self.log(incident, "acknowledged", actor_id, {}, at=incident.acknowledged_at)
        return (await self.reads([incident]))[0]

    async def assign(self, incident_id: UUID, user_id: UUID, actor_id: UUID) -> IncidentRead:
        incident = await self.require(incident_id, for_update=True)
        if not await self.repo.is_active_staff(user_id):
            raise Invalid(
                "Incidents are assigned to active dispatchers or admins",
                field="user_id",
                code="not_staff",
            )
        if incident.assigned_to != user_id:
            previous = incident.assigned_to
            incident.assigned_to = user_id
            data = {"user_id": str(user_id), "previous": str(previous) if previous else None}
            await self.log(incident, "assigned", actor_id, data)
        return (await self.reads([incident]))[0]

    async def comment(self, incident_id: UUID, text: str, actor_id: UUID) -> ActivityRead:
        incident = await self.require(incident_id, for_update=True)
        activity = await self.log(incident, "commented", actor_id, {"text": text})
        return ActivityRead(
            kind=activity.kind, actor_id=activity.actor_id, at=activity.at, data=activity.data
        )

    async def resolve(self, incident_id: UUID, data: ResolveIn, actor_id: UUID) -> IncidentRead:
        incident = await self.require(incident_id, for_update=True)
        ensure_unresolved(incident)
        now = utcnow()
        incident.status = "resolved"
        incident.resolved_at = now
        incident.resolution_code = data.resolution_code
        details = {"resolution_code": data.resolution_code, "note": data.note}
        await self.log(incident, "resolved", actor_id, details, at=now)
        await WebhookService(self.session).incidents_resolved([incident])
        return (await self.reads([incident]))[0]

    async def reopen(self, incident_id: UUID, reason: str, actor_id: UUID) -> IncidentRead:
        incident = await self.require(incident_id, for_update=True)
        if incident.status != "resolved":
            raise Conflict("Only a resolved incident reopens", code="incident_not_resolved")
        if twin := await self.repo.unresolved_twin(incident):
            raise Conflict(
                f"Incident {twin} is open about the same {incident.subject}; work that one",
                code="incident_superseded",
            )
        previous = {"resolution_code": incident.resolution_code, "reason": reason}
        incident.status = "open"
        incident.resolved_at = None
        incident.resolution_code = None
        incident.acknowledged_at = None
        await self.log(incident, "reopened", actor_id, previous)
        return (await self.reads([incident]))[0]

    async def log(
        self,
        incident: Incident,
        kind: str,
        actor_id: UUID | None,
        data: dict[str, Any],
        *,
        at: datetime | None = None,
    ) -> IncidentActivity:
        """Record an activity on the incident's log and announce the incident's new state."""
        incident.updated_at = utcnow()
        activity = await self.repo.add_activity(
            {
                "id": uuid7(),
                "incident_id": incident.id,
                "kind": kind,
                "actor_id": actor_id,
                "at": at or utcnow(),
                "data": data,
            }
        )
        announce_change(self.session, incident, kind)
        return activity


def ensure_unresolved(incident: Incident) -> None:
    if incident.status == "resolved":
        raise Conflict("The incident is resolved; reopen it first", code="incident_resolved")


def announce_change(session: AsyncSession, incident: Incident, change: str) -> None:
    announce(
        session,
        [
            LiveMessage(
                type="incident",
                shipment_id=incident.shipment_id,
                driver_id=incident.driver_id,
                data={
                    "id": str(incident.id),
                    "kind": incident.kind,
                    "status": incident.status,
                    "severity": incident.severity,
                    "change": change,
                    "assigned_to": str(incident.assigned_to) if incident.assigned_to else None,
                },
            )
        ],
    )


def incident_read(incident: Incident, taken: dict[tuple[UUID, int], datetime]) -> IncidentRead:
    return IncidentRead(
        id=incident.id,
        kind=incident.kind,
        status=incident.status,  # type: ignore[arg-type]
        severity=incident.severity,  # type: ignore[arg-type]
        hub_id=incident.hub_id,
        route_id=incident.route_id,
        shipment_id=incident.shipment_id,
        driver_id=incident.driver_id,
        subject=incident.subject,
        data=incident.data or {},
        occurred_at=incident.occurred_at,
        created_at=incident.created_at,
        acknowledged_at=incident.acknowledged_at,
        assigned_to=incident.assigned_to,
        escalated_at=incident.escalated_at,
        resolved_at=incident.resolved_at,
        resolution_code=incident.resolution_code,
        playbook=[
            PlaybookStepRead(
                step=number,
                title=step.title,
                action=step.action,
                taken_at=taken.get((incident.id, number)),
            )
            for number, step in enumerate(playbook_of(incident.kind), start=1)
        ],
    )
