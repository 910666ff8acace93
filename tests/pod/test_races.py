"""A blob upload racing the POD that names it: the POD never stays pending for a blob that is
there. Two real transactions, interleaved on purpose."""

import asyncio
from datetime import UTC, datetime
from uuid import UUID

from backend.auth.schemas import Principal
from backend.db.session import make_engine, make_sessionmaker
from backend.pod.blobs import BlobService
from backend.pod.schemas import Delivery
from backend.pod.service import PodService
from backend.pod.storage import LocalBlobStore
from backend.sync.schemas import DeliveredData, Location
from tests.factories import CENTER
from tests.pod.support import blob_bytes, delivery, sha


async def waiting_on_advisory_lock(db) -> bool:
    for _ in range(500):
        if await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
        ):
            return True
        await asyncio.sleep(0.01)
    return False


async def test_an_upload_during_the_pods_transaction_completes_it(
    api, db, pod_settings, blob_dir
) -> None:
    job = await delivery(api)
    event = await job.deliver()
    await db.execute("DELETE FROM pods")  # record this delivery's POD again, by hand
    photo = blob_bytes()
    principal_id = await db.fetchval(
        "SELECT user_id FROM drivers WHERE id = $1", UUID(job.driver["id"])
    )
    fact = Delivery(
        event_id=UUID(event["event_id"]),
        shipment_id=UUID(job.shipment_id),
        driver_id=UUID(job.driver["id"]),
        device_id=job.device.device_id,
        effective_at=datetime.now(UTC),
        location=Location(lon=CENTER[0], lat=CENTER[1], accuracy_m=5),
        data=DeliveredData(handoff="recipient", photo_sha256s=[sha(photo)]),
    )
    # Our own engine: the app's connections belong to the test client's event loop.
    engine = make_engine(pod_settings)
    sessions = make_sessionmaker(engine)
    async with sessions() as recording, sessions() as uploading:
        await PodService(recording).record_deliveries([fact])  # sees no photo yet: pending

        async def upload() -> None:
            who = Principal(user_id=principal_id, role="driver", driver_id=UUID(job.driver["id"]))
            await BlobService(uploading, LocalBlobStore(blob_dir)).put(
                sha(photo), "image/jpeg", photo, who
            )
            await uploading.commit()

        racing = asyncio.create_task(upload())
        assert await waiting_on_advisory_lock(db), "the upload did not wait for the POD"
        await recording.commit()
        await racing
    await engine.dispose()
    status = await db.fetchval("SELECT status FROM pods WHERE id = $1", UUID(event["event_id"]))
    assert status == "complete"
