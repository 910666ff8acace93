"""Pull: a driver's manifest as a snapshot, then as changes since a cursor.

A pull runs in one REPEATABLE READ snapshot, so the version, the change log and the entities'
data it reads agree with each other exactly.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection
from backend.lib.clock import utcnow
from backend.manifests.repository import DRIVER_VISIBLE_STATUSES
from backend.offers.pull import OFFERS_PULL_QUERY
from backend.sync.schemas import PullResponse

# Each query returns (id, json): PostgreSQL builds every entity's JSON, so a 250-stop snapshot
# costs Python one string join instead of 500 dicts and their re-encoding.
_UTC = """to_char({0} AT TIME ZONE 'UTC', CASE WHEN extract(microseconds FROM {0})::int % 1000000 = 0
          THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' END)"""
_ROUTES = f"""
    SELECT r.id, json_build_object(
        'driver_id', r.driver_id, 'hub_id', r.hub_id, 'date', r.date, 'status', r.status,
        'published_at', {_UTC.format("r.published_at")})::text AS data
    FROM routes r
    WHERE r.driver_id = $1 AND r.status = ANY($2::text[]) {{extra}}
"""
_STOPS = """
    SELECT st.id, json_build_object(
        'route_id', st.route_id, 'shipment_id', st.shipment_id, 'sequence', st.sequence
    )::text AS data
    FROM stops st JOIN routes r ON r.id = st.route_id
    WHERE r.driver_id = $1 AND r.status = ANY($2::text[]) AND st.active {extra}
    ORDER BY st.route_id, st.sequence
"""
_SHIPMENTS = f"""
    SELECT s.id, json_build_object(
        'tracking_number', s.tracking_number, 'reference', s.reference, 'status', s.status,
        'recipient', json_build_object('name', s.recipient->'name', 'phone', s.recipient->'phone'),
        'address', s.address,
        'location', json_build_object('type', 'Point', 'coordinates',
            json_build_array(ST_X(s.location::geometry), ST_Y(s.location::geometry))),
        'window', CASE WHEN s.window_start IS NOT NULL THEN json_build_object(
            'start', {_UTC.format("s.window_start")}, 'end', {_UTC.format("s.window_end")}) END,
        'service_level', s.service_level, 'requirements', s.requirements, 'notes', s.notes,
        'barcodes', (SELECT coalesce(json_agg(p.barcode ORDER BY p.barcode), '[]')
                     FROM parcels p WHERE p.shipment_id = s.id),
        'recipient_instruction', (
            SELECT json_build_object('type', e.type, 'data', e.data)
            FROM shipment_events e WHERE e.shipment_id = s.id AND e.source = 'recipient'
            ORDER BY e.effective_at DESC, e.id DESC LIMIT 1)
    )::text AS data
    FROM shipments s JOIN stops st ON st.shipment_id = s.id AND st.active
    JOIN routes r ON r.id = st.route_id
    WHERE r.driver_id = $1 AND r.status = ANY($2::text[]) {{extra}}
"""
_ENTITIES = (
    ("route", _ROUTES, "r."),
    ("stop", _STOPS, "st."),
    ("shipment", _SHIPMENTS, "s."),
    ("offer", OFFERS_PULL_QUERY, "o."),  # work offered to a courier (backend/offers)
)
# The wanted ones of every kind at once: ids of routes, stops and shipments in $3, $4, $5.
_WANTED_ENTITIES = " UNION ALL ".join(
    f"SELECT '{entity}' AS entity, e.id, e.data FROM ("
    + query.format(extra=f"AND {prefix}id = ANY(${n}::uuid[])")
    + ") e"
    for n, (entity, query, prefix) in enumerate(_ENTITIES, start=3)
)
# The driver's version (one row, even without one) and the latest op per entity since $2.
_STATE_AND_CHANGES = """
    SELECT ds.version AS head, ds.pruned_version, ds.epoch, c.entity, c.entity_id, c.version, c.op
    FROM (VALUES (1)) AS one (x)
    LEFT JOIN driver_sync ds ON ds.driver_id = $1
    LEFT JOIN (
        SELECT entity, entity_id, max(version) AS version,
               (array_agg(op ORDER BY version DESC, id DESC))[1] AS op
        FROM manifest_changes WHERE driver_id = $1 AND version > $2
        GROUP BY entity, entity_id
    ) c ON true
    ORDER BY c.version, c.entity, c.entity_id
"""


class PullService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _raw(self) -> asyncpg.Connection:
        connection = await raw_connection(self.session, isolation_level="REPEATABLE READ")
        # PostgreSQL would plan these statements afresh on every pull (a custom plan for each
        # driver id and id array), which cost more than running them (docs/benchmarks.md).
        # Their generic plans are index lookups whatever the values, so they are planned once
        # per connection.
        await connection.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        return connection

    async def pull(self, driver_id: UUID, cursor: str | None, limit: int) -> PullResponse:
        """`cursor` None (or empty): a snapshot. A snapshot taken before the driver's version row
        exists carries the cursor (0, 0): every change logged after it has a version above 0,
        whatever epoch the row is created with, so that cursor fits any epoch."""
        connection = await self._raw()
        now = utcnow()
        cursor = cursor or None
        seen = decode_cursor(cursor) if cursor is not None else None
        if seen is None:
            if cursor is not None:  # not a cursor of ours
                return _reset(now)
            state = await connection.fetchrow(
                "SELECT version, epoch FROM driver_sync WHERE driver_id = $1", driver_id
            )
            epoch, version = (state["epoch"], state["version"]) if state else (0, 0)
            upserts = await self._entities(connection, driver_id, None)
            changes = _changes_json(upserts.values())
            return PullResponse(changes, encode_cursor(epoch, version), False, False, True, now)
        # The driver's version and the changes since the cursor come in one statement; the
        # changes are dropped when the cursor turns out not to fit (rare).
        rows = await connection.fetch(_STATE_AND_CHANGES, driver_id, seen[1])
        head = rows[0]
        epoch, version, pruned = (
            (head["epoch"], head["head"], head["pruned_version"])
            if head["head"] is not None
            else (0, 0, 0)
        )
        if (seen[0] != epoch and seen != (0, 0)) or not pruned <= seen[1] <= version:
            return _reset(now)
        changes, upto, has_more = await self._changes(
            connection, driver_id, [row for row in rows if row["entity"]], limit
        )
        return PullResponse(
            changes, encode_cursor(epoch, upto or seen[1]), has_more, False, False, now
        )

    async def _changes(
        self, connection: asyncpg.Connection, driver_id: UUID, rows: list[Any], limit: int
    ) -> tuple[msgspec.Raw, int, bool]:
        """The latest op per entity (`rows`, in version order), cut at a version boundary near
        `limit`, upserts with their current data."""
        if not rows:
            return _changes_json([]), 0, False
        cut = len(rows)
        if len(rows) > limit:
            boundary = rows[limit - 1]["version"]
            cut = next((i for i, row in enumerate(rows) if row["version"] > boundary), len(rows))
        page = rows[:cut]
        upserts = {(row["entity"], row["entity_id"]) for row in page if row["op"] == "upsert"}
        found = await self._entities(connection, driver_id, upserts)
        # An entity logged as upserted but no longer visible to this driver is a remove.
        changes = [
            found.get((row["entity"], row["entity_id"]))
            or _removal(row["entity"], row["entity_id"])
            for row in page
        ]
        return _changes_json(changes), page[-1]["version"], cut < len(rows)

    async def _entities(
        self,
        connection: asyncpg.Connection,
        driver_id: UUID,
        wanted: set[tuple[str, UUID]] | None,
    ) -> dict[tuple[str, UUID], str]:
        """Upserts as JSON, with current data: every visible entity (snapshot, in route, stop,
        shipment order: a query per kind) or the wanted ones (one query for all kinds). An
        entity no longer visible is simply absent."""
        statuses = list(DRIVER_VISIBLE_STATUSES)
        if wanted is None:
            rows: list[Any] = []
            for entity, query, _ in _ENTITIES:
                kind = await connection.fetch(query.format(extra=""), driver_id, statuses)
                rows += [(entity, row["id"], row["data"]) for row in kind]
        elif wanted:
            ids = [[i for kind, i in wanted if kind == entity] for entity, _, _ in _ENTITIES]
            rows = await connection.fetch(_WANTED_ENTITIES, driver_id, statuses, *ids)
        else:
            rows = []
        return {
            (entity, entity_id): (
                f'{{"entity":"{entity}","op":"upsert","id":"{entity_id}","data":{data}}}'
            )
            for entity, entity_id, data in rows
        }


def _reset(now: datetime) -> PullResponse:
    """A cursor that is not ours, from another epoch, or older than the retained changes: no
    cursor comes back, the device drops its own and pulls a snapshot."""
    return PullResponse(_changes_json([]), None, False, True, False, now)


def _removal(entity: str, entity_id: UUID) -> str:
    return f'{{"entity":"{entity}","op":"remove","id":"{entity_id}"}}'


def _changes_json(changes: Iterable[str]) -> msgspec.Raw:
    """The `changes` array, already encoded (the shape of `Change`), spliced in as it is."""
    return msgspec.Raw(f"[{','.join(changes)}]".encode())


def encode_cursor(epoch: int, version: int) -> str:
    return base64.urlsafe_b64encode(f"m1:{epoch}:{version}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int] | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, epoch, version = text.split(":")
        return (int(epoch), int(version)) if tag == "m1" else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
