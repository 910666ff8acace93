"""PODs from delivered events: blobs before and after, requirements, geofence, PIN, access."""

import json
from uuid import UUID

import pytest

from backend.pod.pins import pin_for
from tests.pod.support import blob_bytes, delivery, sha, upload


async def incidents(db, shipment_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT kind FROM incidents WHERE shipment_id = $1 ORDER BY kind",
        UUID(shipment_id),
    )
    return [row["kind"] for row in rows]


async def test_blobs_uploaded_before_the_event_complete_the_pod_at_once(api, db) -> None:
    job = await delivery(api, {"signature": True, "photo": True})
    signature, photo = blob_bytes("image/png"), blob_bytes()
    await upload(job.device.api, signature, "image/png")
    await upload(job.device.api, photo)
    event = await job.deliver(
        {
            "recipient_name": "R. Ecipient",
            "signature_sha256": sha(signature),
            "photo_sha256s": [sha(photo)],
        }
    )
    pod = await job.pod()
    assert pod["id"] == event["event_id"]
    assert pod["status"] == "complete"
    assert pod["missing_blobs"] == [] and pod["missing_requirements"] == []
    assert pod["recipient_name"] == "R. Ecipient"
    assert pod["driver_id"] == job.driver["id"]
    assert pod["device_id"] == job.device.device_id
    assert pod["handoff"] == "recipient"
    assert pod["location"]["type"] == "Point"
    assert pod["accuracy_m"] == 5.0
    assert pod["distance_m"] < 1
    assert pod["flags"] == []
    assert await incidents(db, job.shipment_id) == []


async def test_blobs_after_the_event_move_the_pod_from_pending_to_complete(api, db) -> None:
    job = await delivery(api, {"signature": True, "photo": True})
    signature, photos = blob_bytes("image/png"), [blob_bytes(), blob_bytes("image/webp")]
    await job.deliver(
        {"signature_sha256": sha(signature), "photo_sha256s": [sha(p) for p in photos]}
    )
    pod = await job.pod()
    assert pod["status"] == "pending_blobs"
    assert sorted(pod["missing_blobs"]) == sorted([sha(signature), *map(sha, photos)])
    await upload(job.device.api, photos[0])
    await upload(job.device.api, signature, "image/png")
    pod = await job.pod()
    assert (pod["status"], pod["missing_blobs"]) == ("pending_blobs", [sha(photos[1])])
    await upload(job.device.api, photos[1], "image/webp")
    assert (await job.pod())["status"] == "complete"


async def test_a_pending_pod_that_also_lacks_a_requirement_ends_incomplete(api, db) -> None:
    job = await delivery(api, {"signature": True, "photo": True})
    photo = blob_bytes()
    await job.deliver({"photo_sha256s": [sha(photo)]})
    assert (await job.pod())["status"] == "pending_blobs"
    await upload(job.device.api, photo)
    pod = await job.pod()
    assert (pod["status"], pod["missing_requirements"]) == ("incomplete", ["signature"])


@pytest.mark.parametrize(
    ("requirements", "data", "missing"),
    [
        ({"signature": True}, {}, ["signature"]),
        ({"photo": True}, {}, ["photo"]),
        ({"pin": True}, {}, ["pin"]),
        ({"min_age": 18}, {}, ["age_check"]),
        ({"min_age": 18}, {"age_verified": False}, ["age_check"]),
        (
            {"signature": True, "photo": True, "min_age": 18},
            {},
            ["signature", "photo", "age_check"],
        ),
    ],
)
async def test_a_missing_requirement_is_accepted_but_incomplete(
    api, db, requirements, data, missing
) -> None:
    job = await delivery(api, requirements)
    await job.deliver(data)
    shipment = (await api.get(f"/v1/shipments/{job.shipment_id}")).json()
    assert shipment["status"] == "delivered"  # it happened
    pod = await job.pod()
    assert pod["status"] == "incomplete"
    assert pod["missing_requirements"] == missing
    assert "incomplete_pod" in await incidents(db, job.shipment_id)
    recorded = await db.fetchval(
        "SELECT data->'missing' FROM incidents WHERE kind = 'incomplete_pod'"
    )
    assert json.loads(recorded) == missing


async def test_age_check_passes_when_verified(api, db) -> None:
    job = await delivery(api, {"min_age": 18})
    await job.deliver({"age_verified": True})
    pod = await job.pod()
    assert (pod["status"], pod["min_age"], pod["age_verified"]) == ("complete", 18, True)


@pytest.mark.parametrize(
    ("metres", "accuracy", "outside"),
    [
        (0, 5, False),
        (140, 5, False),
        (160, None, True),
        (200, 10, True),
        (200, 100, False),  # 150 m widened by the fix's 100 m accuracy
        (400, 100, True),
    ],
)
async def test_geofence_with_accuracy(api, db, metres, accuracy, outside) -> None:
    job = await delivery(api)
    await job.deliver(metres=metres, accuracy_m=accuracy)
    pod = await job.pod()
    assert pod["distance_m"] == pytest.approx(metres, abs=2)
    assert pod["geofence_m"] == 150 + (accuracy or 0)
    assert ("outside_geofence" in pod["flags"]) is outside
    assert ("outside_geofence" in await incidents(db, job.shipment_id)) is outside
    assert pod["status"] == "complete"  # a flag, not a missing proof


