"""Where blob bytes live, behind one small interface.

`LocalBlobStore` keeps each file at `<root>/<aa>/<bb>/<sha256>`. A write goes to a temporary
name under `<root>/tmp/`, is fsynced, renamed into place (atomic on one filesystem) and the
directory fsynced, so a reader sees either nothing or the whole file, even after a crash.
`backend/pod/s3.py` keeps them in an S3-compatible object store instead (`LASTMILE_BLOB_BACKEND`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from backend.config import Settings
from backend.lib.errors import Unavailable

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class BlobStore(Protocol):
    async def put(self, sha256: str, data: bytes) -> None:
        """Store durably; visible only once complete. Writing the same bytes again is harmless."""

    async def get(self, sha256: str) -> bytes | None: ...

    async def has(self, sha256: str) -> bool: ...

    async def delete(self, sha256: str) -> None:
        """Remove the bytes (retention of personal documents); a missing blob is no error."""


# The filesystem says "not now" (full, read-only, not ours to write, failing): a 503 the device
# retries later, never a 500.
STORE_FAULTS = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "over its quota",
    errno.EROFS: "read-only",
    errno.EACCES: "not writable",
    errno.EPERM: "not writable",
    errno.EIO: "failing (I/O error)",
}


class StoreUnavailable(Unavailable):
    code = "storage_unavailable"
    retry_after = 30


class LocalBlobStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not SHA256_HEX.match(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, sha256: str, data: bytes) -> None:
        try:
            await asyncio.to_thread(self._write, self.path(sha256), data)
        except OSError as exc:
            if exc.errno not in STORE_FAULTS:
                raise
            raise StoreUnavailable(
                f"The blob store is {STORE_FAULTS[exc.errno]}; nothing was stored. "
                "Upload the file again later."
            ) from exc

    async def get(self, sha256: str) -> bytes | None:
        path = self.path(sha256)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def has(self, sha256: str) -> bool:
        return await asyncio.to_thread(self.path(sha256).is_file)

    async def delete(self, sha256: str) -> None:
        await asyncio.to_thread(self.path(sha256).unlink, missing_ok=True)

    def _write(self, final: Path, data: bytes) -> None:
        staging = self.root / "tmp"
        staging.mkdir(parents=True, exist_ok=True)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=staging, prefix=final.name[:16] + ".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        _fsync_directory(final.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def blob_store(settings: Settings) -> BlobStore:
    """The store `LASTMILE_BLOB_BACKEND` selects (settings checked the S3 values at start)."""
    if settings.blob_backend == "s3":
        from backend.pod.s3 import S3BlobStore

        return S3BlobStore(
            endpoint_url=settings.s3_endpoint_url or "",
            bucket=settings.s3_bucket,
            access_key_id=settings.s3_access_key_id or "",
            secret_access_key=settings.s3_secret_access_key or "",
            region=settings.s3_region,
        )
    return LocalBlobStore(settings.blob_dir)


# What the first bytes of each accepted type look like.
def sniff_type(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None
