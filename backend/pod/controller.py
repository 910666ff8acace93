"""HTTP for blobs, PODs, evidence bundles and the recipient's POD summary."""

from typing import Any, Literal
from uuid import UUID

from litestar import Controller, Request, Response, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from backend.auth.guards import requires, requires_scope
from backend.auth.schemas import Principal
from backend.config import Settings
from backend.db.session import DbSession
from backend.lib.errors import Invalid, NotFound, PayloadTooLarge
from backend.lib.openapi import examples, raises, raw_body, raw_response, samples
from backend.pod.blobs import BlobService, UnsupportedMediaType
from backend.pod.evidence_service import EvidenceService
from backend.pod.models import BLOB_TYPES
from backend.pod.schemas import BlobStored, PodRead, RecipientPod
from backend.pod.service import PodService
from backend.pod.storage import StoreUnavailable, blob_store

BLOB_CACHE = {"cache-control": "private, max-age=31536000, immutable"}


class BlobController(Controller):
    path = "/v1/blobs"
    tags = ["proof of delivery"]

    @put(
        "/{sha256:str}",
        guards=[
            requires("admin", "dispatcher", "driver", "applicant", "carrier"),
            requires_scope("events:write"),
        ],
        status_code=201,
        opt=raises(
            UnsupportedMediaType,
            StoreUnavailable,
            (Invalid, "invalid", "hash_mismatch", "content_type_mismatch"),
            max_body="blob_max_bytes",
        )
        | raw_body(media_types=BLOB_TYPES, description="The file's bytes, exactly as hashed")
        | examples(response=samples.BLOB_STORED),
    )
    async def upload(
        self,
        sha256: FromPath[str],
        request: Request[Principal, Any, Any],
        db_session: DbSession,
        settings: NamedDependency[Settings],
    ) -> Response[BlobStored]:
        """Upload a photo, signature or document (content-addressed).

        Store a photo or signature named by its SHA-256 (raw bytes; `image/jpeg`,
        `image/png`, `image/webp` or `application/pdf`). 201 when new, 200 when already stored."""
        body = await _read_limited(request, settings.blob_max_bytes)
        stored = await BlobService(db_session, blob_store(settings)).put(
            sha256, request.headers.get("content-type", ""), body, request.user
        )
        return Response(stored, status_code=201 if stored.created else 200)

    @get(
        "/{sha256:str}",
        opt=raises((NotFound, "blob_missing"), StoreUnavailable) | raw_response(*BLOB_TYPES),
    )
    async def download(
        self,
        sha256: FromPath[str],
        request: Request[Principal, Any, Any],
        db_session: DbSession,
        settings: NamedDependency[Settings],
    ) -> Response[bytes]:
        """The blob's bytes, for staff and the driver or carrier whose delivery names it; else
        404."""
        data, content_type = await BlobService(db_session, blob_store(settings)).get(
            sha256.lower(), request.user
        )
        return Response(data, media_type=content_type, headers=BLOB_CACHE)


class PodController(Controller):
    path = "/v1/shipments"
    tags = ["proof of delivery"]

    @get("/{shipment_id:uuid}/pod", opt=raises((NotFound, "no_pod")))
    async def pod(
        self,
        shipment_id: FromPath[UUID],
        request: Request[Principal, Any, Any],
        db_session: DbSession,
    ) -> PodRead:
        """The shipment's proof of delivery (its latest delivery)."""
        return await PodService(db_session).get(shipment_id, request.user)

    @get(
        "/{shipment_id:uuid}/evidence",
        opt=raises(StoreUnavailable) | raw_response("application/json", "application/zip"),
    )
    async def evidence(
        self,
        shipment_id: FromPath[UUID],
        request: Request[Principal, Any, Any],
        db_session: DbSession,
        settings: NamedDependency[Settings],
        format: FromQuery[Literal["json", "zip"]] = "json",
    ) -> Response[bytes]:
        """A self-contained evidence bundle; `?format=zip` includes the blobs. Check it offline
        with `lastmile verify-evidence FILE`."""
        service = EvidenceService(db_session, blob_store(settings))
        document = await service.bundle(shipment_id, request.user, format)
        media_type = "application/zip" if format == "zip" else "application/json"
        filename = f"evidence-{shipment_id}.{format}"
        return Response(
            document,
            media_type=media_type,
            headers={"content-disposition": f'attachment; filename="{filename}"'},
        )


class TrackPodController(Controller):
    """The recipient's view through the tracking token: no sign-in, unknown token → 404."""

    path = "/v1/track"
    tags = ["tracking"]

    @get("/{token:str}/pod", exclude_from_auth=True)
    async def summary(self, token: FromPath[str], db_session: DbSession) -> RecipientPod:
        """Handoff kind and time; photo hashes when the shipper shares them."""
        return await PodService(db_session).summary_by_token(token)

    @get(
        "/{token:str}/pod/photos/{sha256:str}",
        exclude_from_auth=True,
        opt=raises(StoreUnavailable) | raw_response("image/jpeg", "image/png", "image/webp"),
    )
    async def photo(
        self,
        token: FromPath[str],
        sha256: FromPath[str],
        db_session: DbSession,
        settings: NamedDependency[Settings],
    ) -> Response[bytes]:
        """A delivery photo the shipper shares with the recipient."""
        if not await PodService(db_session).shared_photo(token, sha256):
            raise NotFound("No such photo")
        blobs = BlobService(db_session, blob_store(settings))
        data, content_type = await blobs.read_stored(sha256), await blobs.content_type(sha256)
        if data is None or content_type is None:
            raise NotFound("No such photo")
        return Response(data, media_type=content_type, headers=BLOB_CACHE)


async def _read_limited(request: Request[Any, Any, Any], limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"A blob may be at most {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"A blob may be at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
