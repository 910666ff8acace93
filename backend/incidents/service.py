"""Incidents: exceptions for dispatch to triage. Opened by other domains, never by handlers.

Every opener goes through `IncidentService.open`, which also announces each newly opened
incident on the live feed (after commit, staff only).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.incidents.models import KPI_OFF_TARGET
from backend.incidents.repository import IncidentRepository
from backend.lib.ids import uuid7
from backend.live.messages import LiveMessage, announce
from backend.webhooks.service import WebhookService

# Kinds opened by proofs of delivery (backend/pod): the POD says what, the incident asks who acts.
POD_INCIDENT_KINDS = ("outside_geofence", "incomplete_pod", "wrong_pin")


@dataclass(frozen=True, slots=True)
class NewIncident:
    """An incident to open. `dedupe_key` names the fact it is about, so the same fact seen
    again (a replayed event, the next run of a job) opens nothing new; `subject` names what a
    detection rule watches, so it has at most one unresolved incident of a kind."""

    kind: str
    dedupe_key: str | None
    occurred_at: datetime
    shipment_id: UUID | None = None
    driver_id: UUID | None = None
    data: dict[str, Any] = field(default_factory=dict)
    severity: str = "medium"
    hub_id: UUID | None = None
    route_id: UUID | None = None
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class OpenedIncident:
    """An incident just opened outside `open` (the KPI check's upsert), as the webhooks read it."""

    id: UUID
    kind: str
    shipment_id: UUID | None
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PodIncident:
    kind: str
    shipment_id: UUID
    driver_id: UUID | None
    event_id: UUID
    occurred_at: datetime
    data: dict[str, Any]


class IncidentService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = IncidentRepository(session)

    async def open(self, incidents: Sequence[NewIncident]) -> int:
        """Open incidents in one statement and announce those newly opened; returns how many
        were new (a dedupe key already recorded, or a subject with an unresolved incident of
        the kind, opens nothing and announces nothing)."""
        opened = await self.repo.open_many(
            [
                {
                    "id": uuid7(),
                    "kind": incident.kind,
                    "shipment_id": incident.shipment_id,
                    "driver_id": incident.driver_id,
                    "dedupe_key": incident.dedupe_key,
                    "data": incident.data,
                    "occurred_at": incident.occurred_at,
                    "severity": incident.severity,
                    "hub_id": incident.hub_id,
                    "route_id": incident.route_id,
                    "subject": incident.subject,
                }
                for incident in incidents
            ]
        )
        announce(
            self.session,
            (
                LiveMessage(
                    type="incident",
                    shipment_id=row.shipment_id,
                    driver_id=row.driver_id,
                    data={
                        "id": str(row.id),
                        "kind": row.kind,
                        "occurred_at": row.occurred_at.isoformat(),
                        "status": "open",
                        "severity": row.severity,
                    },
                )
                for row in opened
            ),
        )
        await WebhookService(self.session).incidents_opened(opened)
        return len(opened)

    async def custody_conflicts(
        self, scans: list[tuple[UUID | None, UUID, UUID, datetime | None, str]]
    ) -> None:
        """A driver no longer assigned scanned a shipment: (shipment, driver, event, at, type).
        A parcel in the wrong hands is urgent (high: it escalates); one unresolved conflict
        per shipment, however many scans show it."""
        await self.open(
            [
                NewIncident(
                    kind="custody_conflict",
                    shipment_id=shipment_id,
                    driver_id=driver_id,
                    dedupe_key=f"custody_conflict:{event_id}",
                    data={"event_id": str(event_id), "event_type": event_type},
                    occurred_at=at,
                    severity="high",
                    subject=f"shipment:{shipment_id}" if shipment_id else None,
                )
                for shipment_id, driver_id, event_id, at, event_type in scans
            ]
        )

    async def pod_incidents(self, incidents: list[PodIncident]) -> None:
        """One incident per kind and delivered event, however often the event is replayed."""
        await self.open(
            [
                NewIncident(
                    kind=incident.kind,
                    shipment_id=incident.shipment_id,
                    driver_id=incident.driver_id,
                    dedupe_key=f"{incident.kind}:{incident.event_id}",
                    data=incident.data,
                    occurred_at=incident.occurred_at,
                )
                for incident in incidents
                if incident.kind in POD_INCIDENT_KINDS
            ]
        )

    async def kpi_off_target(
        self, hub_id: UUID, kpi: str, data: dict[str, Any], now: datetime
    ) -> bool:
        """Keep one unresolved `kpi_off_target` incident for the hub and KPI (opened, or its
        figures refreshed); True when newly opened (then announced like any other)."""
        row = {"id": uuid7(), "data": {"hub_id": str(hub_id), "kpi": kpi} | data}
        incident_id, opened = await self.repo.open_kpi_off_target(row, KPI_OFF_TARGET, now)
        if opened:
            message = {
                "id": str(incident_id),
                "kind": KPI_OFF_TARGET,
                "occurred_at": now.isoformat(),
                "status": "open",
                "severity": "medium",
            }
            announce(self.session, [LiveMessage(type="incident", data=message)])
            await WebhookService(self.session).incidents_opened(
                [OpenedIncident(incident_id, KPI_OFF_TARGET, None, now, row["data"])]
            )
        return opened

    async def kpis_back_on_target(self, hub_id: UUID, kpis: list[str], now: datetime) -> int:
        """The cause cleared: resolve those KPIs' open off-target incidents of the hub, and send
        `incident.resolved` for each."""
        if not kpis:
            return 0
        resolved = await self.repo.resolve_kpi_off_target(KPI_OFF_TARGET, hub_id, kpis, now)
        await WebhookService(self.session).incidents_resolved(resolved)
        return len(resolved)
