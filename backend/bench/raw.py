"""The raw limit: the same events straight into `sync_events` with asyncpg, no server.

One `INSERT … SELECT FROM unnest(…)` per batch (its own transaction, as a push is), the same
batch size and the same number of concurrent senders, over a pool. The rows are what the push
pipeline writes to that table (content hash, effective time, the raw body as jsonb).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from backend.bench.load import PushRun, device_events
from backend.bench.server import CpuMeter
from backend.simulator.fleet import Fleet

INSERT = """
INSERT INTO sync_events (event_id, driver_id, device_id, seq, batch_id, type, shipment_id,
                         content_hash, effective_at, received_at, body)
SELECT event_id, driver_id, device_id, seq, batch_id, type, shipment_id, content_hash,
       effective_at, received_at, body::jsonb
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::uuid[], $6::text[],
            $7::uuid[], $8::bytea[], $9::timestamptz[], $10::timestamptz[], $11::text[])
     AS e(event_id, driver_id, device_id, seq, batch_id, type, shipment_id, content_hash,
          effective_at, received_at, body)
ON CONFLICT (event_id) DO NOTHING
"""

Columns = list[list[Any]]


def build_batches(fleet: Fleet, per_device: int, batch: int) -> list[list[Columns]]:
    """Per device, its batches as unnest columns, built before the clock starts."""
    barcodes = {s["barcode"]: sid for sid, s in fleet.shipments.items()}
    sender_batches = []
    now = datetime.now(UTC)
    for seat in fleet.seats:
        stops = fleet.stops[fleet.route_of_seat[seat.index]]
        by_stop = {s["id"]: s["shipment_id"] for s in stops}
        code = {s["shipment_id"]: fleet.shipments[s["shipment_id"]]["barcode"] for s in stops}
        events = device_events(stops, code, per_device)
        device_id = f"raw-{seat.device_id}"
        batches = []
        for i in range(0, len(events), batch):
            batch_id = uuid.uuid4()
            rows = []
            for event in events[i : i + batch]:
                sid = (
                    event.get("shipment_id")
                    or barcodes.get(event.get("barcode", ""))
                    or by_stop.get(event.get("stop_id", ""))
                )
                body = msgspec.json.encode(event)
                rows.append(
                    (
                        uuid.UUID(event["event_id"]),
                        uuid.UUID(seat.driver_id),
                        device_id,
                        event["seq"],
                        batch_id,
                        event["type"],
                        uuid.UUID(sid) if sid else None,
                        hashlib.sha256(body).digest(),
                        now,
                        now,
                        body.decode(),
                    )
                )
            batches.append([list(column) for column in zip(*rows, strict=True)])
        sender_batches.append(batches)
    return sender_batches


async def insert_raw(
    database_url: str, senders: list[list[Columns]], pool_size: int
) -> tuple[PushRun, CpuMeter]:
    """The run, and PostgreSQL's CPU during it (measured before the pool's backends exit)."""
    run = PushRun()
    pool = await asyncpg.create_pool(database_url, min_size=pool_size, max_size=pool_size)
    try:

        async def sender(batches: list[Columns]) -> None:
            for columns in batches:
                began = time.perf_counter()
                async with pool.acquire() as connection:
                    await connection.execute(INSERT, *columns)
                run.latencies.append(time.perf_counter() - began)

        meter = await CpuMeter([], database_url).start()
        cpu0 = time.process_time()
        run.started = time.perf_counter()
        await asyncio.gather(*(sender(batches) for batches in senders))
        run.ended = time.perf_counter()
        run.client_cpu = time.process_time() - cpu0
        await meter.stop()
    finally:
        await pool.close()
    run.events = sum(len(columns[0]) for batches in senders for columns in batches)
    run.accepted = run.events
    return run, meter
