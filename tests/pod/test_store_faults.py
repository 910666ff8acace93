"""A full or unwritable blob store answers 503 with Retry-After; nothing is recorded.

The store's directory is a real filesystem in trouble: a tiny tmpfs filled to the brim, and a
tmpfs mounted read-only (mounting needs root, as in CI's containers). Without root, a directory
made read-only with chmod stands in for the second, and the first is skipped.
"""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.lib.errors import PROBLEM_JSON
from tests.pod.support import blob_bytes, upload


def _mount(target: Path, options: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def blob_dir(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """The store's directory in the state the test names: "full" or "read-only"."""
    target = tmp_path / "blobs"
    fault = request.param
    if fault == "full":
        if os.geteuid() != 0 or not _mount(target, "size=64k"):
            pytest.skip("filling a store needs a tmpfs, and mounting one needs root")
        (target / "tmp").mkdir()
        (target / "filler").write_bytes(b"\0" * 60 * 1024)
    elif os.geteuid() == 0:
        if not _mount(target, "ro,size=64k"):
            pytest.skip("a read-only store as root needs a read-only tmpfs mount")
    else:
        target.mkdir()
        target.chmod(0o500)
    yield target
    if os.path.ismount(target):
        subprocess.run(["umount", str(target)], check=True)
    else:
        target.chmod(0o700)


@pytest.mark.parametrize("blob_dir", ["full", "read-only"], indirect=True)
async def test_a_store_that_cannot_take_the_file_answers_503(api, db, blob_dir) -> None:
    data = blob_bytes(size=20 * 1024)
    response = await upload(api, data)
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["retry-after"] == "30"
    assert response.json()["code"] == "storage_unavailable"
    assert await db.fetchval("SELECT count(*) FROM blobs") == 0
