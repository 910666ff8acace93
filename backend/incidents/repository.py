from typing import Any

from sqlalchemy import Row
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.incidents.models import Incident


class IncidentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open_many(self, rows: list[dict[str, Any]]) -> list[Row[Any]]:
        """Insert incidents in one statement; one whose `dedupe_key` is already recorded is not
        opened twice. Returns the rows actually inserted (id, kind, shipment_id, driver_id,
        occurred_at)."""
        if not rows:
            return []
        statement = (
            insert(Incident)
            .on_conflict_do_nothing(index_elements=[Incident.dedupe_key])
            .returning(
                Incident.id,
                Incident.kind,
                Incident.shipment_id,
                Incident.driver_id,
                Incident.occurred_at,
            )
        )
        result = await self.session.execute(statement, rows)
        return list(result.all())
