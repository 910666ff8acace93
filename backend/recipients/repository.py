"""Reads behind the tracking link (writes go through the owning domains' services)."""

from collections.abc import Sequence
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection

_SHIPMENT = """
SELECT s.id, s.tracking_number, s.status, s.hub_id, s.window_start, s.window_end,
       s.requirements, s.address, ST_X(s.location::geometry) AS lon,
       ST_Y(s.location::geometry) AS lat
FROM shipments s WHERE s.tracking_token = $1
"""

# The shipment's place on a route that is out (or about to be): how many undone stops come
# before it, its ETA, and the driver's newest fix.
_ON_ROUTE = """
SELECT st.id AS stop_id, st.eta, r.id AS route_id, r.status AS route_status, r.driver_id,
       (SELECT count(*) FROM stops o JOIN shipments os ON os.id = o.shipment_id
         WHERE o.route_id = st.route_id AND o.active AND o.sequence < st.sequence
           AND os.status = ANY($2::text[])) AS stops_before,
       l.at AS fix_at, ST_X(l.location::geometry) AS fix_lon, ST_Y(l.location::geometry) AS fix_lat
FROM stops st JOIN routes r ON r.id = st.route_id
LEFT JOIN latest_positions l ON l.driver_id = r.driver_id
WHERE st.shipment_id = $1 AND st.active AND r.status IN ('published', 'in_progress')
"""

_EVENTS = """
SELECT type, source, effective_at, data FROM shipment_events WHERE shipment_id = $1
ORDER BY type <> 'created', effective_at, id
"""

# Nearest pickup points first (KNN on the GiST index), within reach, of the shipment's hub or
# of none.
_NEAR = """
WITH here AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography AS g)
SELECT p.id, p.name, p.opening_hours, ST_X(p.location::geometry) AS lon,
       ST_Y(p.location::geometry) AS lat, ST_Distance(p.location, here.g) AS distance_m
FROM pickup_points p, here
WHERE ST_DWithin(p.location, here.g, $3) AND (p.hub_id IS NULL OR p.hub_id = $4)
  AND ($6::uuid IS NULL OR p.id = $6)
ORDER BY p.location <-> here.g
LIMIT $5
"""


class RecipientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def raw(self) -> asyncpg.Connection:
        return await raw_connection(self.session)

    async def shipment(self, token: str) -> asyncpg.Record | None:
        return await (await self.raw()).fetchrow(_SHIPMENT, token)

    async def on_route(self, shipment_id: UUID, pending: Sequence[str]) -> asyncpg.Record | None:
        return await (await self.raw()).fetchrow(_ON_ROUTE, shipment_id, list(pending))

    async def events(self, shipment_id: UUID) -> list[asyncpg.Record]:
        return await (await self.raw()).fetch(_EVENTS, shipment_id)

    async def pickup_points_near(
        self,
        lon: float,
        lat: float,
        *,
        within_m: float,
        hub_id: UUID,
        limit: int,
        only: UUID | None = None,
    ) -> list[asyncpg.Record]:
        return await (await self.raw()).fetch(_NEAR, lon, lat, within_m, hub_id, limit, only)

    async def pickup_point_exists(self, pickup_point_id: UUID) -> bool:
        found = await (await self.raw()).fetchval(
            "SELECT true FROM pickup_points WHERE id = $1", pickup_point_id
        )
        return bool(found)
