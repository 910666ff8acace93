"""Incidents: exceptions for dispatch to triage. Opened by other domains, never by handlers."""

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.incidents.repository import IncidentRepository
from backend.lib.ids import uuid7


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
