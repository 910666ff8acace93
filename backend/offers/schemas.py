import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.lib.geo import Point

AwareTime = Annotated[dt.datetime, Meta(tz=True)]


class Pay(msgspec.Struct, forbid_unknown_fields=True):
    amount: Annotated[float, Meta(ge=0, le=100_000)]
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]


class OfferCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Exactly one of `route_id` (a draft route) and `shipment_ids`. `courier_ids` limits who is
    considered; `radius_m` keeps those whose position is that close to the anchor (the hub, or
    the first stop with `anchor: "first_stop"`)."""

    pay: Pay
    expires_at: AwareTime
    route_id: UUID | None = None
    shipment_ids: Annotated[list[UUID], Meta(min_length=1, max_length=500)] | None = None
    courier_ids: Annotated[list[UUID], Meta(min_length=1, max_length=1_000)] | None = None
    radius_m: Annotated[float, Meta(gt=0, le=200_000)] | None = None
    anchor: Literal["hub", "first_stop"] = "hub"


class Exclusion(msgspec.Struct):
    courier_id: UUID
    reasons: list[str]


class OfferRead(msgspec.Struct):
    id: UUID
    status: Literal["open", "accepted", "expired", "withdrawn"]
    hub_id: UUID
    route_id: UUID | None
    shipment_ids: list[UUID]
    parcels: int
    weight_kg: float
    pay: Pay
    window_start: dt.datetime
    window_end: dt.datetime
    expires_at: dt.datetime
    offered: list[UUID]
    excluded: list[Exclusion]
    out_of_range: int  # couriers excluded only by distance (listed when named in courier_ids)
    winner_driver_id: UUID | None
    created_at: dt.datetime


class CourierOffer(msgspec.Struct):
    """An offer as the courier sees it (also the `data` of `entity: offer` in pull)."""

    id: UUID
    status: Literal["open", "accepted", "expired", "withdrawn"]
    hub_id: UUID
    pickup: Point
    stops: int
    parcels: int
    weight_kg: float
    pay: Pay
    window_start: dt.datetime
    window_end: dt.datetime
    expires_at: dt.datetime
    response: Literal["accepted", "declined"] | None
    won: bool


class Accepted(msgspec.Struct):
    offer_id: UUID
    route_id: UUID
