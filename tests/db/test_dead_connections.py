"""Pooled connections the server dropped are never handed to a request again.

Push and pull run their SQL straight on the asyncpg connection, where a dropped connection never
became a SQLAlchemy disconnect error, so the pool kept serving dead connections.
"""

from tests.sync.factories import fleet

TERMINATE_APP_BACKENDS = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
    " WHERE application_name = 'lastmile' AND datname = current_database()"
)


async def test_pushes_pulls_and_readiness_survive_terminated_backends(api, db) -> None:
    f = await fleet(api)
    device, shipment = f.handhelds[0], f.shipments[0][0]
    await device.pull()
    await device.push([device.event("scan_loaded", 1, shipment_id=shipment["id"])])
    assert await db.fetchval(TERMINATE_APP_BACKENDS) >= 1

    statuses = []
    for n in range(10):
        pushed = await device.push_raw([device.event("arrived", 2 + n, shipment_id=shipment["id"])])
        pulled = await device.api.get("/v1/sync/pull")
        statuses += [pushed.status_code, pulled.status_code]
        if n == 4:
            assert await db.fetchval(TERMINATE_APP_BACKENDS) >= 1
    assert statuses == [200] * 20
    ready = await api.get("/readyz")
    assert ready.status_code == 200, ready.text
