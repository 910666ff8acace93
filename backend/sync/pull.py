"""Pull: a driver's manifest as a snapshot, then as changes since a cursor.

A pull runs in one REPEATABLE READ snapshot, so the version, the change log and the entities'
data it reads agree with each other exactly.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from uuid import UUID

import asyncpg
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection
from backend.lib.clock import utcnow
from backend.manifests.repository import DRIVER_VISIBLE_STATUSES
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
_ENTITIES = (("route", _ROUTES, "r."), ("stop", _STOPS, "st."), ("shipment", _SHIPMENTS, "s."))


class PullService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _raw(self) -> asyncpg.Connection:
        return await raw_connection(self.session, isolation_level="REPEATABLE READ")

    async def pull(self, driver_id: UUID, cursor: str | None, limit: int) -> PullResponse:
        connection = await self._raw()
        now = utcnow()
        state = await connection.fetchrow(
            "SELECT version, pruned_version, epoch FROM driver_sync WHERE driver_id = $1", driver_id
        )
        epoch, version = (state["epoch"], state["version"]) if state else (0, 0)
        if cursor is None:
            upserts = await self._entities(connection, driver_id, None)
            changes = _changes_json(upserts.values())
            return PullResponse(changes, encode_cursor(epoch, version), False, False, True, now)
        seen = decode_cursor(cursor)
        pruned = state["pruned_version"] if state else 0
        if seen is None or seen[0] != epoch or not pruned <= seen[1] <= version:
            return PullResponse(
                _changes_json([]), encode_cursor(epoch, version), False, True, False, now
            )
        changes, upto, has_more = await self._changes(connection, driver_id, seen[1], limit)
        return PullResponse(
            changes, encode_cursor(epoch, upto or seen[1]), has_more, False, False, now
        )

    async def _changes(
        self, connection: asyncpg.Connection, driver_id: UUID, after: int, limit: int
    ) -> tuple[msgspec.Raw, int, bool]:
        """The latest op per entity since `after`, cut at a version boundary near `limit`."""
        rows = await connection.fetch(
            """
            SELECT entity, entity_id, max(version) AS version,
                   (array_agg(op ORDER BY version DESC, id DESC))[1] AS op
            FROM manifest_changes WHERE driver_id = $1 AND version > $2
            GROUP BY entity, entity_id
            ORDER BY version, entity, entity_id
            """,
            driver_id,
            after,
        )
        if not rows:
            return _changes_json([]), after, False
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
        shipment order) or the wanted ones. An entity no longer visible is simply absent."""
        statuses = list(DRIVER_VISIBLE_STATUSES)
        found: dict[tuple[str, UUID], str] = {}
        for entity, query, prefix in _ENTITIES:
            if wanted is None:
                rows = await connection.fetch(query.format(extra=""), driver_id, statuses)
            else:
                ids = [entity_id for kind, entity_id in wanted if kind == entity]
                if not ids:
                    continue
                extra = f"AND {prefix}id = ANY($3::uuid[])"
                rows = await connection.fetch(query.format(extra=extra), driver_id, statuses, ids)
            for row in rows:
                found[entity, row["id"]] = (
                    f'{{"entity":"{entity}","op":"upsert","id":"{row["id"]}","data":{row["data"]}}}'
                )
        return found


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
