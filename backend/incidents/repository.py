from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.incidents.models import Incident


class IncidentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open_many(self, rows: list[dict[str, Any]]) -> None:
        """Insert incidents; one with a `dedupe_key` already recorded is not opened twice."""
        if rows:
            statement = insert(Incident).on_conflict_do_nothing(
                index_elements=[Incident.dedupe_key]
            )
            await self.session.execute(statement, rows)
