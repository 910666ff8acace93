"""Incidents: exceptions for dispatch to triage. Opened by other domains, never by handlers."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.incidents.repository import IncidentRepository
from backend.lib.ids import uuid7

# Kinds opened by proofs of delivery (backend/pod): the POD says what, the incident asks who acts.
POD_INCIDENT_KINDS = ("outside_geofence", "incomplete_pod", "wrong_pin")


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
        self.repo = IncidentRepository(session)

    async def custody_conflicts(
        self, scans: list[tuple[UUID | None, UUID, UUID, datetime | None, str]]
    ) -> None:
        """A driver no longer assigned scanned a shipment: (shipment, driver, event, at, type)."""
        await self.repo.open_many(
            [
                {
                    "id": uuid7(),
                    "kind": "custody_conflict",
                    "shipment_id": shipment_id,
                    "driver_id": driver_id,
                    "dedupe_key": f"custody_conflict:{event_id}",
                    "data": {"event_id": str(event_id), "event_type": event_type},
                    "occurred_at": at,
                }
                for shipment_id, driver_id, event_id, at, event_type in scans
            ]
        )

    async def pod_incidents(self, incidents: list[PodIncident]) -> None:
        """One incident per kind and delivered event, however often the event is replayed."""
        await self.repo.open_many(
            [
                {
                    "id": uuid7(),
                    "kind": incident.kind,
                    "shipment_id": incident.shipment_id,
                    "driver_id": incident.driver_id,
                    "dedupe_key": f"{incident.kind}:{incident.event_id}",
                    "data": incident.data,
                    "occurred_at": incident.occurred_at,
                }
                for incident in incidents
                if incident.kind in POD_INCIDENT_KINDS
            ]
        )
