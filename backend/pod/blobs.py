"""Blob upload and download: content-addressed, verified, visible only to who may see them."""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.schemas import Principal
from backend.lib.errors import DomainError, Invalid, NotFound
from backend.pod.models import BLOB_TYPES
from backend.pod.repository import PodRepository
from backend.pod.schemas import BlobStored
from backend.pod.service import PodService
from backend.pod.storage import SHA256_HEX, BlobStore, sniff_type

log = logging.getLogger("lastmile.pod")


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class BlobService:
    def __init__(self, session: AsyncSession, store: BlobStore) -> None:
        self.session = session
        self.store = store
        self.repo = PodRepository(session)

    async def put(
        self, sha256: str, declared_type: str, data: bytes, uploader: Principal
    ) -> BlobStored:
        """Verify, store durably, then record: the row exists only once the file is whole."""
        content_type = check_blob(sha256, declared_type, data)
        await self.repo.lock_blob_keys([sha256])
        known = await self.repo.blob(sha256)
        if known is None or not await self.store.has(sha256):
            await self.store.put(sha256, data)
        created = await self.repo.insert_blob(sha256, content_type, len(data), uploader.actor_id)
        if created:
            await PodService(self.session).blob_arrived(sha256)
        return BlobStored(sha256, content_type, len(data), created)

    async def get(self, sha256: str, principal: Principal) -> tuple[bytes, str]:
        """Staff see any blob but courier documents; a driver those named by PODs they
        recorded; others nothing."""
        if not SHA256_HEX.match(sha256):
            raise NotFound("No such blob")
        blob = await self.repo.blob(sha256)
        if blob is None or not await self._may_see(sha256, principal):
            raise NotFound("No such blob")
        data = await self.store.get(sha256)
        if data is None:
            log.error("blob %s is recorded but missing from the store", sha256)
            raise NotFound("No such blob", code="blob_missing")
        return data, blob.content_type

    async def read_stored(self, sha256: str) -> bytes | None:
        """The bytes, for callers that checked access themselves (evidence, tracking)."""
        return await self.store.get(sha256) if await self.repo.blob(sha256) else None

    async def content_type(self, sha256: str) -> str | None:
        blob = await self.repo.blob(sha256)
        return blob.content_type if blob else None

    async def _may_see(self, sha256: str, principal: Principal) -> bool:
        if await self.repo.names_courier_document(sha256):
            # Personal documents are read at /v1/courier-applications/…/content, which logs it.
            return False
        if principal.is_staff:
            return True
        if principal.driver_id is not None:
            return await self.repo.driver_delivered_blob(principal.driver_id, sha256)
        if principal.organization_id is not None:  # a carrier: PODs it recorded
            return await self.repo.device_delivered_blob(
                f"partner:{principal.organization_id}", sha256
            )
        return False


def check_blob(sha256: str, declared_type: str, data: bytes) -> str:
    """The blob's content type, or the 4xx saying what is wrong with it."""
    if not SHA256_HEX.match(sha256):
        raise Invalid("Name the blob by its lowercase hex SHA-256", field="sha256")
    content_type = declared_type.split(";", 1)[0].strip().lower()
    if content_type not in BLOB_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type must be one of {', '.join(BLOB_TYPES)}, not {content_type or 'none'}"
        )
    if hashlib.sha256(data).hexdigest() != sha256:
        raise Invalid(
            "The bytes do not hash to the SHA-256 in the path", field="sha256", code="hash_mismatch"
        )
    if sniff_type(data) != content_type:
        raise Invalid(
            f"The bytes are not {content_type}", field="content-type", code="content_type_mismatch"
        )
    return content_type
