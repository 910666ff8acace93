from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection
from backend.outbox.models import OutboxMessage


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(self, topic: str, payloads: list[dict[str, Any]]) -> None:
        """One set-based INSERT (no ORM round of objects: this runs on the push hot path); ids
        follow the order of `payloads`."""
        if payloads:
            await (await raw_connection(self.session)).execute(
                """
                INSERT INTO outbox (topic, payload)
                SELECT $1, p.payload::jsonb
                FROM unnest($2::text[]) WITH ORDINALITY AS p(payload, ord)
                ORDER BY p.ord
                """,
                topic,
                [msgspec.json.encode(payload).decode() for payload in payloads],
            )

    async def claim(self, now: datetime, limit: int) -> Sequence[OutboxMessage]:
        """Due rows, locked for this transaction; rows other workers hold are skipped."""
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.processed_at.is_(None), OutboxMessage.available_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).all()

    async def mark_done(self, ids: list[int], now: datetime) -> None:
        if ids:
            await self.session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(processed_at=now)
            )
