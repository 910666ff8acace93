"""Blob upload: hash, type and size checks, atomic storage, and who may read a blob."""

import os
from pathlib import Path

import pytest

from backend.config import Settings, SettingsError
from backend.pod.storage import LocalBlobStore
from tests.pod.conftest import BLOB_LIMIT
from tests.pod.support import blob_bytes, delivery, sha, upload


def stored_files(blob_dir: Path) -> list[Path]:
    return [p for p in blob_dir.rglob("*") if p.is_file()] if blob_dir.exists() else []


@pytest.mark.parametrize(
    "content_type", ["image/jpeg", "image/png", "image/webp", "application/pdf"]
)
async def test_upload_is_created_then_already_stored(api, db, blob_dir, content_type) -> None:
    data = blob_bytes(content_type)
    first = await upload(api, data, content_type)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "sha256": sha(data),
        "content_type": content_type,
        "size_bytes": len(data),
        "created": True,
    }
    again = await upload(api, data, content_type)
    assert again.status_code == 200
    assert again.json()["created"] is False
    final = blob_dir / sha(data)[:2] / sha(data)[2:4] / sha(data)
    assert final.read_bytes() == data
    assert stored_files(blob_dir) == [final]  # no temporary file left behind
    read = await api.get(f"/v1/blobs/{sha(data)}")
    assert read.status_code == 200
    assert read.content == data
    assert read.headers["content-type"].startswith(content_type)


async def test_bytes_that_do_not_hash_to_the_name_are_refused(api, db, blob_dir) -> None:
    data = blob_bytes()
    response = await upload(api, data, name=sha(b"something else"))
    assert response.status_code == 422
    assert response.json()["code"] == "hash_mismatch"
    assert response.json()["errors"][0]["field"] == "sha256"
    assert stored_files(blob_dir) == []
    assert await db.fetchval("SELECT count(*) FROM blobs") == 0


async def test_a_truncated_upload_is_never_visible(api, db, blob_dir) -> None:
    """A connection that dropped halfway delivers part of the bytes: refused, nothing kept."""
    data = blob_bytes(size=4096)
    response = await upload(api, data[:2048], name=sha(data))
    assert response.status_code == 422
    assert stored_files(blob_dir) == []
    assert (await api.get(f"/v1/blobs/{sha(data)}")).status_code == 404


async def test_the_bytes_must_match_the_declared_type(api, db, blob_dir) -> None:
    jpeg = blob_bytes("image/jpeg")
    mismatch = await upload(api, jpeg, "image/png")
    assert mismatch.status_code == 422
    assert mismatch.json()["code"] == "content_type_mismatch"
    unsupported = await upload(api, b"hello", "text/plain")
    assert unsupported.status_code == 415
    assert unsupported.json()["code"] == "unsupported_media_type"
    not_an_image = await upload(api, b"GIF89a" + os.urandom(32), "image/jpeg")
    assert not_an_image.status_code == 422
    assert stored_files(blob_dir) == []


async def test_a_blob_over_the_limit_is_refused_unstored(api, db, blob_dir) -> None:
    data = blob_bytes(size=BLOB_LIMIT)
    response = await upload(api, data)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert stored_files(blob_dir) == []
    assert await db.fetchval("SELECT count(*) FROM blobs") == 0


async def test_a_name_that_is_not_a_sha256_is_refused(api, db) -> None:
    response = await upload(api, blob_bytes(), name="not-a-hash")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "sha256"


async def test_a_write_that_fails_midway_leaves_nothing_behind(tmp_path, monkeypatch) -> None:
    """The file only ever appears under its name whole: a crash before the rename leaves no
    file there and no temporary file either."""
    store = LocalBlobStore(tmp_path)
    data = blob_bytes()

    def crash(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("backend.pod.storage.os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        await store.put(sha(data), data)
    assert not await store.has(sha(data))
    assert await store.get(sha(data)) is None
    assert stored_files(tmp_path) == []
    monkeypatch.undo()
    await store.put(sha(data), data)
    assert await store.get(sha(data)) == data


async def test_who_may_read_a_blob(api, db) -> None:
    job = await delivery(api)
    photo = blob_bytes()
    assert (await upload(job.device.api, photo)).status_code == 201
    await job.deliver({"photo_sha256s": [sha(photo)]})
    other = await delivery(api)
    dispatcher, partner = await api.user("dispatcher"), await api.user("partner")
    path = f"/v1/blobs/{sha(photo)}"
    assert (await api.get(path)).status_code == 200
    assert (await dispatcher.get(path)).status_code == 200
    assert (await job.device.api.get(path)).content == photo
    assert (await other.device.api.get(path)).status_code == 404
    assert (await partner.get(path)).status_code == 404
    assert (await api.client.get(path)).status_code == 401


async def test_a_blob_no_delivery_names_is_staff_only(api, db) -> None:
    job = await delivery(api)
    loose = blob_bytes()
    assert (await upload(job.device.api, loose)).status_code == 201
    assert (await job.device.api.get(f"/v1/blobs/{sha(loose)}")).status_code == 404
    assert (await api.get(f"/v1/blobs/{sha(loose)}")).status_code == 200
    assert (await api.get(f"/v1/blobs/{sha(b'never uploaded')}")).status_code == 404


async def test_partners_cannot_upload(api, db) -> None:
    partner = await api.user("partner")
    assert (await upload(partner, blob_bytes())).status_code == 403


def test_defaults_and_s3_settings_are_checked_at_start() -> None:
    defaults = Settings.from_env({})
    assert (defaults.blob_max_bytes, defaults.pod_geofence_m) == (10 * 1024 * 1024, 150.0)
    assert defaults.blob_backend == "local"
    with pytest.raises(SettingsError, match="LASTMILE_S3_ENDPOINT_URL"):
        Settings.from_env({"LASTMILE_BLOB_BACKEND": "s3"})
