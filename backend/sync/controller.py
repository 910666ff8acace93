from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter

from backend.auth.guards import requires
from backend.auth.schemas import Principal
from backend.config import Settings
from backend.db.session import DbSession
from backend.lib.errors import (
    Forbidden,
    Invalid,
    PayloadTooLarge,
    decode_body,
)
from backend.lib.openapi import examples, raises, raw_body, raw_response, samples
from backend.sync.documented import PullPage, PushBatch
from backend.sync.pull import PullService
from backend.sync.push import PushService
from backend.sync.schemas import PullResponse, PushRequest, PushResponse


class SyncController(Controller):
    path = "/v1/sync"
    tags = ["sync"]
    guards = [requires("driver")]

    @post(
        "/push",
        status_code=200,
        opt=raises(
            Forbidden,
            (PayloadTooLarge, "too_many_events", "too_many_pings"),
            (Forbidden, "token_without_device"),
            (Invalid, "batch_id_reused", "device_mismatch", "too_many_events"),
            max_body="sync_max_bytes",
        )
        | raw_body(PushBatch)
        | raw_response("application/json", schema=PushResponse, description="One result per event")
        | examples(request=samples.PUSH_REQUEST, response=samples.PUSH_RESPONSE),
    )
    async def push(
        self,
        request: Request[Principal, Any, Any],
        db_session: DbSession,
        settings: NamedDependency[Settings],
    ) -> PushResponse | Response[bytes]:
        """Apply a batch of events captured offline; one result per event, in request order.

        Body: `{device_id, batch_id, events: [...], skipped?: [{first_seq, last_seq}]}` (see
        docs/sync-protocol.md). A malformed event is rejected alone and kept in quarantine; the
        others are applied.
        """
        declared = int(request.headers.get("content-length") or 0)
        if declared > settings.sync_max_bytes:
            raise PayloadTooLarge(f"A push may carry at most {settings.sync_max_bytes} bytes")
        body = await request.body()
        if len(body) > settings.sync_max_bytes:
            raise PayloadTooLarge(f"A push may carry at most {settings.sync_max_bytes} bytes")
        # Each event is validated alone (a bad one is rejected and quarantined, never the batch).
        data = decode_body(body, PushRequest, unchecked=("events",))
        if len(data.events) > settings.sync_max_events:
            raise PayloadTooLarge(
                f"A push may carry at most {settings.sync_max_events} events",
                code="too_many_events",
            )
        result = await PushService(
            db_session,
            max_events=settings.sync_max_events,
            geofence_m=settings.pod_geofence_m,
            position_retention_days=settings.tracking_retention_days,
        ).push(request.user, data)
        if isinstance(result, bytes):
            return Response(result, media_type="application/json")
        return result

    @get(
        "/pull",
        opt=raises(Forbidden, (Invalid, "bad_cursor"))
        | raw_response("application/json", schema=PullPage, description="A snapshot or changes")
        | examples(response=samples.PULL_SNAPSHOT),
    )
    async def pull(
        self,
        request: Request[Principal, Any, Any],
        db_session: DbSession,
        cursor: Annotated[
            str | None,
            Parameter(description="cursor of the last pull; absent or empty: a snapshot"),
        ] = None,
        limit: Annotated[
            int,
            Parameter(ge=1, le=5000, description="changes per delta page (a snapshot is whole)"),
        ] = 1000,
    ) -> PullResponse:
        """No cursor (or an empty one): a snapshot of your active manifests, whole. With a
        cursor: the changes since, about `limit` per page."""
        if request.user.driver_id is None:
            raise Forbidden("Only drivers pull manifests")
        return await PullService(db_session).pull(request.user.driver_id, cursor, limit)
