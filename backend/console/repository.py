"""SQL of the console's board: one statement per page of routes, stops nested as JSON."""

import datetime as dt
from collections.abc import Sequence
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection

_ROUTES = """
SELECT r.id, r.driver_id, d.name AS driver_name, r.hub_id, r.date, r.status,
       coalesce(st.stops, '[]'::jsonb) AS stops
FROM routes r
JOIN drivers d ON d.id = r.driver_id
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object(
               'id', x.id, 'shipment_id', x.shipment_id, 'sequence', x.sequence,
               'tracking_number', s.tracking_number, 'status', s.status,
               'lon', ST_X(s.location::geometry), 'lat', ST_Y(s.location::geometry),
               'eta', x.eta, 'window_start', s.window_start, 'window_end', s.window_end)
           ORDER BY x.sequence) AS stops
    FROM stops x JOIN shipments s ON s.id = x.shipment_id
    WHERE x.route_id = r.id AND x.active
) st ON true
WHERE r.date = $1 AND ($2::uuid IS NULL OR r.hub_id = $2)
  AND ($3::uuid IS NULL OR r.id > $3) AND r.status = ANY($4::text[])
ORDER BY r.id
LIMIT $5
"""


class ConsoleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def routes_of_day(
        self,
        day: dt.date,
        hub_id: UUID | None,
        after: UUID | None,
        statuses: Sequence[str],
        limit: int,
    ) -> list[asyncpg.Record]:
        connection = await raw_connection(self.session)
        return await connection.fetch(_ROUTES, day, hub_id, after, list(statuses), limit)
