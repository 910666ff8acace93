from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection

_encode = msgspec.json.encode
# The next number in a shipment's stream; callers hold the shipment's row lock.
NEXT_SEQ = (
    "coalesce((SELECT max(f.seq) FROM shipment_feed f WHERE f.shipment_id = {shipment}), 0) + 1"
)


class LiveRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def raw(self) -> asyncpg.Connection:
        return await raw_connection(self.session)

    async def lock_shipments(self, shipment_ids: Sequence[UUID]) -> list[UUID]:
        """Row locks in id order, the order every writer of shipments takes them in."""
        rows = await (await self.raw()).fetch(
            "SELECT id FROM shipments WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
            list(shipment_ids),
        )
        return [row["id"] for row in rows]

    async def append_status_changes(
        self, changes: Sequence[tuple[UUID, str, str]]
    ) -> list[asyncpg.Record]:
        """One `shipment.status` entry per (shipment, before, after), with the fields a screen
        shows next to it read from the projection the fold just wrote. One statement."""
        return await (await self.raw()).fetch(
            f"""
            INSERT INTO shipment_feed (shipment_id, seq, type, data)
            SELECT s.id, {NEXT_SEQ.format(shipment="s.id")}, 'shipment.status',
                   jsonb_strip_nulls(jsonb_build_object(
                       'status', c.after, 'previous_status', c.before,
                       'tracking_number', s.tracking_number, 'hub_id', s.hub_id,
                       'attempts', s.attempts,
                       'delivered_at', CASE WHEN c.after = 'delivered' THEN s.delivered_at END))
            FROM unnest($1::uuid[], $2::text[], $3::text[]) AS c(shipment_id, before, after)
            JOIN shipments s ON s.id = c.shipment_id
            RETURNING shipment_id, seq, type, data::text AS data, created_at
            """,
            [c[0] for c in changes],
            [c[1] for c in changes],
            [c[2] for c in changes],
        )

    async def shipment_for_token(self, token: str) -> UUID | None:
        return await (await self.raw()).fetchval(
            "SELECT id FROM shipments WHERE tracking_token = $1", token
        )

    async def append_feed(
        self, entries: Sequence[tuple[UUID, str, dict[str, Any]]]
    ) -> list[asyncpg.Record]:
        """Append (shipment_id, type, data) entries, numbering each shipment's on from its last
        seq. The caller holds the shipments' row locks, so the numbering cannot race."""
        if not entries:
            return []
        return await (await self.raw()).fetch(
            f"""
            WITH input AS (
                SELECT i.*, row_number() OVER (PARTITION BY i.shipment_id ORDER BY i.ord) AS n
                FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY
                    AS i(shipment_id, type, data, ord)
            )
            INSERT INTO shipment_feed (shipment_id, seq, type, data)
            SELECT i.shipment_id,
                   {NEXT_SEQ.format(shipment="i.shipment_id")} - 1 + i.n,
                   i.type, i.data::jsonb
            FROM input i
            RETURNING shipment_id, seq, type, data::text AS data, created_at
            """,
            [e[0] for e in entries],
            [e[1] for e in entries],
            [_encode(e[2]).decode() for e in entries],
        )

    async def feed_after(self, shipment_id: UUID, after: int, limit: int) -> list[asyncpg.Record]:
        return await (await self.raw()).fetch(
            "SELECT shipment_id, seq, type, data::text AS data, created_at FROM shipment_feed"
            " WHERE shipment_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            shipment_id,
            after,
            limit,
        )

    async def feed_latest(self, shipment_id: UUID, limit: int) -> list[asyncpg.Record]:
        rows = await (await self.raw()).fetch(
            "SELECT shipment_id, seq, type, data::text AS data, created_at FROM shipment_feed"
            " WHERE shipment_id = $1 ORDER BY seq DESC LIMIT $2",
            shipment_id,
            limit,
        )
        return rows[::-1]
