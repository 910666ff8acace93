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
    ) -> tuple[dict[UUID, str], dict[UUID, str], dict[UUID, tuple[int, UUID]]]:
        """Insert accepted events into the inbox and row-lock their shipments for the fold, in
        one statement. (Their shipments' log rows come later, already linked into the audit
        chain: `ShipmentService.refold`.) An event whose seq this driver's device stored before
        under another event id is not inserted: a seq names one event.

        Rows: (event_id, seq, type, shipment_id, content_hash, effective_at, body json bytes).
        They travel as one JSON array of arrays: msgspec encodes that several times faster
        than asyncpg encodes seven arrays, and PostgreSQL parses each body once.
        Returns {event id: its `data` as PostgreSQL prints it} of the events that were new (the
        rest already existed), the text the shipment log will hold and the chain will hash (jsonb
        prints some numbers differently from how they were sent), and {shipment: status} of
        the locked shipments, and {event id: (seq, the stored event holding it)} of the refused.
        The lock is the fold's (`FOR NO KEY UPDATE` in id order); its statuses are the latest
        committed, and the fold's reads come in later statements, so they see every event
        committed before the lock was granted. (The device's pushes take turns on its
        `device_sync` row since `claim_batch`, so no concurrent push stores the same seq.)"""
        if not rows:
            return {}, {}, {}
        encoded = msgspec.json.encode([(*row[:6], msgspec.Raw(row[6])) for row in rows])
        result = await (await self.raw()).fetch(
            """
            WITH input AS (
                SELECT (e ->> 0)::uuid AS event_id, (e ->> 1)::bigint AS seq, e ->> 2 AS type,
                       (e ->> 3)::uuid AS shipment_id,
                       decode(e ->> 4, 'base64') AS content_hash,
                       (e ->> 5)::timestamptz AS effective_at, e -> 6 AS body
                FROM jsonb_array_elements($1::text::jsonb) AS e
            ), reused AS (
                -- An index probe per event, and only for seqs at or below the device's highest
                -- stored one (none, for a batch of new seqs: the usual case).
                SELECT i.event_id, i.seq, s.event_id AS holder FROM input i
                CROSS JOIN LATERAL (
                    SELECT event_id FROM sync_events
                    WHERE device_id = $3 AND seq = i.seq AND driver_id = $2
                      AND event_id <> i.event_id
                    LIMIT 1
                ) s
                WHERE i.seq <= (SELECT max(seq) FROM sync_events WHERE device_id = $3)
            ), inbox AS (
                INSERT INTO sync_events (event_id, driver_id, device_id, seq, batch_id, type,
                                         shipment_id, content_hash, effective_at, received_at, body)
                SELECT event_id, $2, $3, seq, $4, type, shipment_id, content_hash,
                       effective_at, $5, body
                FROM input WHERE event_id NOT IN (SELECT event_id FROM reused)
                ON CONFLICT (event_id) DO NOTHING
                RETURNING event_id, COALESCE(body -> 'data', '{}')::text AS data
            ), locked AS (
                SELECT s.id, s.status FROM shipments s
                WHERE s.id IN (SELECT shipment_id FROM input)
                ORDER BY s.id FOR NO KEY UPDATE
            )
            SELECT event_id, data, NULL::uuid AS shipment_id, NULL AS status,
                   NULL::bigint AS seq, NULL::uuid AS holder FROM inbox
            UNION ALL
            SELECT NULL, NULL, id, status, NULL, NULL FROM locked
            UNION ALL
            SELECT event_id, NULL, NULL, NULL, seq, holder FROM reused
            """,
            encoded.decode(),
            driver_id,
            device_id,
            batch_id,
            received_at,
        )
        new = {row["event_id"]: row["data"] for row in result if row["data"] is not None}
        locked = {row["shipment_id"]: row["status"] for row in result if row["shipment_id"]}
        reused = {row["event_id"]: (row["seq"], row["holder"]) for row in result if row["holder"]}
        return new, locked, reused

    async def stored_hashes(self, event_ids: list[UUID]) -> dict[UUID, bytes]:
        rows = await (await self.raw()).fetch(
            "SELECT event_id, content_hash FROM sync_events WHERE event_id = ANY($1::uuid[])",
            event_ids,
        )
        return {row["event_id"]: row["content_hash"] for row in rows}

    async def quarantine(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """(driver_id, device_id, batch_id, event_id, seq, reason, detail, raw json text or
        None, raw json bytes or None): the bytes when jsonb cannot hold the text (U+0000)."""
        if not rows:
            return
        await (await self.raw()).executemany(
            """
            INSERT INTO quarantined_events
                (driver_id, device_id, batch_id, event_id, seq, reason, detail, raw, raw_bytes)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9)
            """,
            rows,
        )

    async def finish_batch(
        self,
        batch_id: UUID,
        device_id: str,
        response: bytes,
        *,
        driver_id: UUID,
        skipped: Sequence[tuple[int, int]] = (),
    ) -> int:
        """Record the seq ranges the device declared lost, advance this (driver, device)'s ack, and store the
        batch's response (for replays) with that ack beside it, in one statement; returns the ack.

        Every seq stored (accepted or quarantined) is a range of one, a declared skip a longer
        one. The ack moves through the ranges above it, in order, while each starts at most one
        past the furthest any earlier one reached. The device row is locked since
        `claim_batch`, so this statement's snapshot holds every earlier push of the device."""
        firsts, lasts = [s[0] for s in skipped], [s[1] for s in skipped]
        return await (await self.raw()).fetchval(
            """
            WITH cur AS (
                SELECT ack_seq FROM device_sync WHERE device_id = $1 AND driver_id = $6
            ), declared AS (
                SELECT f AS lo, l AS hi FROM unnest($4::bigint[], $5::bigint[]) AS k(f, l)
            ), ranges AS (  -- (the ack as a scalar: an index condition, not a join)
                SELECT seq AS lo, seq AS hi FROM sync_events
                WHERE device_id = $1 AND driver_id = $6 AND seq > (SELECT ack_seq FROM cur)
                UNION ALL
                SELECT seq, seq FROM quarantined_events
                WHERE device_id = $1 AND driver_id = $6 AND seq > (SELECT ack_seq FROM cur)
                UNION ALL
                SELECT first_seq, last_seq FROM skipped_seqs
                WHERE device_id = $1 AND driver_id = $6 AND last_seq > (SELECT ack_seq FROM cur)
                UNION ALL
                SELECT lo, hi FROM declared WHERE hi > (SELECT ack_seq FROM cur)
            ), ordered AS (
                SELECT lo, hi, max(hi) OVER (
                    ORDER BY lo, hi ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                ) AS reach
                FROM ranges
            ), gap AS (  -- the first range that leaves a hole before it
                SELECT min(o.lo) AS lo FROM ordered o, cur
                WHERE o.lo - 1 > GREATEST(cur.ack_seq, o.reach)  -- (no + 1: seqs reach 2^63-1)
            ), reached AS (
                SELECT GREATEST(cur.ack_seq, (
                    SELECT max(o.hi) FROM ordered o, gap WHERE gap.lo IS NULL OR o.lo < gap.lo
                )) AS ack_seq
                FROM cur
            ), skips AS (
                INSERT INTO skipped_seqs (driver_id, device_id, batch_id, first_seq, last_seq)
                SELECT $6, $1, $2, lo, hi FROM declared
            ), ack AS (
                UPDATE device_sync d SET updated_at = now(), ack_seq = reached.ack_seq
                FROM reached WHERE d.device_id = $1 AND d.driver_id = $6
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
            firsts,
            lasts,
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
