"""Gathers a shipment's evidence bundle from the database and the blob store."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.schemas import Principal
from backend.lib.clock import utcnow
from backend.lib.errors import NotFound
from backend.lib.geo import point_from_db
from backend.pod.evidence import build_bundle, zip_bundle
from backend.pod.repository import PodRepository
from backend.pod.service import PodService
from backend.pod.storage import BlobStore


class EvidenceService:
    def __init__(self, session: AsyncSession, store: BlobStore) -> None:
        self.repo = PodRepository(session)
        self.pods = PodService(session)
        self.store = store

    async def bundle(
        self, shipment_id: UUID, principal: Principal, form: Literal["json", "zip"]
    ) -> bytes:
        """The bundle as JSON bytes, or a zip of it with the blob bytes. Staff only for now
        (partners once shipments can be handed over); others get the 404 of a missing one."""
        shipment = await self.repo.shipment(shipment_id) if principal.is_staff else None
        if shipment is None:
            raise NotFound("No such shipment")
        pods = await self.pods.all_for(shipment_id)
        named = sorted({h for pod in pods for h in [pod.signature_sha256, *pod.photo_sha256s] if h})
        files: dict[str, bytes] = {}
        blobs = []
        for blob in await self.repo.blobs(named):
            data = await self.store.get(blob.sha256) if form == "zip" else None
            if data is not None:
                files[blob.sha256] = data
            blobs.append(
                {
                    "sha256": blob.sha256,
                    "content_type": blob.content_type,
                    "size_bytes": blob.size_bytes,
                    "file": f"blobs/{blob.sha256}" if data is not None else None,
                }
            )
        document = build_bundle(
            shipment={
                "id": str(shipment.id),
                "tracking_number": shipment.tracking_number,
                "reference": shipment.reference,
                "status": shipment.status,
                "requirements": shipment.requirements,
                "location": msgspec.to_builtins(point_from_db(shipment.location)),
                "created_at": msgspec.to_builtins(shipment.created_at),
            },
            events=await self.repo.chained_events(shipment_id),
            pods=msgspec.to_builtins(pods),
            blobs=blobs,
            unsealed_events=await self.repo.unsealed_count(shipment_id),
            generated_at=msgspec.to_builtins(utcnow()),
        )
        return zip_bundle(document, files) if form == "zip" else msgspec.json.encode(document)
