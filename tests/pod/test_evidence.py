"""The audit chain, evidence bundles, and the offline verifier catching a one-byte change."""

import asyncio
import io
import json
import zipfile
from pathlib import Path
from uuid import UUID

import pytest

from backend.cli import main
from backend.pod.chain import GENESIS, chain
from backend.pod.evidence import verify_bytes, verify_file
from tests.pod.support import blob_bytes, delivery, sha, upload


async def stored_chain(db, shipment_id: str) -> list[dict]:
    rows = await db.fetch(
        """
        SELECT id, shipment_id, source, type, actor_id, device_id, seq, occurred_at,
               effective_at, received_at, data::text AS data, anomalies::text AS anomalies,
               chain_seq, chain_hash
        FROM shipment_events WHERE shipment_id = $1 ORDER BY chain_seq
        """,
        UUID(shipment_id),
    )
    return [
        dict(row) | {"data": json.loads(row["data"]), "anomalies": json.loads(row["anomalies"])}
        for row in rows
    ]


async def delivered_with_photo(api):
    job = await delivery(api, {"photo": True, "signature": True})
    photo, signature = blob_bytes(), blob_bytes("image/png")
    await upload(job.device.api, photo)
    await upload(job.device.api, signature, "image/png")
    await job.deliver(
        {"photo_sha256s": [sha(photo)], "signature_sha256": sha(signature), "recipient_name": "Ann"}
    )
    return job, photo, signature


async def test_every_event_is_linked_in_arrival_order(api, db) -> None:
    job = await delivery(api)
    await job.device.push([job.device.event("arrived", 5, shipment_id=job.shipment_id)])
    await job.deliver()
    events = await stored_chain(db, job.shipment_id)
    assert [e["type"] for e in events] == [
        "created",
        "assigned",
        "scan_loaded",
        "arrived",
        "delivered",
    ]
    assert [e["chain_seq"] for e in events] == [1, 2, 3, 4, 5]
    assert [e["chain_hash"] for e in events] == chain(events, GENESIS)
    # A later write extends the chain; earlier links stay as they were.
    before = [e["chain_hash"] for e in events]
    await job.device.push([job.device.event("note", 20, data={"text": "x"})])
    response = await api.post(f"/v1/shipments/{job.shipment_id}/cancel")
    assert response.status_code == 409  # delivered: closed, nothing appended
    assert [e["chain_hash"] for e in await stored_chain(db, job.shipment_id)] == before


async def test_the_json_bundle_verifies(api, db, tmp_path: Path) -> None:
    job, photo, signature = await delivered_with_photo(api)
    response = await api.get(f"/v1/shipments/{job.shipment_id}/evidence")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    bundle = response.json()
    assert bundle["shipment"]["id"] == job.shipment_id
    assert [e["type"] for e in bundle["events"]][-1] == "delivered"
    assert bundle["chain"]["head"] == bundle["events"][-1]["chain_hash"]
    assert bundle["pods"][0]["status"] == "complete"
    assert sorted(b["sha256"] for b in bundle["blobs"]) == sorted([sha(photo), sha(signature)])
    path = tmp_path / "evidence.json"
    path.write_bytes(response.content)
    report = verify_file(path)
    assert report.ok, report.text()


async def test_one_altered_byte_in_an_event_names_the_broken_link(api, db, tmp_path) -> None:
    job, _, _ = await delivered_with_photo(api)
    document = (await api.get(f"/v1/shipments/{job.shipment_id}/evidence")).content
    assert document.count(b'"Ann"') == 2  # in the delivered event and in its POD
    position = document.index(b'"Ann"') + 1
    tampered = document[:position] + b"E" + document[position + 1 :]
    path = tmp_path / "tampered.json"
    path.write_bytes(tampered)
    report = verify_file(path)
    assert not report.ok
    links = [p for p in report.problems if p.startswith("link ")]
    assert len(links) == 1 and links[0].startswith("link 4 ")
    assert any("content_sha256" in p for p in report.problems)


async def test_an_altered_chain_hash_breaks_its_link_and_the_next(api, db, tmp_path) -> None:
    job, _, _ = await delivered_with_photo(api)
    bundle = (await api.get(f"/v1/shipments/{job.shipment_id}/evidence")).json()
    stored = bundle["events"][1]["chain_hash"]
    bundle["events"][1]["chain_hash"] = ("0" if stored[0] != "0" else "1") + stored[1:]
    path = tmp_path / "tampered.json"
    path.write_bytes(json.dumps(bundle).encode())
    problems = verify_file(path).problems
    assert [p.split(" (")[0] for p in problems if p.startswith("link ")] == ["link 2", "link 3"]


async def test_a_pod_that_disagrees_with_its_event_is_caught(api, db, tmp_path) -> None:
    job, _, _ = await delivered_with_photo(api)
    bundle = (await api.get(f"/v1/shipments/{job.shipment_id}/evidence")).json()
    bundle["pods"][0]["handoff"] = "safe_drop"
    path = tmp_path / "tampered.json"
    path.write_bytes(json.dumps(bundle).encode())
    problems = verify_file(path).problems
    assert any("handoff differ from its delivered event" in p for p in problems)


