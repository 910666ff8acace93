from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.outbox.models import OutboxMessage


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(OutboxMessage), rows)

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
