from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from backend.lib.geo import Point

Text200 = Annotated[str, Meta(min_length=1, max_length=200)]
ServiceLevel = Literal["standard", "express", "same_day"]


class Recipient(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: Text200
    phone: Annotated[str, Meta(min_length=3, max_length=40)] | None = None
    email: Annotated[str, Meta(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None


class Address(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    line1: Text200
    city: Annotated[str, Meta(min_length=1, max_length=100)]
    postal_code: Annotated[str, Meta(min_length=1, max_length=20)]
    country: Annotated[str, Meta(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")]
    line2: Annotated[str, Meta(max_length=200)] | None = None


class Window(msgspec.Struct, forbid_unknown_fields=True):
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window times need a UTC offset (RFC 3339)")
        if self.end <= self.start:
            raise ValueError("window end must be after its start")


class ParcelIn(msgspec.Struct, forbid_unknown_fields=True):
    barcode: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
    weight_kg: Annotated[float, Meta(gt=0, le=1000)] | None = None


class Requirements(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    signature: bool = False
    photo: bool = False
    pin: bool = False
    min_age: Annotated[int, Meta(ge=1, le=99)] | None = None
    # The shipper lets the recipient see the delivery photo through tracking.
    share_photo: bool = False
    # Must stay cold: only a driver with the `cold_chain` skill takes it (docs/planning.md).
    cold_chain: bool = False


class ShipmentCreate(msgspec.Struct, forbid_unknown_fields=True):
    hub_id: UUID
    recipient: Recipient
    address: Address
    location: Point
    parcels: Annotated[list[ParcelIn], Meta(min_length=1, max_length=500)]
    reference: Annotated[str, Meta(min_length=1, max_length=120)] | None = None
    window: Window | None = None
    service_level: ServiceLevel = "standard"
    requirements: Requirements | None = None
    notes: Annotated[str, Meta(max_length=2000)] | None = None


class ShipmentUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """PATCH: fields left out stay as they are; `window: null` clears the window."""

    address: Address | UnsetType = UNSET
    location: Point | UnsetType = UNSET
    window: Window | UnsetType | None = UNSET
    notes: Annotated[str, Meta(max_length=2000)] | UnsetType | None = UNSET
    requirements: Requirements | UnsetType = UNSET


class BulkShipmentCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Each item is checked on its own, so one bad row does not sink the others."""

    shipments: Annotated[list[dict[str, Any]], Meta(min_length=1)]


class ParcelRead(msgspec.Struct):
    barcode: str
    weight_kg: float | None


class ShipmentRead(msgspec.Struct):
    id: UUID
    tracking_number: str
    tracking_token: str
    status: str
    hub_id: UUID
    zone_id: UUID | None
    outside_zones: bool
    reference: str | None
    recipient: dict[str, Any]
    address: dict[str, Any]
    location: Point
    window: Window | None
    service_level: str
    requirements: dict[str, Any]
    notes: str | None
    parcels: list[ParcelRead]
    attempts: int
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DriverShipmentRead(msgspec.Struct):
    """A shipment as its driver sees it: what delivering it takes, and nothing that stands for
    the recipient (no tracking token, which opens the recipient's page and its PIN; no email).
    docs/security.md has the view of each role."""

    id: UUID
    tracking_number: str
    status: str
    hub_id: UUID
    zone_id: UUID | None
    reference: str | None
    recipient: dict[str, Any]  # name and phone only
    address: dict[str, Any]
    location: Point
    window: Window | None
    service_level: str
    requirements: dict[str, Any]
    notes: str | None
    parcels: list[ParcelRead]
    attempts: int
    delivered_at: datetime | None
    updated_at: datetime


# The recipient's fields a driver sees; their email stays with dispatch.
DRIVER_RECIPIENT_FIELDS = ("name", "phone")
# Event data a driver does not see: the PIN a driver entered at a delivery (another driver on a
# redelivery would learn it).
DRIVER_HIDDEN_EVENT_DATA = ("pin",)


class BulkCreated(msgspec.Struct):
    index: int
    id: UUID
    tracking_number: str


class BulkError(msgspec.Struct, omit_defaults=True):
    index: int
    status: int
    detail: str
    errors: list[dict[str, str]]
    code: str | None = None
    # For a reference already taken: the shipment that has it.
    existing_id: UUID | None = None


class ShipmentLookup(msgspec.Struct, frozen=True):
    """Find one shipment by what an integrator knows of it; unset filters do not apply."""

    reference: str | None = None
    barcode: str | None = None
    tracking_number: str | None = None


class BulkResult(msgspec.Struct):
    created: list[BulkCreated]
    errors: list[BulkError]


class EventRead(msgspec.Struct):
    id: UUID
    type: str
    source: str
    occurred_at: datetime
    effective_at: datetime
    received_at: datetime
    data: dict[str, Any]
    anomalies: list[str]
    device_id: str | None = None
    seq: int | None = None


class EventList(msgspec.Struct):
    items: list[EventRead]
