"""The tracking link's JSON API. No sign-in: the unguessable token is the credential, and an
unknown token is a plain 404."""

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from backend.config import Settings
from backend.db.replicas import ReadDbSession, ReplicaRouter
from backend.db.session import DbSession
from backend.lib.errors import Conflict, Invalid, RateLimited
from backend.lib.openapi import raises
from backend.limits.limiter import RateLimiter
from backend.recipients.schemas import Instruction, PickupPointList, TrackingView
from backend.recipients.service import RecipientService

Token = Annotated[str, Parameter(description="the shipment's tracking token")]


class RecipientController(Controller):
    path = "/v1/track"
    tags = ["recipients"]
    opt = {"exclude_from_auth": True}

    @get("/{token:str}")
    async def view(
        self,
        token: FromPath[Token],
        read_db_session: ReadDbSession,
        settings: NamedDependency[Settings],
    ) -> TrackingView:
        """Track a shipment (recipient's view).

        Status and history in plain words, window or ETA, stops before yours, the driver's
        position when close, the proof of delivery, the PIN when one is needed, and what you
        may still change. May be served by a replica a few seconds behind, except right after
        an instruction from the same caller."""
        return await RecipientService(read_db_session, settings).view(token)

    @post(
        "/{token:str}/instructions",
        status_code=201,
        opt=raises(
            RateLimited,
            (Conflict, "shipment_closed", "with_partner", "driver_nearby", "proof_required"),
            (Invalid, "bad_date", "bad_window", "unknown_pickup_point", "pickup_point_too_far"),
        ),
    )
    async def instruct(
        self,
        token: FromPath[Token],
        data: JSONBody[Instruction],
        db_session: DbSession,
        settings: NamedDependency[Settings],
        limiter: NamedDependency[RateLimiter],
        replicas: NamedDependency[ReplicaRouter],
    ) -> Response[TrackingView]:
        """Give a delivery instruction: reschedule, safe drop or pickup point.

        `{type: reschedule, date | window}`, `{type: safe_drop, location_note}` or
        `{type: pickup_point, pickup_point_id}`; answers the updated tracking view. 409 once
        delivered or once the driver is within a few stops; 429 past the per-shipment rate."""
        await limiter.enforce("instructions", token)
        view = await RecipientService(db_session, settings).instruct(token, data)
        return Response(view, status_code=201, cookies=[replicas.remember_write(token)])

    @get("/{token:str}/pickup-points")
    async def pickup_points(
        self,
        token: FromPath[Token],
        read_db_session: ReadDbSession,
        settings: NamedDependency[Settings],
    ) -> PickupPointList:
        """The nearest pickup points that can take this parcel, nearest first."""
        return await RecipientService(read_db_session, settings).pickup_points(token)
