"""The transactional outbox: side effects are rows written with the change that causes them."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.outbox.repository import OutboxRepository


class OutboxService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = OutboxRepository(session)

    async def announce(self, topic: str, payloads: list[dict[str, Any]]) -> None:
        await self.repo.append(topic, payloads)
