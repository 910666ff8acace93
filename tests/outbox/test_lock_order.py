"""The outbox worker and the push take shipment row locks in one order, so they never deadlock.

The interleaving that deadlocked: a third session holds shipment C; the outbox holds
`shipment.eta_changed` rows for A, C, B (in that order) with ids B < C < A; a push names A and B.
The worker used to lock A and wait for C while the push locked B and waited for A; when C was
released the worker asked for B and PostgreSQL killed one of them.
"""

import asyncio
import uuid
from datetime import UTC, datetime

import httpx

from backend.db.session import make_engine, make_sessionmaker, unit_of_work
from backend.outbox.handlers import HANDLERS
from backend.outbox.service import OutboxService
from backend.outbox.worker import OutboxWorker
from tests.conftest import make_settings
from tests.live.servers import api_worker
from tests.sync.factories import fleet


async def _waiting_for_locks(db, count: int) -> None:
    """Until `count` sessions wait for a lock (each interleaving step has happened)."""
    deadline = asyncio.get_running_loop().time() + 60  # a busy machine is slow, not wrong
    while asyncio.get_running_loop().time() < deadline:
        if await db.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted") >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never saw {count} sessions waiting for a lock")


async def test_worker_and_push_interleaved_on_held_rows_both_succeed(api, db) -> None:
    f = await fleet(api, per_route=3)
    device = f.handhelds[0]
    b, c, a = sorted(f.shipments[0], key=lambda s: s["id"])
    engine = make_engine(make_settings())
    sessionmaker = make_sessionmaker(engine)
    eta = datetime.now(UTC).isoformat()
    async with unit_of_work(sessionmaker) as session:
        await OutboxService(session).announce(
            "shipment.eta_changed",
            [{"shipment_id": s["id"], "eta": eta, "previous_eta": None} for s in (a, c, b)],
        )
    body = {
        "device_id": device.device_id,
        "batch_id": str(uuid.uuid4()),
        "events": [
            device.event("scan_loaded", 1, shipment_id=a["id"]),
            device.event("scan_loaded", 2, shipment_id=b["id"]),
        ],
    }
    # The push goes to a real API process: the in-process test client would block this loop.
    with api_worker() as server:
        async with (
            httpx.AsyncClient(base_url=server.base_url, headers=device.api.headers) as http,
            db.acquire() as third,
        ):
            holder = third.transaction()
            await holder.start()
            await third.execute("SELECT 1 FROM shipments WHERE id = $1 FOR UPDATE", c["id"])
            worker = asyncio.create_task(OutboxWorker(sessionmaker, HANDLERS).run_once())
            push = asyncio.create_task(http.post("/v1/sync/push", json=body, timeout=60))
            try:
                await _waiting_for_locks(db, 2)  # the worker on C, the push on B
            finally:
                await holder.rollback()
            handled = await asyncio.wait_for(worker, 30)
            response = await asyncio.wait_for(push, 30)
    await engine.dispose()

    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "accepted"]
    assert handled == 3
    assert (
        await db.fetchval(
            "SELECT count(*) FROM outbox WHERE topic = 'shipment.eta_changed'"
            " AND (processed_at IS NULL OR last_error IS NOT NULL)"
        )
        == 0
    )
    feed = await db.fetchval("SELECT count(*) FROM shipment_feed WHERE type = 'shipment.eta'")
    assert feed == 3