async def test_the_zip_bundle_carries_and_checks_the_blobs(api, db, tmp_path) -> None:
    job, photo, _ = await delivered_with_photo(api)
    response = await api.get(f"/v1/shipments/{job.shipment_id}/evidence", params={"format": "zip"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.read(f"blobs/{sha(photo)}") == photo
        members = {i.filename: archive.read(i.filename) for i in archive.infolist()}
    path = tmp_path / "evidence.zip"
    path.write_bytes(response.content)
    assert verify_file(path).ok
    # Rewrite the zip with one byte of the photo changed (valid zip, wrong bytes).
    altered = bytearray(photo)
    altered[-1] ^= 0x01
    members[f"blobs/{sha(photo)}"] = bytes(altered)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    report = verify_file(path)
    assert report.problems == [f"blob {sha(photo)}: its bytes do not hash to its name"]


async def test_a_byte_flipped_inside_the_zip_file_is_caught(api, db, tmp_path) -> None:
    job, photo, _ = await delivered_with_photo(api)
    raw = bytearray((await api.get(f"/v1/shipments/{job.shipment_id}/evidence?format=zip")).content)
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        info = archive.getinfo(f"blobs/{sha(photo)}")
    # Flip a byte inside the member's stored data (after its 30-byte local header and name).
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + 4
    raw[offset] ^= 0xFF
    path = tmp_path / "flipped.zip"
    path.write_bytes(bytes(raw))
    report = verify_file(path)
    assert not report.ok
    assert any(sha(photo) in p for p in report.problems)


async def test_the_cli_verifies_and_fails_on_tampering(api, db, tmp_path, capsys) -> None:
    job, _, _ = await delivered_with_photo(api)
    document = (await api.get(f"/v1/shipments/{job.shipment_id}/evidence")).content
    good = tmp_path / "good.json"
    good.write_bytes(document)
    with pytest.raises(SystemExit) as exited:
        main(["verify-evidence", str(good)])
        raise SystemExit(0)
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("VERIFIED")
    bad = tmp_path / "bad.json"
    bad.write_bytes(document.replace(b'"Ann"', b'"Bnn"', 1))
    with pytest.raises(SystemExit) as exited:
        main(["verify-evidence", str(bad)])
    assert exited.value.code == 1
    assert "link 4" in capsys.readouterr().out


async def test_who_may_fetch_evidence(api, db) -> None:
    job = await delivery(api)
    await job.deliver()
    path = f"/v1/shipments/{job.shipment_id}/evidence"
    dispatcher, partner = await api.user("dispatcher"), await api.user("partner")
    assert (await dispatcher.get(path)).status_code == 200
    assert (await partner.get(path)).status_code == 404
    assert (await job.device.api.get(path)).status_code == 404
    wrong_format = await api.get(f"{path}?format=tar")
    assert wrong_format.status_code == 422
    assert wrong_format.json()["errors"][0]["field"] == "format"


async def test_concurrent_writers_extend_one_unforked_chain(api, db) -> None:
    """A push and dispatch edits racing on one shipment: the row lock makes them take turns,
    so the chain stays one line whatever order they commit in."""
    job = await delivery(api)
    path = f"/v1/shipments/{job.shipment_id}"
    await asyncio.gather(
        *(api.patch(path, {"notes": f"gate code {n}"}) for n in range(4)),
        *(
            job.device.push([job.device.event("arrived", 3 + n, shipment_id=job.shipment_id)])
            for n in range(4)
        ),
    )
    events = await stored_chain(db, job.shipment_id)
    assert len(events) == 3 + 8
    assert [e["chain_seq"] for e in events] == list(range(1, 12))
    assert [e["chain_hash"] for e in events] == chain(events, GENESIS)


async def test_events_stored_before_the_chain_are_sealed_by_the_next_write(api, db) -> None:
    """Rows from before the migration have no link; the next write links them in order."""
    job = await delivery(api)
    await db.execute(
        "UPDATE shipment_events SET chain_seq = NULL, chain_hash = NULL WHERE shipment_id = $1",
        UUID(job.shipment_id),
    )
    bundle = (await api.get(f"/v1/shipments/{job.shipment_id}/evidence")).json()
    assert (bundle["chain"]["length"], bundle["chain"]["unsealed_events"]) == (0, 3)
    response = await api.patch(f"/v1/shipments/{job.shipment_id}", {"notes": "side door"})
    assert response.status_code == 200
    events = await stored_chain(db, job.shipment_id)
    assert [e["type"] for e in events] == ["created", "assigned", "scan_loaded", "updated"]
    assert [e["chain_hash"] for e in events] == chain(events, GENESIS)


async def test_links_hash_what_postgresql_stores(api, db) -> None:
    """jsonb prints some numbers differently from how they were sent (1e16 as an integer, -0.0
    as 0.0) and times come back in UTC. Whatever the device sent, every link matches the stored
    rows the verifier reads, before and after such an event."""
    job = await delivery(api)
    device = job.device
    plain = device.event("arrived", 3, shipment_id=job.shipment_id, data={"speed": 1.5})
    odd = device.event(
        "arrived", 4, shipment_id=job.shipment_id, data={"odometer": 1e16, "tilt": -0.0}
    )
    odd["occurred_at"] = odd["occurred_at"].replace("Z", "+02:00")
    later = device.event("arrived", 5, shipment_id=job.shipment_id, data={"tiny": 1e-7})
    await device.push([plain, odd, later])
    response = await api.patch(f"/v1/shipments/{job.shipment_id}", {"notes": "side door"})
    assert response.status_code == 200
    events = await stored_chain(db, job.shipment_id)
    assert [e["chain_seq"] for e in events] == list(range(1, 8))
    assert [e["chain_hash"] for e in events] == chain(events, GENESIS)
    document = (await api.get(f"/v1/shipments/{job.shipment_id}/evidence")).content
    assert verify_bytes(document, None).ok
