"""Reads of the after-action review: findings, and the affected shipments' facts and events
(read straight from the event log, never written here)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.incidents.findings import ReviewFinding
from backend.incidents.models import Incident
from backend.shipments.models import Shipment, ShipmentEvent

# A timeline stays readable: the first events of the affected shipments after detection.
MAX_SHIPMENT_EVENTS = 500


class ReviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def findings(
        self, *, incident_id: UUID | None = None, disruption_id: UUID | None = None
    ) -> Sequence[ReviewFinding]:
        query = select(ReviewFinding).order_by(ReviewFinding.created_at, ReviewFinding.id)
        if incident_id is not None:
            query = query.where(ReviewFinding.incident_id == incident_id)
        else:
            query = query.where(ReviewFinding.disruption_id == disruption_id)
        return (await self.session.scalars(query)).all()

    async def add_finding(self, row: dict[str, Any]) -> ReviewFinding:
        finding = ReviewFinding(**row)
        self.session.add(finding)
        await self.session.flush()
        await self.session.refresh(finding)
        return finding

    async def deliveries(self, shipment_ids: Sequence[UUID]) -> Sequence[Row[Any]]:
        """(id, status, window_end, delivered_at) of each shipment."""
        if not shipment_ids:
            return []
        query = select(
            Shipment.id, Shipment.status, Shipment.window_end, Shipment.delivered_at
        ).where(Shipment.id.in_(shipment_ids))
        return (await self.session.execute(query)).all()

    async def shipment_events(
        self, shipment_ids: Sequence[UUID], since: datetime
    ) -> Sequence[Row[Any]]:
        """The shipments' events effective at or after `since`, oldest first."""
        if not shipment_ids:
            return []
        query = (
            select(
                ShipmentEvent.shipment_id,
                ShipmentEvent.type,
                ShipmentEvent.source,
                ShipmentEvent.actor_id,
                ShipmentEvent.effective_at,
            )
            .where(ShipmentEvent.shipment_id.in_(shipment_ids), ShipmentEvent.effective_at >= since)
            .order_by(ShipmentEvent.effective_at, ShipmentEvent.id)
            .limit(MAX_SHIPMENT_EVENTS)
        )
        return (await self.session.execute(query)).all()

    async def incidents_about(
        self, shipment_ids: Sequence[UUID], since: datetime
    ) -> Sequence[Row[Any]]:
        """Incidents opened about these shipments at or after `since` (id, kind, created_at)."""
        if not shipment_ids:
            return []
        query = (
            select(Incident.id, Incident.kind, Incident.created_at)
            .where(Incident.shipment_id.in_(shipment_ids), Incident.created_at >= since)
            .order_by(Incident.created_at, Incident.id)
        )
        return (await self.session.execute(query)).all()