async def test_a_delivery_without_a_position_is_flagged(api, db) -> None:
    job = await delivery(api)
    await job.deliver(location=False)
    pod = await job.pod()
    assert pod["flags"] == ["no_location"]
    assert pod["distance_m"] is None and pod["location"] is None


async def test_the_right_pin_completes_the_pod(api, db, pod_settings) -> None:
    job = await delivery(api, {"pin": True})
    pin = pin_for(UUID(job.shipment_id), pod_settings.secret_key)
    assert len(pin) == 6 and pin.isdigit()
    await job.deliver({"pin": pin})
    pod = await job.pod()
    assert (pod["status"], pod["pin_result"], pod["flags"]) == ("complete", "correct", [])
    assert await incidents(db, job.shipment_id) == []


async def test_a_wrong_pin_is_recorded_as_such(api, db, pod_settings) -> None:
    job = await delivery(api, {"pin": True})
    right = pin_for(UUID(job.shipment_id), pod_settings.secret_key)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    await job.deliver({"pin": wrong})
    pod = await job.pod()
    assert pod["pin_result"] == "wrong"
    assert pod["flags"] == ["wrong_pin"]
    assert (pod["status"], pod["missing_requirements"]) == ("incomplete", ["pin"])
    assert await incidents(db, job.shipment_id) == ["incomplete_pod", "wrong_pin"]


async def test_the_pin_is_stored_only_as_a_hash(api, db, pod_settings) -> None:
    job = await delivery(api, {"pin": True})
    pin = pin_for(UUID(job.shipment_id), pod_settings.secret_key)
    row = await db.fetchrow("SELECT * FROM shipments WHERE id = $1", UUID(job.shipment_id))
    assert row["pin_hash"] and len(row["pin_hash"]) == 64
    assert all(pin not in str(value) for value in row.values())
    shipment = (await api.get(f"/v1/shipments/{job.shipment_id}")).text
    assert pin not in shipment and row["pin_hash"] not in shipment


async def test_a_pin_requirement_added_later_gets_a_pin(api, db, pod_settings) -> None:
    job = await delivery(api)
    response = await api.patch(f"/v1/shipments/{job.shipment_id}", {"requirements": {"pin": True}})
    assert response.status_code == 200, response.text
    await job.deliver({"pin": pin_for(UUID(job.shipment_id), pod_settings.secret_key)})
    assert (await job.pod())["pin_result"] == "correct"


async def test_a_replayed_delivery_makes_no_second_pod(api, db) -> None:
    job = await delivery(api, {"signature": True})
    event = await job.deliver()
    again = await job.device.push([event])
    assert again["results"][0]["status"] == "duplicate"
    assert await db.fetchval("SELECT count(*) FROM pods") == 1
    assert await incidents(db, job.shipment_id) == ["incomplete_pod"]


async def test_who_may_read_a_pod(api, db) -> None:
    job = await delivery(api)
    await job.deliver()
    path = f"/v1/shipments/{job.shipment_id}/pod"
    dispatcher, partner = await api.user("dispatcher"), await api.user("partner")
    assert (await dispatcher.get(path)).status_code == 200
    assert (await partner.get(path)).status_code == 404  # no shipment is handed to partners yet
    assert (await job.device.api.get(path)).status_code == 404
    assert (
        await api.get("/v1/shipments/00000000-0000-7000-8000-000000000000/pod")
    ).status_code == 404


async def test_a_shipment_not_yet_delivered_has_no_pod(api, db) -> None:
    job = await delivery(api)
    response = await api.get(f"/v1/shipments/{job.shipment_id}/pod")
    assert (response.status_code, response.json()["code"]) == (404, "no_pod")


async def test_the_recipient_sees_a_summary_through_the_tracking_token(api, db) -> None:
    job = await delivery(api, {"photo": True})
    photo = blob_bytes()
    await upload(job.device.api, photo)
    token = job.shipment["tracking_token"]
    assert (await api.client.get(f"/v1/track/{token}/pod")).status_code == 404  # not yet
    event = await job.deliver({"photo_sha256s": [sha(photo)]})
    summary = await api.client.get(f"/v1/track/{token}/pod")
    assert summary.status_code == 200
    assert summary.json()["handoff"] == "recipient"
    assert "photo_sha256s" not in summary.json()  # the shipper did not share it
    assert summary.json()["delivered_at"].startswith(event["occurred_at"][:19])
    photo_path = f"/v1/track/{token}/pod/photos/{sha(photo)}"
    assert (await api.client.get(photo_path)).status_code == 404
    assert (await api.client.get("/v1/track/no-such-token/pod")).status_code == 404


async def test_a_shared_photo_reaches_the_recipient(api, db) -> None:
    job = await delivery(api, {"photo": True, "share_photo": True})
    photo = blob_bytes()
    await job.deliver({"photo_sha256s": [sha(photo)]})
    token = job.shipment["tracking_token"]
    assert (await api.client.get(f"/v1/track/{token}/pod")).json().get("photo_sha256s") is None
    await upload(job.device.api, photo)  # shown once it has arrived
    summary = (await api.client.get(f"/v1/track/{token}/pod")).json()
    assert summary["photo_sha256s"] == [sha(photo)]
    shown = await api.client.get(f"/v1/track/{token}/pod/photos/{sha(photo)}")
    assert (shown.status_code, shown.content) == (200, photo)
    other = await delivery(api, {"share_photo": True})
    wrong_token = other.shipment["tracking_token"]
    assert (
        await api.client.get(f"/v1/track/{wrong_token}/pod/photos/{sha(photo)}")
    ).status_code == 404
