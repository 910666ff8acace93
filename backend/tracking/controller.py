from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from backend.auth.guards import requires, staff_only
from backend.auth.schemas import Principal
from backend.config import Settings
from backend.db.replicas import ReadDbSession
from backend.db.session import DbSession
from backend.lib.errors import Forbidden, Invalid, PayloadTooLarge, decode_body
from backend.lib.openapi import raises, raw_body
from backend.tracking.schemas import PingBatch, PingResult, PositionCollection, TrackFeature
from backend.tracking.service import TrackingService


class TrackingController(Controller):
    path = "/v1/tracking"
    tags = ["tracking"]

    @post(
        "/pings",
        guards=[requires("driver")],
        status_code=200,
        opt=raises(
            (PayloadTooLarge, "too_many_pings"),
            (Forbidden, "token_without_device"),
            (Invalid, "device_mismatch"),
        )
        | raw_body(PingBatch),
    )
    async def pings(
        self,
        request: Request[Principal, Any, Any],
        db_session: DbSession,
        settings: NamedDependency[Settings],
    ) -> PingResult:
        """Store location pings: `{device_id, pings: [{at, lon, lat, accuracy_m?, speed_mps?,
        heading?}]}`, at most `LASTMILE_TRACKING_MAX_PINGS` per call. Replays are harmless;
        a late ping never moves the latest position backwards."""
        batch = decode_body(await request.body(), PingBatch)
        if len(batch.pings) > settings.tracking_max_pings:
            raise PayloadTooLarge(
                f"At most {settings.tracking_max_pings} pings per call", code="too_many_pings"
            )
        service = TrackingService(db_session, retention_days=settings.tracking_retention_days)
        return await service.ingest_pings(request.user, batch)

    @get("/positions", guards=[staff_only])
    async def positions(
        self,
        read_db_session: ReadDbSession,
        settings: NamedDependency[Settings],
        hub_id: FromQuery[UUID | None] = None,
    ) -> PositionCollection:
        """Latest driver positions (GeoJSON).

        Latest position of each active driver seen in the last 24 h, as GeoJSON, with
        `age_seconds` and `stale` (older than `LASTMILE_TRACKING_STALE_SECONDS`). May be served
        by a replica up to `LASTMILE_REPLICA_MAX_LAG_SECONDS` behind."""
        service = TrackingService(read_db_session)
        return await service.positions(hub_id, settings.tracking_stale_seconds)


class DriverTrackController(Controller):
    path = "/v1/drivers"
    tags = ["tracking"]

    @get(
        "/{driver_id:uuid}/track",
        guards=[requires("admin", "dispatcher", "driver")],
        opt=raises((Invalid, "invalid", "bad_range", "range_too_long")),
    )
    async def track(
        self,
        driver_id: FromPath[UUID],
        db_session: DbSession,
        request: Request[Principal, Any, Any],
        start: Annotated[datetime | None, QueryParameter(name="from")] = None,
        end: Annotated[datetime | None, QueryParameter(name="to")] = None,
    ) -> TrackFeature:
        """A driver's track over a time range (GeoJSON).

        The driver's fixes between `from` and `to` (default: the last 12 hours, at most
        7 days) as a GeoJSON LineString Feature; drivers may read only their own."""
        return await TrackingService(db_session).track(driver_id, request.user, start, end)
