from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection
from backend.notifications.models import Notification


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def raw(self) -> asyncpg.Connection:
        return await raw_connection(self.session)

    async def attempts(self, shipment_ids: Sequence[UUID]) -> dict[UUID, tuple[str, int]]:
        """{id: (status, attempts)} as the fold left them in this transaction."""
        rows = await (await self.raw()).fetch(
            "SELECT id, status, attempts FROM shipments WHERE id = ANY($1::uuid[])",
            list(shipment_ids),
        )
        return {row["id"]: (row["status"], row["attempts"]) for row in rows}

    async def recipient(self, shipment_id: UUID) -> asyncpg.Record | None:
        return await (await self.raw()).fetchrow(
            "SELECT id, status, attempts, tracking_number, tracking_token,"
            " recipient->>'phone' AS phone, recipient->>'email' AS email"
            " FROM shipments WHERE id = $1",
            shipment_id,
        )

    async def claim(self, row: dict[str, Any]) -> UUID | None:
        """Insert unless this (shipment, kind, attempt) exists already; the new id or None."""
        return await (await self.raw()).fetchval(
            """
            INSERT INTO notifications (id, shipment_id, kind, attempt, channel, recipient, body,
                                       provider, status)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (shipment_id, kind, attempt) DO NOTHING
            RETURNING id
            """,
            row["id"],
            row["shipment_id"],
            row["kind"],
            row["attempt"],
            row["channel"],
            row["recipient"],
            row["body"],
            row["provider"],
            row["status"],
        )

    async def claim_for_incident(self, row: dict[str, Any]) -> UUID | None:
        """Insert unless this (incident, kind) exists already; the new id or None."""
        return await (await self.raw()).fetchval(
            """
            INSERT INTO notifications (id, incident_id, kind, attempt, channel, recipient, body,
                                       provider, status)
            VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8)
            ON CONFLICT (incident_id, kind) DO NOTHING
            RETURNING id
            """,
            row["id"],
            row["incident_id"],
            row["kind"],
            row["channel"],
            row["recipient"],
            row["body"],
            row["provider"],
            row["status"],
        )

    async def mark_sent(self, notification_id: UUID, reference: str | None, at: datetime) -> None:
        await (await self.raw()).execute(
            "UPDATE notifications SET provider_ref = $2, sent_at = $3, status = 'sent'"
            " WHERE id = $1",
            notification_id,
            reference,
            at,
        )

    async def page(
        self, *, shipment_id: UUID | None, after: UUID | None, limit: int
    ) -> Sequence[Notification]:
        query = select(Notification).order_by(Notification.id).limit(limit)
        if shipment_id:
            query = query.where(Notification.shipment_id == shipment_id)
        if after:
            query = query.where(Notification.id > after)
        return (await self.session.scalars(query)).all()
