"""The fleet, seeded set-based inside PostgreSQL (generate_series, nothing through the API):
hubs, drivers with published routes of today, shipments with parcels and tracking tokens, and
dispatchers. Ids are md5 of a run tag and a number, so a generator process names a driver's
device, stops, shipments and tracking tokens without reading them back (`Names`).

Devices and sign-in sessions are seeded per fleet size measured (`bind_devices`): each step of
the capacity search starts with fresh handhelds (seq 1, no cursor), as a new shift would.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from backend.auth.schemas import Principal
from backend.auth.tokens import issue_token
from backend.bench.server import SECRET_KEY
from backend.kpis.seed_sql import render

DRIVERS_PER_HUB = 500
DRIVERS_PER_DISPATCHER = 250
TOKEN_TTL = timedelta(hours=12)

NETWORK = """
INSERT INTO hubs (id, name, code, location, time_zone)
SELECT md5(:tag || 'h' || h)::uuid, 'Fleet hub ' || h, 'FLEET-' || :tag || '-' || h,
       ST_SetSRID(ST_MakePoint(13.0 + 0.01 * h, 52.5), 4326)::geography, 'Europe/Berlin'
FROM generate_series(0, :hubs - 1) h;

INSERT INTO users (id, email, password_hash, role)
SELECT md5(:tag || 'x' || k)::uuid, 'fleet-dispatch-' || :tag || '-' || k || '@bench.local',
       '!seeded-no-sign-in', 'dispatcher'
FROM generate_series(0, :dispatchers - 1) k
"""

DRIVERS = """
INSERT INTO users (id, email, password_hash, role)
SELECT md5(:tag || 'u' || k)::uuid, 'fleet-' || :tag || '-' || k || '@bench.local',
       '!seeded-no-sign-in', 'driver'
FROM generate_series(:first, :last - 1) k;

INSERT INTO drivers (id, user_id, name, home_hub_id)
SELECT md5(:tag || 'd' || k)::uuid, md5(:tag || 'u' || k)::uuid, 'Fleet driver ' || k,
       md5(:tag || 'h' || (k / :per_hub))::uuid
FROM generate_series(:first, :last - 1) k;

INSERT INTO routes (id, driver_id, hub_id, date, status, published_at)
SELECT md5(:tag || 'r' || k)::uuid, md5(:tag || 'd' || k)::uuid,
       md5(:tag || 'h' || (k / :per_hub))::uuid, current_date, 'published', now()
FROM generate_series(:first, :last - 1) k;

CREATE TEMP TABLE fleet_plan ON COMMIT DROP AS
SELECT k, j, :tag || k || '-' || j AS n, (hashint8(k * 1000 + j)::bigint + 2147483648) % 1000 AS r
FROM generate_series(:first, :last - 1) k, generate_series(0, :stops - 1) j;

INSERT INTO shipments (id, reference, hub_id, tracking_number, tracking_token, status,
                       recipient, address, location, window_start, window_end)
SELECT md5('s' || n)::uuid, 'F-' || n, md5(:tag || 'h' || (k / :per_hub))::uuid,
       'F' || :tag || lpad((k * :stops + j)::text, 10, '0'), md5('t' || n) || md5('T' || n),
       'at_hub', '{"name": "Fleet recipient"}', '{"line1": "Fleet street 1"}',
       ST_SetSRID(ST_MakePoint(13.0 + 0.01 * (k / :per_hub) + (r - 500) * 0.00004,
                               52.5 + (j - 60) * 0.0003), 4326)::geography,
       current_date + interval '8 hours' + j * interval '4 minutes',
       current_date + interval '10 hours' + j * interval '4 minutes'
FROM fleet_plan;

INSERT INTO parcels (id, shipment_id, barcode, weight_kg)
SELECT md5('p' || n)::uuid, md5('s' || n)::uuid, 'F' || :tag || lpad((k * :stops + j)::text, 12, '0'),
       1 + r % 9
FROM fleet_plan;

INSERT INTO stops (id, route_id, shipment_id, sequence, active)
SELECT md5('st' || n)::uuid, md5(:tag || 'r' || k)::uuid, md5('s' || n)::uuid, j + 1, true
FROM fleet_plan
"""

DEVICES = """
DELETE FROM latest_positions;

INSERT INTO devices (id, driver_id, device_id)
SELECT md5(:tag || 'dev' || :step || '-' || k)::uuid, md5(:tag || 'd' || k)::uuid,
       'fleet-' || :tag || '-' || :step || '-' || k
FROM generate_series(0, :drivers - 1) k;

INSERT INTO auth_sessions (id, user_id, device_id)
SELECT md5(:tag || 'ses' || :step || '-' || k)::uuid, md5(:tag || 'u' || k)::uuid,
       'fleet-' || :tag || '-' || :step || '-' || k
