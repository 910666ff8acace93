from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

_encode = msgspec.json.encode


class LiveRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def raw(self) -> asyncpg.Connection:
        connection = await self.session.connection()
        return (await connection.get_raw_connection()).driver_connection

    async def lock_shipments(self, shipment_ids: Sequence[UUID]) -> list[UUID]:
        """Row locks in id order, the order every writer of shipments takes them in."""
        rows = await (await self.raw()).fetch(
            "SELECT id FROM shipments WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
            list(shipment_ids),
        )
        return [row["id"] for row in rows]

    async def summaries(self, shipment_ids: Sequence[UUID]) -> dict[UUID, asyncpg.Record]:
        """The fields a screen shows next to a status change."""
        rows = await (await self.raw()).fetch(
            "SELECT id, tracking_number, hub_id, attempts, delivered_at"
            " FROM shipments WHERE id = ANY($1::uuid[])",
            list(shipment_ids),
        )
        return {row["id"]: row for row in rows}

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
            """
            WITH input AS (
                SELECT i.*, row_number() OVER (PARTITION BY i.shipment_id ORDER BY i.ord) AS n
                FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY
                    AS i(shipment_id, type, data, ord)
            )
            INSERT INTO shipment_feed (shipment_id, seq, type, data)
            SELECT i.shipment_id,
                   coalesce((SELECT max(f.seq) FROM shipment_feed f
                             WHERE f.shipment_id = i.shipment_id), 0) + i.n,
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
