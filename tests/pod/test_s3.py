"""The S3-compatible blob store, against a real S3-compatible server process (moto's server
mode, when installed) and AWS's published Signature V4 example."""

import io
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar import Litestar

from backend.app import create_app
from backend.bench.server import free_port
from backend.config import Settings
from backend.pod.s3 import EMPTY_SHA256, S3BlobStore, sign
from tests.conftest import _truncate, make_settings
from tests.pod.support import blob_bytes, delivery, sha, upload


def test_signatures_match_the_aws_example() -> None:
    """The GET-object example of the SigV4 documentation, byte for byte."""
    headers = sign(
        "GET",
        "https://examplebucket.s3.amazonaws.com/test.txt",
        {"Range": "bytes=0-9"},
        EMPTY_SHA256,
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
        now=datetime(2013, 5, 24, tzinfo=UTC),
    )
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    # A dev dependency: beside this interpreter, whether or not the venv is on PATH.
    beside = Path(sys.executable).parent / "moto_server"
    executable = str(beside) if beside.exists() else shutil.which("moto_server")
    if executable is None:
        pytest.skip("no S3-compatible server here (moto_server is not installed)")
    port = free_port()
    server = subprocess.Popen(
        [executable, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    pytest.fail("moto_server exited at start")
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
async def store(s3_endpoint: str) -> S3BlobStore:
    store = S3BlobStore(
        endpoint_url=s3_endpoint,
        bucket="lastmile-test",
        access_key_id="test-key",
        secret_access_key="test-secret",
    )
    await store.create_bucket()
    return store


async def test_objects_round_trip(store: S3BlobStore) -> None:
    data = blob_bytes()
    assert not await store.has(sha(data))
    assert await store.get(sha(data)) is None
    await store.put(sha(data), data)
    await store.put(sha(data), data)  # the same bytes again: harmless
    assert await store.has(sha(data))
    assert await store.get(sha(data)) == data


@pytest.fixture
def s3_settings(s3_endpoint: str, tmp_path) -> Settings:
    return make_settings(
        blob_backend="s3",
        blob_dir=str(tmp_path / "unused"),
        s3_endpoint_url=s3_endpoint,
        s3_bucket="lastmile-test",
        s3_access_key_id="test-key",
        s3_secret_access_key="test-secret",
    )


@pytest.fixture
async def app(
    s3_settings: Settings, db: asyncpg.Pool, store: S3BlobStore
) -> AsyncIterator[Litestar]:
    await _truncate(db)
    yield create_app(s3_settings)


async def test_the_api_keeps_blobs_in_the_object_store(api, db, store, tmp_path) -> None:
    job = await delivery(api, {"photo": True})
    photo = blob_bytes("image/png")
    assert (await upload(job.device.api, photo, "image/png")).status_code == 201
    assert not (tmp_path / "unused").exists()  # nothing on local disk
    assert await store.get(sha(photo)) == photo
    await job.deliver({"photo_sha256s": [sha(photo)]})
    assert (await job.pod())["status"] == "complete"
    read = await job.device.api.get(f"/v1/blobs/{sha(photo)}")
    assert (read.status_code, read.content) == (200, photo)
    bundle = await api.get(f"/v1/shipments/{job.shipment_id}/evidence?format=zip")
    assert bundle.status_code == 200
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        assert archive.read(f"blobs/{sha(photo)}") == photo
