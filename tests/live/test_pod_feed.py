"""Proofs of delivery on the dispatch feed: when one is recorded, and when its last blob arrives."""

from uuid import UUID

from tests.conftest import Live
from tests.factories import Api
from tests.live.support import next_message
from tests.pod.support import blob_bytes, delivery, sha, upload


def pods_only(message) -> bool:
    return message.type == "pod"


async def test_a_recorded_pod_and_its_completion_reach_the_feed(api: Api, pg_live: Live) -> None:
    job = await delivery(api)
    photo = blob_bytes()
    with pg_live.runtime.hub.feed(pods_only) as feed:
        await job.deliver({"photo_sha256s": [sha(photo)]}, metres=400)
        recorded = await next_message(feed)
        assert (await upload(job.device.api, photo)).status_code == 201
        completed = await next_message(feed)
    assert recorded.shipment_id == UUID(job.shipment_id)
    assert recorded.driver_id == UUID(job.driver["id"])
    assert recorded.data["status"] == "pending_blobs"
    assert recorded.data["handoff"] == "recipient"
    assert "outside_geofence" in recorded.data["flags"]
    assert completed.data["pod_id"] == recorded.data["pod_id"]
    assert completed.data["status"] == "complete"