FROM generate_series(0, :drivers - 1) k;

INSERT INTO auth_sessions (id, user_id)
SELECT md5(:tag || 'xses' || :step || '-' || k)::uuid, md5(:tag || 'x' || k)::uuid
FROM generate_series(0, :dispatchers - 1) k
"""


def md5_uuid(text: str) -> uuid.UUID:
    """PostgreSQL's `md5(text)::uuid`."""
    return uuid.UUID(hashlib.md5(text.encode()).hexdigest())


def dispatchers_for(drivers: int) -> int:
    return -(-drivers // DRIVERS_PER_DISPATCHER)


@dataclass(frozen=True)
class Names:
    """Ids, tokens and tracking tokens of a seeded fleet, computed as the SQL above makes them."""

    tag: str
    stops: int
    step: str  # a run's own label and the fleet size's number: fresh devices and sessions

    def device_id(self, k: int) -> str:
        return f"fleet-{self.tag}-{self.step}-{k}"

    def driver_token(self, k: int) -> str:
        principal = Principal(
            user_id=md5_uuid(f"{self.tag}u{k}"),
            role="driver",
            driver_id=md5_uuid(f"{self.tag}d{k}"),
            device_id=self.device_id(k),
            session_id=md5_uuid(f"{self.tag}ses{self.step}-{k}"),
        )
        return issue_token(principal, SECRET_KEY, int(TOKEN_TTL.total_seconds()))

    def dispatcher_token(self, x: int) -> str:
        principal = Principal(
            user_id=md5_uuid(f"{self.tag}x{x}"),
            role="dispatcher",
            session_id=md5_uuid(f"{self.tag}xses{self.step}-{x}"),
        )
        return issue_token(principal, SECRET_KEY, int(TOKEN_TTL.total_seconds()))

    def _n(self, k: int, j: int) -> str:
        return f"{self.tag}{k}-{j}"

    def shipment_id(self, k: int, j: int) -> uuid.UUID:
        return md5_uuid("s" + self._n(k, j))

    def stop_id(self, k: int, j: int) -> uuid.UUID:
        return md5_uuid("st" + self._n(k, j))

    def barcode(self, k: int, j: int) -> str:
        return f"F{self.tag}{k * self.stops + j:012d}"

    def tracking_token(self, k: int, j: int) -> str:
        n = self._n(k, j)
        return hashlib.md5(f"t{n}".encode()).hexdigest() + hashlib.md5(f"T{n}".encode()).hexdigest()


async def seeded_fleet(url: str, drivers: int, stops: int) -> str | None:
    """The tag of a fleet already seeded in this database with at least `drivers` drivers of
    `stops` stops, or None (`--reuse`)."""
    try:
        connection = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        code = await connection.fetchval("SELECT min(code) FROM hubs WHERE code LIKE 'FLEET-%'")
        if code is None:
            return None
        tag = code.split("-")[1]
        found = await connection.fetchval(
            "SELECT count(*) FROM drivers WHERE name LIKE 'Fleet driver %'"
        )
        route = md5_uuid(f"{tag}r0")
        on_route = await connection.fetchval(
            "SELECT count(*) FROM stops WHERE route_id = $1", route
        )
    except asyncpg.PostgresError:
        return None
    finally:
        await connection.close()
    return tag if found >= drivers and on_route == stops else None


async def seed_fleet(url: str, tag: str, drivers: int, stops: int, chunk: int = 500) -> float:
    """Seeds `drivers` drivers of `stops` stops each; returns the seconds it took (ANALYZE
    included: the statistics a bulk load leaves behind would mislead the planner)."""
    started = time.monotonic()
    base: dict[str, object] = {
        "tag": tag,
        "stops": stops,
        "per_hub": DRIVERS_PER_HUB,
        "hubs": -(-drivers // DRIVERS_PER_HUB),
        "dispatchers": dispatchers_for(drivers),
    }
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            for statement in render(NETWORK, base):
                await connection.execute(statement)
        for first in range(0, drivers, chunk):
            values = base | {"first": first, "last": min(first + chunk, drivers)}
            async with connection.transaction():
                for statement in render(DRIVERS, values):
                    await connection.execute(statement)
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    return time.monotonic() - started


async def bind_devices(url: str, tag: str, drivers: int, step: str) -> None:
    """A fresh handheld per driver for this step, bound to it, and a session for each driver
    and dispatcher (what signing in would have made). The drivers of an earlier step go off
    shift: their latest positions go, so the ETA refresh covers only the drivers on the road."""
    values: dict[str, object] = {
        "tag": tag,
        "step": step,
        "drivers": drivers,
        "dispatchers": dispatchers_for(drivers),
    }
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            for statement in render(DEVICES, values):
                await connection.execute(statement)
    finally:
        await connection.close()
