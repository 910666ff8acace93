"""Queries of the triage queue: pages, one incident locked for a change, its log."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, tuple_

from backend.auth.models import User
from backend.incidents.models import Incident, IncidentActivity
from backend.incidents.repository import IncidentRepository

STAFF_ROLES = ("admin", "dispatcher")


class TriageRepository(IncidentRepository):
    async def page(
        self,
        *,
        after: UUID | None,
        limit: int,
        statuses: Sequence[str] = (),
        kinds: Sequence[str] = (),
        severities: Sequence[str] = (),
        hub_id: UUID | None = None,
        route_id: UUID | None = None,
        since: datetime | None = None,
    ) -> Sequence[Incident]:
        """Newest first: by `created_at`, then id (incidents opened by one statement share
        their `created_at`). The cursor is the last id; its row gives the position."""
        query = (
            select(Incident).order_by(Incident.created_at.desc(), Incident.id.desc()).limit(limit)
        )
        if after is not None:
            position = (
                select(Incident.created_at, Incident.id).where(Incident.id == after).subquery()
            )
            query = query.where(
                tuple_(Incident.created_at, Incident.id)
                < select(position.c.created_at, position.c.id).scalar_subquery()
            )
        if statuses:
            query = query.where(Incident.status.in_(statuses))
        if kinds:
            query = query.where(Incident.kind.in_(kinds))
        if severities:
            query = query.where(Incident.severity.in_(severities))
        if hub_id is not None:
            query = query.where(Incident.hub_id == hub_id)
        if route_id is not None:
            query = query.where(Incident.route_id == route_id)
        if since is not None:
            query = query.where(Incident.created_at >= since)
        return (await self.session.scalars(query)).all()

    async def get(self, incident_id: UUID, *, for_update: bool = False) -> Incident | None:
        query = select(Incident).where(Incident.id == incident_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def activities(self, incident_id: UUID) -> Sequence[IncidentActivity]:
        query = (
            select(IncidentActivity)
            .where(IncidentActivity.incident_id == incident_id)
            .order_by(IncidentActivity.at, IncidentActivity.id)
        )
        return (await self.session.scalars(query)).all()

    async def steps_taken(self, incident_ids: Sequence[UUID]) -> dict[tuple[UUID, int], datetime]:
        """When each playbook step of these incidents was last taken."""
        if not incident_ids:
            return {}
        step = IncidentActivity.data["step"].as_integer()
        query = (
            select(IncidentActivity.incident_id, step, func.max(IncidentActivity.at))
            .where(
                IncidentActivity.incident_id.in_(incident_ids),
                IncidentActivity.kind == "action",
            )
            .group_by(IncidentActivity.incident_id, step)
        )
        return {(row[0], row[1]): row[2] for row in (await self.session.execute(query)).all()}

    async def add_activity(self, row: dict[str, Any]) -> IncidentActivity:
        activity = IncidentActivity(**row)
        self.session.add(activity)
        await self.session.flush()
        return activity

    async def is_active_staff(self, user_id: UUID) -> bool:
        query = select(User.id).where(
            User.id == user_id, User.role.in_(STAFF_ROLES), User.active.is_(True)
        )
        return (await self.session.scalar(query)) is not None

    async def unresolved_twin(self, incident: Incident) -> UUID | None:
        """Another unresolved incident of the same kind and subject (the partial unique index
        allows one), which a reopened one would collide with."""
        if incident.subject is None:
            return None
        query = select(Incident.id).where(
            Incident.kind == incident.kind,
            Incident.subject == incident.subject,
            Incident.status != "resolved",
            Incident.id != incident.id,
        )
        return await self.session.scalar(query)
