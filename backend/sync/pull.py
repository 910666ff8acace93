"""Pull: a driver's manifest as a snapshot, then as changes since a cursor.

A pull runs in one REPEATABLE READ snapshot, so the version, the change log and the entities'
data it reads agree with each other exactly.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.lib.clock import utcnow
from backend.manifests.repository import DRIVER_VISIBLE_STATUSES
from backend.sync.schemas import Change, PullResponse

ENTITY_ORDER = {"route": 0, "stop": 1, "shipment": 2}

_ROUTES = """
    SELECT id, driver_id, hub_id, date, status, published_at FROM routes
    WHERE driver_id = $1 AND status = ANY($2::text[]) {extra}
"""
_STOPS = """
    SELECT st.id, st.route_id, st.shipment_id, st.sequence
    FROM stops st JOIN routes r ON r.id = st.route_id
    WHERE r.driver_id = $1 AND r.status = ANY($2::text[]) AND st.active {extra}
    ORDER BY st.route_id, st.sequence
"""
_SHIPMENTS = """
    SELECT s.id, s.tracking_number, s.reference, s.status, s.recipient, s.address,
           ST_X(s.location::geometry) AS lon, ST_Y(s.location::geometry) AS lat,
           s.window_start, s.window_end, s.service_level, s.requirements, s.notes,
           (SELECT coalesce(array_agg(p.barcode ORDER BY p.barcode), '{{}}')
              FROM parcels p WHERE p.shipment_id = s.id) AS barcodes
    FROM shipments s JOIN stops st ON st.shipment_id = s.id AND st.active
    JOIN routes r ON r.id = st.route_id
    WHERE r.driver_id = $1 AND r.status = ANY($2::text[]) {extra}
"""


class PullService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _raw(self) -> asyncpg.Connection:
        connection = await self.session.connection(
            execution_options={"isolation_level": "REPEATABLE READ"}
        )
        return (await connection.get_raw_connection()).driver_connection

    async def pull(self, driver_id: UUID, cursor: str | None, limit: int) -> PullResponse:
        connection = await self._raw()
        now = utcnow()
        state = await connection.fetchrow(
            "SELECT version, pruned_version, epoch FROM driver_sync WHERE driver_id = $1", driver_id
        )
        epoch, version = (state["epoch"], state["version"]) if state else (0, 0)
        if cursor is None:
            changes = await self._snapshot(connection, driver_id)
            return PullResponse(changes, encode_cursor(epoch, version), False, False, True, now)
        seen = decode_cursor(cursor)
        pruned = state["pruned_version"] if state else 0
        if seen is None or seen[0] != epoch or not pruned <= seen[1] <= version:
            return PullResponse([], encode_cursor(epoch, version), False, True, False, now)
        changes, upto, has_more = await self._changes(connection, driver_id, seen[1], limit)
        return PullResponse(
            changes, encode_cursor(epoch, upto or seen[1]), has_more, False, False, now
        )

    async def _snapshot(self, connection: asyncpg.Connection, driver_id: UUID) -> list[Change]:
        return await self._entities(connection, driver_id, None)

    async def _changes(
        self, connection: asyncpg.Connection, driver_id: UUID, after: int, limit: int
    ) -> tuple[list[Change], int, bool]:
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
            return [], after, False
        cut = len(rows)
        if len(rows) > limit:
            boundary = rows[limit - 1]["version"]
            cut = next((i for i, row in enumerate(rows) if row["version"] > boundary), len(rows))
        page = rows[:cut]
        upserts = {(row["entity"], row["entity_id"]) for row in page if row["op"] == "upsert"}
        data = await self._entities(connection, driver_id, upserts)
        found = {(change.entity, change.id): change for change in data}
        changes = [
            found.get((row["entity"], row["entity_id"]))
            or Change(entity=row["entity"], op="remove", id=row["entity_id"])
            for row in page
        ]
        return changes, page[-1]["version"], cut < len(rows)

    async def _entities(
        self,
        connection: asyncpg.Connection,
        driver_id: UUID,
        wanted: set[tuple[str, UUID]] | None,
    ) -> list[Change]:
        """Upserts with current data: every visible entity (snapshot) or the wanted ones. An
        entity no longer visible to this driver is simply absent (the caller removes it)."""
        statuses = list(DRIVER_VISIBLE_STATUSES)
        changes: list[Change] = []
        for entity, query, prefix, shape in (
            ("route", _ROUTES, "", _route),
            ("stop", _STOPS, "st.", _stop),
            ("shipment", _SHIPMENTS, "s.", _shipment),
        ):
            if wanted is None:
                rows = await connection.fetch(query.format(extra=""), driver_id, statuses)
            else:
                ids = [entity_id for kind, entity_id in wanted if kind == entity]
                if not ids:
                    continue
                extra = f"AND {prefix}id = ANY($3::uuid[])"
                rows = await connection.fetch(query.format(extra=extra), driver_id, statuses, ids)
            changes += [
                Change(entity=entity, op="upsert", id=row["id"], data=shape(row)) for row in rows
            ]
        return changes


def _route(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "driver_id": str(row["driver_id"]),
        "hub_id": str(row["hub_id"]),
        "date": row["date"].isoformat(),
        "status": row["status"],
        "published_at": _iso(row["published_at"]),
    }


def _stop(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "route_id": str(row["route_id"]),
        "shipment_id": str(row["shipment_id"]),
        "sequence": row["sequence"],
    }


def _shipment(row: asyncpg.Record) -> dict[str, Any]:
    recipient = _json(row["recipient"])
    window = (
        {"start": _iso(row["window_start"]), "end": _iso(row["window_end"])}
        if row["window_start"]
        else None
    )
    return {
        "tracking_number": row["tracking_number"],
        "reference": row["reference"],
        "status": row["status"],
        "recipient": {"name": recipient.get("name"), "phone": recipient.get("phone")},
        "address": _json(row["address"]),
        "location": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
        "window": window,
        "service_level": row["service_level"],
        "requirements": _json(row["requirements"]),
        "notes": row["notes"],
        "barcodes": list(row["barcodes"]),
    }


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str) else value


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def encode_cursor(epoch: int, version: int) -> str:
    return base64.urlsafe_b64encode(f"m1:{epoch}:{version}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int] | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, epoch, version = text.split(":")
        return (int(epoch), int(version)) if tag == "m1" else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
