"""After-action review of an incident or a disruption: the timeline rebuilt from the event log
(the incident's activities, the disruption's moments, the affected shipments' events), the
outcome measured, and the reviewers' findings and follow-ups (docs/incidents.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.disruptions.service import DisruptionService
from backend.incidents.findings import ReviewFinding
from backend.incidents.models import Incident, IncidentActivity
from backend.incidents.review_queries import ReviewRepository
from backend.incidents.schemas import (
    DisruptionOutcome,
    DisruptionReview,
    FindingIn,
    FindingRead,
    IncidentOutcome,
    IncidentReview,
    TimelineEntry,
)
from backend.incidents.triage import TriageService
from backend.lib.errors import Invalid
from backend.lib.ids import uuid7


class ReviewService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ReviewRepository(session)
        self.triage = TriageService(session)

    async def incident(self, incident_id: UUID) -> IncidentReview:
        incident = await self.triage.require(incident_id)
        activities = await self.triage.repo.activities(incident.id)
        affected = _affected(incident, activities)
        events = await self.repo.shipment_events(affected, incident.occurred_at)
        timeline = [
            TimelineEntry(incident.occurred_at, "detected", None, {"kind": incident.kind}),
            TimelineEntry(incident.created_at, "opened", None, {"severity": incident.severity}),
            *(TimelineEntry(a.at, a.kind, a.actor_id, a.data) for a in activities),
            *_shipment_entries(events),
        ]
        if incident.escalated_at and not any(a.kind == "escalated" for a in activities):
            timeline.append(TimelineEntry(incident.escalated_at, "escalated", None, {}))
        findings = await self.repo.findings(incident_id=incident.id)
        return IncidentReview(
            incident_id=incident.id,
            kind=incident.kind,
            status=incident.status,  # type: ignore[arg-type]
            timeline=sorted(timeline, key=lambda entry: entry.at),
            outcome=await self._incident_outcome(incident, activities, affected),
            findings=[finding_read(f) for f in findings],
        )

    async def disruption(self, disruption_id: UUID) -> DisruptionReview:
        disruption = await DisruptionService(self.session).get(disruption_id)  # 404 if none
        moments = disruption.timeline
        affected = list(disruption.affected_shipment_ids)
        timeline = [
            TimelineEntry(at, kind, None, data)
            for at, kind, data in (
                (moments.detected_at, "detected", {"kind": disruption.kind}),
                (moments.plan_ready_at, "plan_ready", {"plan_id": _str(disruption.plan_id)}),
                (moments.applied_at, "applied", {}),
                (moments.recovered_at, "recovered", {}),
            )
            if at is not None
        ]
        timeline += _shipment_entries(
            await self.repo.shipment_events(affected, moments.detected_at)
        )
        incidents = await self.repo.incidents_about(affected, moments.detected_at)
        timeline += [
            TimelineEntry(
                row.created_at, "incident.opened", None, {"id": str(row.id), "kind": row.kind}
            )
            for row in incidents
        ]
        counts = await self._deliveries(affected)
        start = moments.detected_at
        outcome = DisruptionOutcome(
            seconds_to_plan=_seconds(start, moments.plan_ready_at),
            seconds_to_apply=_seconds(start, moments.applied_at),
            seconds_to_recover=_seconds(start, moments.recovered_at),
            shipments_affected=len(affected),
            handed_over=disruption.impact.handed_over if disruption.impact else 0,
            incidents_opened=len(incidents),
            **counts,
        )
        findings = await self.repo.findings(disruption_id=disruption.id)
        return DisruptionReview(
            disruption_id=disruption.id,
            kind=disruption.kind,
            status=disruption.status,
            timeline=sorted(timeline, key=lambda entry: entry.at),
            outcome=outcome,
            findings=[finding_read(f) for f in findings],
        )

    async def add_finding(
        self,
        data: FindingIn,
        author_id: UUID,
        *,
        incident_id: UUID | None = None,
        disruption_id: UUID | None = None,
    ) -> FindingRead:
        if incident_id is not None:
            await self.triage.require(incident_id)
        else:
            await DisruptionService(self.session).get(disruption_id)  # type: ignore[arg-type]
        if data.owner_id is not None and not await self.triage.repo.is_active_staff(data.owner_id):
            raise Invalid("A follow-up's owner is an active dispatcher or admin", field="owner_id")
        if data.kind == "finding" and (data.owner_id or data.due):
            raise Invalid("Only a follow-up has an owner and a due date", field="kind")
        finding = await self.repo.add_finding(
            {
                "id": uuid7(),
                "incident_id": incident_id,
                "disruption_id": disruption_id,
                "kind": data.kind,
                "text": data.text,
                "owner_id": data.owner_id,
                "due": data.due,
                "author_id": author_id,
            }
        )
        return finding_read(finding)

    # measures --------------------------------------------------------------------------------

    async def _incident_outcome(
        self, incident: Incident, activities: Sequence[IncidentActivity], affected: list[UUID]
    ) -> IncidentOutcome:
        def first(kind: str) -> datetime | None:
            return next((a.at for a in activities if a.kind == kind), None)

        start = incident.created_at
        return IncidentOutcome(
            seconds_to_acknowledge=_seconds(start, first("acknowledged")),
            seconds_to_first_action=_seconds(start, first("action")),
            seconds_to_resolve=_seconds(start, incident.resolved_at),
            actions_taken=sum(a.kind == "action" for a in activities),
            reopened=sum(a.kind == "reopened" for a in activities),
            resolution_code=incident.resolution_code,
            shipments_affected=len(affected),
            **await self._deliveries(affected),
        )

    async def _deliveries(self, shipment_ids: Sequence[UUID]) -> dict[str, int]:
        """Delivered within the window's end (or with no window), delivered after it, and not
        delivered (yet)."""
        rows = await self.repo.deliveries(shipment_ids)
        delivered = [r for r in rows if r.delivered_at is not None]
        in_window = sum(r.window_end is None or r.delivered_at <= r.window_end for r in delivered)
        return {
            "delivered": len(delivered),
            "delivered_in_window": in_window,
            "delivered_late": len(delivered) - in_window,
            "not_delivered": len(shipment_ids) - len(delivered),
        }


def _affected(incident: Incident, activities: Iterable[IncidentActivity]) -> list[UUID]:
    """The incident's shipment and every shipment a playbook action touched."""
    found = {incident.shipment_id} if incident.shipment_id else set()
    for activity in activities:
        result: dict[str, Any] = (activity.data or {}).get("result") or {}
        found |= {UUID(s) for s in result.get("shipment_ids", [])}
    return sorted(found)


def _shipment_entries(events: Iterable[Any]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            e.effective_at,
            f"shipment.{e.type}",
            e.actor_id,
            {"shipment_id": str(e.shipment_id), "source": e.source},
        )
        for e in events
    ]


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 3) if end is not None else None


def _str(value: UUID | None) -> str | None:
    return str(value) if value else None


def finding_read(finding: ReviewFinding) -> FindingRead:
    return FindingRead(
        id=finding.id,
        kind=finding.kind,  # type: ignore[arg-type]
        text=finding.text,
        owner_id=finding.owner_id,
        due=finding.due,
        author_id=finding.author_id,
        created_at=finding.created_at,
    )
