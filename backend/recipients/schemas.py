"""What a recipient sees and sends through the tracking link."""

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.lib.geo import Point
from backend.shipments.schemas import Window

InstructionType = Literal["reschedule", "safe_drop", "pickup_point"]


class Reschedule(msgspec.Struct, tag_field="type", tag="reschedule", forbid_unknown_fields=True):
    """Another day (`date`) or a time window (`window`): exactly one of the two."""

    date: dt.date | None = None
    window: Window | None = None

    def __post_init__(self) -> None:
        if (self.date is None) == (self.window is None):
            raise ValueError("give either date or window")


class SafeDrop(msgspec.Struct, tag_field="type", tag="safe_drop", forbid_unknown_fields=True):
    location_note: Annotated[str, Meta(min_length=3, max_length=500)]


class PickupPointChoice(
    msgspec.Struct, tag_field="type", tag="pickup_point", forbid_unknown_fields=True
):
    pickup_point_id: UUID


Instruction = Reschedule | SafeDrop | PickupPointChoice


class HistoryItem(msgspec.Struct):
    at: dt.datetime
    text: str


class DriverPosition(msgspec.Struct):
    location: Point
    at: dt.datetime


class Option(msgspec.Struct, omit_defaults=True):
    """An instruction the recipient may give now, or why not (`reason`)."""

    type: InstructionType
    available: bool
    reason: str | None = None


class CurrentInstruction(msgspec.Struct):
    type: InstructionType
    at: dt.datetime
    text: str
    details: dict[str, Any]


class PickupPointOption(msgspec.Struct):
    id: UUID
    name: str
    location: Point
    distance_m: int
    opening_hours: dict[str, Any] | None


class PickupPointList(msgspec.Struct):
    items: list[PickupPointOption]
    max_distance_m: int


class PodSummary(msgspec.Struct):
    handoff: str
    delivered_at: dt.datetime
    text: str
    photo_sha256s: list[str]


class TrackingView(msgspec.Struct):
    """`eta`, `stops_before` and `driver_position` only while the shipment is on a route on
    the road; `driver_position` only when out for delivery and within a few stops."""

    tracking_number: Annotated[str, Meta(description="Short, for people")]
    status: Annotated[str, Meta(description="The shipment's status code")]
    status_text: Annotated[str, Meta(description="The status in plain words")]
    destination: Annotated[
        str, Meta(description="Postal code and city only: the full address is not shown")
    ]
    window: Annotated[Window | None, Meta(description="The delivery window, if any")]
    eta: Annotated[dt.datetime | None, Meta(description="Estimated arrival, while on the road")]
    stops_before: Annotated[
        int | None, Meta(description="Stops the driver makes before yours, while on the road")
    ]
    driver_position: Annotated[
        DriverPosition | None, Meta(description="Shown only when the driver is close")
    ]
    history: Annotated[
        list[HistoryItem], Meta(description="What happened, in plain words, oldest first")
    ]
    instruction: Annotated[
        CurrentInstruction | None,
        Meta(description="Your latest instruction (reschedule, safe drop, pickup point)"),
    ]
    pod: Annotated[PodSummary | None, Meta(description="The proof of delivery, once delivered")]
    pin: Annotated[
        str | None, Meta(description="The code to give the driver, when the delivery needs one")
    ]
    options: Annotated[list[Option], Meta(description="What you may still change, and how")]
