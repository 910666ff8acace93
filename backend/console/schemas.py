"""The board: routes of a day with their stops, as the console's map and list draw them."""

import datetime as dt
from uuid import UUID

import msgspec

from backend.lib.geo import Point

# Statuses after which a stop needs nothing more from its driver today.
DONE_STATUSES = ("delivered", "attempt_failed", "with_partner", "returned", "cancelled")


class BoardStop(msgspec.Struct):
    id: UUID
    shipment_id: UUID
    sequence: int
    tracking_number: str
    status: str
    location: Point
    eta: dt.datetime | None
    window_start: dt.datetime | None
    window_end: dt.datetime | None


class BoardRoute(msgspec.Struct):
    """`done` counts stops whose shipment needs nothing more today (`DONE_STATUSES`)."""

    id: UUID
    driver_id: UUID
    driver_name: str
    hub_id: UUID
    date: dt.date
    status: str
    total: int
    done: int
    delivered: int
    stops: list[BoardStop]


class ConsoleConfig(msgspec.Struct):
    """What the console page needs to know before it signs in."""

    tile_url: str
    tile_attribution: str
    live_path: str = "/v1/live"
