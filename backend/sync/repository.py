"""SQL of the push hot path: every statement covers the whole batch (unnest), never a row loop."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection
from backend.manifests.repository import DRIVER_VISIBLE_STATUSES

# (shipment_ids, barcodes, stop_ids): what each event names, one entry per event.
Refs = tuple[list[UUID | None], list[str | None], list[UUID | None]]


class SyncRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def raw(self) -> asyncpg.Connection:
        return await raw_connection(self.session)

    # batches ---------------------------------------------------------------------------------

    async def claim_batch(
        self, batch_id: UUID, driver_id: UUID, device_id: str, request_hash: bytes, refs: Refs
    ) -> tuple[bool, list[asyncpg.Record]]:
        """Claim the batch and resolve its shipment references, in one statement.

        The claim inserts the batch row; False when it exists (a concurrent twin waits here for
        the first to commit, then sees its row). A claimed batch also row-locks the ack of this
        (driver, device) (`device_sync`, created if need be; the no-op update takes the lock)
        until commit, so `finish_batch` reads every seq that an earlier push of it committed.

        Per reference (shipment_ids, barcodes, stop_ids: one entry per event, in order): the
        shipment each field points at, the driver whose active published stop holds it, and
        whether it was ever assigned to this driver. Each lookup is a LATERAL … LIMIT 1, an
        index probe per reference: plain joins let the planner hash the whole parcels, stops
        and shipments tables on every push, a cost that grows with the data, not the batch."""
        shipment_ids, barcodes, stop_ids = refs
        rows = await (await self.raw()).fetch(
            """
            WITH claimed AS (
                INSERT INTO push_batches (batch_id, driver_id, device_id, request_hash)
                VALUES ($1, $2, $3, $4) ON CONFLICT (batch_id) DO NOTHING RETURNING true
            ), device AS (
                INSERT INTO device_sync (device_id, driver_id) SELECT $3, $2 FROM claimed
                ON CONFLICT (driver_id, device_id) DO UPDATE SET driver_id = EXCLUDED.driver_id
            ), refs AS (
                SELECT r.i, r.sid, p.shipment_id AS by_barcode, st.shipment_id AS by_stop,
                       COALESCE(r.sid, p.shipment_id, st.shipment_id) AS target
                FROM unnest($5::uuid[], $6::text[], $7::uuid[]) WITH ORDINALITY
                     AS r(sid, barcode, stop_id, i)
                LEFT JOIN LATERAL (
                    SELECT p.shipment_id FROM parcels p WHERE p.barcode = r.barcode LIMIT 1
                ) p ON true
                LEFT JOIN LATERAL (
                    SELECT st.shipment_id FROM stops st WHERE st.id = r.stop_id LIMIT 1
                ) st ON true
            ), resolved AS (
                SELECT refs.i, refs.sid, refs.by_barcode, refs.by_stop, s.id AS shipment_id,
                       holder.driver_id AS holder_id,
                       -- Asked only of shipments another driver (or none) holds now.
                       holder.driver_id IS DISTINCT FROM $2 AND EXISTS (
                           SELECT 1 FROM shipment_events se
                           WHERE se.shipment_id = s.id AND se.type = 'assigned'
                             AND se.data ->> 'driver_id' = $9
                       ) AS ever_mine
                FROM refs
                LEFT JOIN LATERAL (
                    SELECT s.id FROM shipments s WHERE s.id = refs.target LIMIT 1
                ) s ON true
                LEFT JOIN LATERAL (
                    SELECT r.driver_id FROM stops st JOIN routes r ON r.id = st.route_id
                    WHERE st.shipment_id = s.id AND st.active AND r.status = ANY($8::text[])
                    LIMIT 1
                ) holder ON true
            )
            -- One row even without references, to carry the claim.
            SELECT EXISTS (SELECT FROM claimed) AS claimed, resolved.*
            FROM (VALUES (1)) AS one (x) LEFT JOIN resolved ON true
            ORDER BY resolved.i
            """,
            batch_id,
            driver_id,
            device_id,
            request_hash,
            shipment_ids,
            barcodes,
            stop_ids,
            list(DRIVER_VISIBLE_STATUSES),
            str(driver_id),
        )
        return rows[0]["claimed"], [row for row in rows if row["i"] is not None]

    async def stored_batch(self, batch_id: UUID) -> asyncpg.Record | None:
        return await (await self.raw()).fetchrow(
            "SELECT driver_id, request_hash, response, ack_seq FROM push_batches"
            " WHERE batch_id = $1",
            batch_id,
        )

    # resolving what events refer to ----------------------------------------------------------

    async def driver_routes(self, driver_id: UUID, route_ids: list[UUID]) -> set[UUID]:
        rows = await (await self.raw()).fetch(
            "SELECT id FROM routes WHERE id = ANY($1::uuid[]) AND driver_id = $2"
            " AND status = ANY($3::text[])",
            route_ids,
            driver_id,
            list(DRIVER_VISIBLE_STATUSES),
        )
        return {row["id"] for row in rows}

    async def routes_of_stops(self, driver_id: UUID, stop_ids: list[UUID]) -> dict[UUID, UUID]:
        rows = await (await self.raw()).fetch(
            "SELECT st.id, st.route_id FROM stops st JOIN routes r ON r.id = st.route_id"
            " WHERE st.id = ANY($1::uuid[]) AND r.driver_id = $2",
            stop_ids,
            driver_id,
        )
        return {row["id"]: row["route_id"] for row in rows}

    # storing ---------------------------------------------------------------------------------

    async def insert_events(
        self,
        rows: Sequence[tuple[Any, ...]],
        *,
        driver_id: UUID,
        device_id: str,
        batch_id: UUID,
        received_at: datetime,
    ) -> tuple[dict[UUID, str], dict[UUID, str]]:
        """Insert accepted events into the inbox and row-lock their shipments for the fold, in
        one statement. (Their shipments' log rows come later, already linked into the audit
        chain: `ShipmentService.refold`.)

        Rows: (event_id, seq, type, shipment_id, content_hash, effective_at, body json bytes).
        They travel as one JSON array of arrays: msgspec encodes that several times faster
        than asyncpg encodes seven arrays, and PostgreSQL parses each body once.
        Returns {event id: its `data` as PostgreSQL prints it} of the events that were new (the
        rest already existed), the text the shipment log will hold and the chain will hash (jsonb
        prints some numbers differently from how they were sent), and {shipment: status} of
        the locked shipments. The lock is the fold's (`FOR NO KEY UPDATE` in id order); its
        statuses are the latest committed, and the fold's reads come in later statements, so
        they see every event committed before the lock was granted."""
        if not rows:
            return {}, {}
        encoded = msgspec.json.encode([(*row[:6], msgspec.Raw(row[6])) for row in rows])
        result = await (await self.raw()).fetch(
            """
            WITH input AS (
                SELECT (e ->> 0)::uuid AS event_id, (e ->> 1)::bigint AS seq, e ->> 2 AS type,
                       (e ->> 3)::uuid AS shipment_id,
                       decode(e ->> 4, 'base64') AS content_hash,
                       (e ->> 5)::timestamptz AS effective_at, e -> 6 AS body
                FROM jsonb_array_elements($1::text::jsonb) AS e
            ), inbox AS (
                INSERT INTO sync_events (event_id, driver_id, device_id, seq, batch_id, type,
                                         shipment_id, content_hash, effective_at, received_at, body)
                SELECT event_id, $2, $3, seq, $4, type, shipment_id, content_hash,
                       effective_at, $5, body
                FROM input
                ON CONFLICT (event_id) DO NOTHING
                RETURNING event_id, COALESCE(body -> 'data', '{}')::text AS data
            ), locked AS (
                SELECT s.id, s.status FROM shipments s
                WHERE s.id IN (SELECT shipment_id FROM input)
                ORDER BY s.id FOR NO KEY UPDATE
            )
            SELECT event_id, data, NULL::uuid AS shipment_id, NULL AS status FROM inbox
            UNION ALL
            SELECT NULL, NULL, id, status FROM locked
            """,
            encoded.decode(),
            driver_id,
            device_id,
            batch_id,
            received_at,
        )
        new = {row["event_id"]: row["data"] for row in result if row["event_id"] is not None}
        locked = {row["shipment_id"]: row["status"] for row in result if row["shipment_id"]}
        return new, locked

    async def stored_hashes(self, event_ids: list[UUID]) -> dict[UUID, bytes]:
        rows = await (await self.raw()).fetch(
            "SELECT event_id, content_hash FROM sync_events WHERE event_id = ANY($1::uuid[])",
            event_ids,
        )
        return {row["event_id"]: row["content_hash"] for row in rows}

    async def quarantine(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """(driver_id, device_id, batch_id, event_id, seq, reason, detail, raw json text)."""
        if not rows:
            return
        await (await self.raw()).executemany(
            """
            INSERT INTO quarantined_events
                (driver_id, device_id, batch_id, event_id, seq, reason, detail, raw)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb)
            """,
            rows,
        )

    async def finish_batch(
        self, batch_id: UUID, driver_id: UUID, device_id: str, response: bytes
    ) -> int:
        """Advance this (driver, device)'s ack and store the batch's response (for replays) and
        that ack beside it, in one statement; returns the ack.

        The ack moves past every contiguous seq now stored: the seqs above it, in order, are
        contiguous while `seq = ack + their rank`. The device row is locked since
        `claim_batch`, so this statement's snapshot holds every earlier push of the device."""
        return await (await self.raw()).fetchval(
            """
            WITH ack AS (
                UPDATE device_sync d SET updated_at = now(), ack_seq = d.ack_seq + (
                    SELECT count(*) FROM (
                        SELECT s.seq, row_number() OVER (ORDER BY s.seq) AS rank FROM (
                            SELECT seq FROM sync_events
                            WHERE device_id = $1 AND driver_id = $4 AND seq > d.ack_seq
                            UNION
                            SELECT seq FROM quarantined_events
                            WHERE device_id = $1 AND driver_id = $4 AND seq > d.ack_seq
                        ) s
                    ) ranked
                    WHERE ranked.seq = d.ack_seq + ranked.rank
                )
                WHERE d.device_id = $1 AND d.driver_id = $4
                RETURNING d.ack_seq
            ), saved AS (
                UPDATE push_batches SET response = $3, ack_seq = ack.ack_seq
                FROM ack WHERE batch_id = $2
            )
            SELECT ack_seq FROM ack
            """,
            device_id,
            batch_id,
            response,
            driver_id,
        )

    async def start_routes(self, route_ids: list[UUID], at: datetime) -> list[UUID]:
        rows = await (await self.raw()).fetch(
            "UPDATE routes SET status = 'in_progress', updated_at = $2"
            " WHERE id = ANY($1::uuid[]) AND status = 'published' RETURNING id",
            route_ids,
            at,
        )
        return [row["id"] for row in rows]
