import json
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.incidents.models import Incident


class IncidentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open_many(self, rows: list[dict[str, Any]]) -> list[Row[Any]]:
        """Insert incidents in one statement; one whose `dedupe_key` is already recorded, or
        whose (kind, subject) has an unresolved incident (`uq_incidents_subject_unresolved`),
        is not opened twice. Returns the rows actually inserted (id, kind, shipment_id,
        driver_id, occurred_at, severity)."""
        if not rows:
            return []
        # No conflict target: either unique index may be the one a row meets.
        statement = (
            insert(Incident)
            .on_conflict_do_nothing()
            .returning(
                Incident.id,
                Incident.kind,
                Incident.shipment_id,
                Incident.driver_id,
                Incident.occurred_at,
                Incident.severity,
            )
        )
        result = await self.session.execute(statement, rows)
        return list(result.all())

    async def open_kpi_off_target(
        self, row: dict[str, Any], kind: str, now: datetime
    ) -> tuple[UUID, bool]:
        """Open the hub+KPI's off-target incident, or refresh the data of the one still open
        (the partial unique index of migration 0016 makes it one even under concurrent checks).
        Returns (id, newly opened)."""
        result = await self.session.execute(
            text(
                """
                INSERT INTO incidents (id, kind, status, data, occurred_at, created_at, updated_at)
                VALUES (:id, :kind, 'open', CAST(:data AS jsonb), :now, :now, :now)
                ON CONFLICT ((data->>'hub_id'), (data->>'kpi'))
                    WHERE kind = 'kpi_off_target' AND status <> 'resolved'
                DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at
                RETURNING id, xmax = 0 AS opened
                """
            ),
            {"id": row["id"], "kind": kind, "data": json.dumps(row["data"]), "now": now},
        )
        incident_id, opened = result.one()
        return incident_id, opened

    async def resolve_kpi_off_target(
        self, kind: str, hub_id: UUID, kpis: list[str], now: datetime
    ) -> list[Row[Any]]:
        """Resolve the hub's unresolved off-target incidents of these KPIs. Returns the rows
        resolved (id, kind, shipment_id, occurred_at, resolved_at, data)."""
        result = await self.session.execute(
            text(
                """
                UPDATE incidents SET status = 'resolved', resolved_at = :now, updated_at = :now
                WHERE kind = :kind AND status <> 'resolved'
                  AND data->>'hub_id' = :hub_id AND data->>'kpi' = ANY(CAST(:kpis AS text[]))
                RETURNING id, kind, shipment_id, occurred_at, resolved_at, data
                """
            ),
            {"kind": kind, "hub_id": str(hub_id), "kpis": kpis, "now": now},
        )
        return sorted(result.all(), key=lambda row: row.id)
