import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

MAX_STOPS = 500
RouteStatus = Literal["draft", "published", "in_progress", "completed", "cancelled"]


class StopIn(msgspec.Struct, forbid_unknown_fields=True):
    shipment_id: UUID


Stops = Annotated[list[StopIn], Meta(max_length=MAX_STOPS, description="in delivery order")]


class RouteCreate(msgspec.Struct, forbid_unknown_fields=True):
    driver_id: UUID
    hub_id: UUID
    date: dt.date
    stops: Stops = msgspec.field(default_factory=list)


class RouteStopsUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """The full desired order: stops left out are removed, new ones added, the rest reordered."""

    stops: Stops


class RouteReassign(msgspec.Struct, forbid_unknown_fields=True):
    driver_id: UUID


class StopRead(msgspec.Struct):
    id: UUID
    shipment_id: UUID
    sequence: int
    eta: dt.datetime | None = None  # estimated arrival, while the route is on the road


class RouteRead(msgspec.Struct):
    id: UUID
    driver_id: UUID
    hub_id: UUID
    date: dt.date
    status: RouteStatus
    published_at: dt.datetime | None
    stops: list[StopRead]
    created_at: dt.datetime
    updated_at: dt.datetime
