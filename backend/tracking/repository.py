"""SQL of tracking. Ping ingest is one statement per call, whatever the number of pings."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection

# Routes whose drivers are on the road: started ones, and today's published ones.
ACTIVE_ROUTE = "(r.status = 'in_progress' OR (r.status = 'published' AND r.date = {day}))"

_INGEST = """
WITH input AS (
    SELECT p.at, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)::geography AS location,
           p.accuracy_m, p.speed_mps, p.heading
    FROM unnest($3::timestamptz[], $4::float8[], $5::float8[], $6::float8[], $7::float8[],
                $8::float8[]) AS p(at, lon, lat, accuracy_m, speed_mps, heading)
), stored AS (
    INSERT INTO positions AS h
        (driver_id, at, device_id, received_at, location, accuracy_m, speed_mps, heading)
    SELECT DISTINCT ON (at) $1, at, $2, $9, location, accuracy_m, speed_mps, heading
    FROM input ORDER BY at
    ON CONFLICT DO NOTHING
    RETURNING 1
), newest AS (
    INSERT INTO latest_positions AS l
        (driver_id, at, device_id, received_at, location, accuracy_m, speed_mps, heading)
    SELECT $1, at, $2, $9, location, accuracy_m, speed_mps, heading
    FROM input ORDER BY at DESC LIMIT 1
    ON CONFLICT (driver_id) DO UPDATE SET
        at = EXCLUDED.at, device_id = EXCLUDED.device_id, received_at = EXCLUDED.received_at,
        location = EXCLUDED.location, accuracy_m = EXCLUDED.accuracy_m,
        speed_mps = EXCLUDED.speed_mps, heading = EXCLUDED.heading
    WHERE l.at < EXCLUDED.at
    RETURNING 1
)
SELECT (SELECT count(*) FROM stored) AS stored, (SELECT count(*) FROM newest) AS moved
"""

_LATEST = """
SELECT l.driver_id, d.name AS driver_name, l.device_id, l.at, l.received_at,
       ST_X(l.location::geometry) AS lon, ST_Y(l.location::geometry) AS lat,
       l.accuracy_m, l.speed_mps, l.heading
FROM latest_positions l JOIN drivers d ON d.id = l.driver_id
WHERE d.active AND l.at >= $1 AND ($2::uuid IS NULL OR d.home_hub_id = $2)
ORDER BY l.driver_id
"""

_TRACK = """
SELECT at, ST_X(location::geometry) AS lon, ST_Y(location::geometry) AS lat
FROM positions WHERE driver_id = $1 AND at >= $2 AND at < $3
ORDER BY at LIMIT $4
"""

_STALE = f"""
SELECT l.driver_id, l.at FROM latest_positions l
WHERE l.at < $1 AND EXISTS (
    SELECT 1 FROM routes r WHERE r.driver_id = l.driver_id AND {ACTIVE_ROUTE.format(day="$2")}
)
ORDER BY l.driver_id
"""


# Remaining stops of active routes whose driver has a fix, in sequence, with the straight-line
# length of the leg that reaches each one (from the driver's fix for the first).
_ETA_LEGS = f"""
SELECT r.id AS route_id, st.id AS stop_id, st.shipment_id, st.announced_eta,
       s.window_start, l.at AS fix_at,
       ST_Distance(coalesce(lag(s.location) OVER w, l.location), s.location) AS leg_m
FROM routes r
JOIN latest_positions l ON l.driver_id = r.driver_id
JOIN stops st ON st.route_id = r.id AND st.active
JOIN shipments s ON s.id = st.shipment_id
WHERE {ACTIVE_ROUTE.format(day="$1")} AND s.status = ANY($2::text[])
  AND ($3::uuid[] IS NULL OR r.driver_id = ANY($3::uuid[]))
WINDOW w AS (PARTITION BY r.id ORDER BY st.sequence)
ORDER BY r.id, st.sequence
"""

_SAVE_ETAS = """
UPDATE stops SET eta = v.eta, announced_eta = v.announced_eta, eta_computed_at = $4
FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS v(id, eta, announced_eta)
WHERE stops.id = v.id
"""


# Stops of routes on the road whose shipment is done no longer have an arrival ahead.
_CLEAR_DONE = f"""
UPDATE stops st SET eta = NULL, eta_computed_at = $3
FROM routes r, shipments s
WHERE r.id = st.route_id AND s.id = st.shipment_id AND st.eta IS NOT NULL
  AND {ACTIVE_ROUTE.format(day="$1")} AND NOT s.status = ANY($2::text[])
"""


class TrackingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def raw(self) -> asyncpg.Connection:
        return await raw_connection(self.session)

    async def ingest(
        self, driver_id: UUID, device_id: str, columns: Sequence[list[Any]], received_at: datetime
    ) -> tuple[int, bool]:
        """Store pings `(at, lon, lat, accuracy_m, speed_mps, heading)` given column-wise;
        returns (how many were new, whether the latest position moved forward)."""
        row = await (await self.raw()).fetchrow(
            _INGEST, driver_id, device_id, *columns, received_at
        )
        return row["stored"], bool(row["moved"])

    async def latest(self, seen_since: datetime, hub_id: UUID | None) -> list[asyncpg.Record]:
        return await (await self.raw()).fetch(_LATEST, seen_since, hub_id)

    async def track(
        self, driver_id: UUID, start: datetime, end: datetime, limit: int
    ) -> list[asyncpg.Record]:
        return await (await self.raw()).fetch(_TRACK, driver_id, start, end, limit)

    async def driver_exists(self, driver_id: UUID) -> bool:
        found = await (await self.raw()).fetchval(
            "SELECT true FROM drivers WHERE id = $1", driver_id
        )
        return bool(found)

    async def stale_drivers(self, fix_before: datetime, today: date) -> list[asyncpg.Record]:
        """Drivers on an active route whose newest fix is older than `fix_before`."""
        return await (await self.raw()).fetch(_STALE, fix_before, today)

    async def eta_legs(
        self, today: date, statuses: Sequence[str], driver_ids: Sequence[UUID] | None
    ) -> list[asyncpg.Record]:
        ids = list(driver_ids) if driver_ids is not None else None
        return await (await self.raw()).fetch(_ETA_LEGS, today, list(statuses), ids)

    async def save_etas(
        self, rows: Sequence[tuple[UUID, datetime, datetime | None]], computed_at: datetime
    ) -> None:
        """`(stop_id, eta, announced_eta)` for the set, in one UPDATE."""
        if rows:
            ids, etas, announced = (list(column) for column in zip(*rows, strict=True))
            await (await self.raw()).execute(_SAVE_ETAS, ids, etas, announced, computed_at)

    async def clear_done_etas(
        self, today: date, remaining: Sequence[str], computed_at: datetime
    ) -> None:
        await (await self.raw()).execute(_CLEAR_DONE, today, list(remaining), computed_at)
