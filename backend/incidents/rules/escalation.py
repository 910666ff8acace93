"""Escalation: a high or critical incident nobody acknowledged within its hub's delay is marked
escalated once, logged, announced, and its hub's on-call contact is notified through the
notifications outbox (`incident.escalated`, sent by the outbox worker through the provider)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.incidents.rules.repository import DetectionRepository
from backend.live.messages import LiveMessage, announce
from backend.notifications.service import ON_CALL_TOPIC
from backend.outbox.service import OutboxService


class EscalationService:
    def __init__(self, session: AsyncSession, *, default_minutes: int) -> None:
        self.session = session
        self.repo = DetectionRepository(session)
        self.default_minutes = default_minutes

    async def escalate_due(self, now: datetime) -> int:
        """Escalate every incident due now; returns how many."""
        rows = await self.repo.escalate_due(now, self.default_minutes)
        if not rows:
            return 0
        await self.repo.log(
            "escalated",
            now,
            [
                (
                    row["id"],
                    {
                        "after_minutes": row["minutes"],
                        "hub_id": str(row["hub_id"]) if row["hub_id"] else None,
                        "on_call": row["on_call_name"],
                    },
                )
                for row in rows
            ],
        )
        await OutboxService(self.session).announce(
            ON_CALL_TOPIC,
            [
                {
                    "incident_id": str(row["id"]),
                    "kind": row["kind"],
                    "severity": row["severity"],
                    "subject": row["subject"],
                    "hub_code": row["hub_code"],
                    "minutes": row["minutes"],
                    "name": row["on_call_name"],
                    "phone": row["on_call_phone"],
                    "email": row["on_call_email"],
                }
                for row in rows
            ],
        )
        announce(
            self.session,
            (
                LiveMessage(
                    type="incident",
                    shipment_id=row["shipment_id"],
                    driver_id=row["driver_id"],
                    data={
                        "id": str(row["id"]),
                        "kind": row["kind"],
                        "status": row["status"],
                        "severity": row["severity"],
                        "escalated_at": now.isoformat(),
                    },
                )
                for row in rows
            ),
        )
        return len(rows)
