from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from backend.lib.geo import Point

Text200 = Annotated[str, Meta(min_length=1, max_length=200)]
ServiceLevel = Literal["standard", "express", "same_day"]


class Recipient(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: Annotated[Text200, Meta(description="Who receives the parcel")]
    phone: (
        Annotated[
            str,
            Meta(
                min_length=3,
                max_length=40,
                description="For delivery notifications and the driver's call",
            ),
        ]
        | None
    ) = None
    email: (
        Annotated[
            str,
            Meta(
                max_length=320,
                pattern=r"^[^@\s]+@[^@\s]+$",
                description="For notifications; never shown to drivers",
            ),
        ]
        | None
    ) = None


class Address(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    line1: Annotated[Text200, Meta(description="Street and number")]
    city: Annotated[str, Meta(min_length=1, max_length=100, description="City")]
    postal_code: Annotated[str, Meta(min_length=1, max_length=20, description="Postal code")]
    country: Annotated[
        str,
        Meta(
            min_length=2,
            max_length=2,
            pattern=r"^[A-Za-z]{2}$",
            description="ISO 3166-1 alpha-2 country code",
        ),
    ]
    line2: Annotated[str, Meta(max_length=200, description="Floor, flat, building")] | None = None


class Window(msgspec.Struct, forbid_unknown_fields=True):
    start: Annotated[datetime, Meta(description="Earliest delivery time (RFC 3339 with offset)")]
    end: Annotated[datetime, Meta(description="Latest delivery time; after `start`")]

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window times need a UTC offset (RFC 3339)")
        if self.end <= self.start:
            raise ValueError("window end must be after its start")


class ParcelIn(msgspec.Struct, forbid_unknown_fields=True):
    barcode: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=64,
            pattern=r"^[\x21-\x7e]+$",
            description="Unique across all parcels; printable ASCII",
        ),
    ]
    weight_kg: Annotated[float, Meta(gt=0, le=1000, description="Weight in kilograms")] | None = (
        None
    )


class Requirements(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    signature: Annotated[bool, Meta(description="The recipient signs")] = False
    photo: Annotated[bool, Meta(description="A photo of the handoff")] = False
    pin: Annotated[
        bool, Meta(description="The recipient gives the PIN shown on their tracking page")
    ] = False
    min_age: (
        Annotated[int, Meta(ge=1, le=99, description="The recipient's age is checked")] | None
    ) = None
    # The shipper lets the recipient see the delivery photo through tracking.
    share_photo: Annotated[
        bool, Meta(description="The recipient may see the delivery photo through tracking")
    ] = False
    # Must stay cold: only a driver with the `cold_chain` skill takes it (docs/planning.md).
    cold_chain: Annotated[
        bool, Meta(description="Only drivers with the `cold_chain` skill take it")
    ] = False


class ShipmentCreate(msgspec.Struct, forbid_unknown_fields=True):
    hub_id: Annotated[UUID, Meta(description="The hub the shipment leaves from")]
    recipient: Annotated[Recipient, Meta(description="Who receives it")]
    address: Annotated[Address, Meta(description="Where, in words")]
    location: Annotated[
        Point,
        Meta(description="Where, as a GeoJSON point `[lon, lat]`; the zone containing it is found"),
    ]
    parcels: Annotated[
        list[ParcelIn],
        Meta(
            min_length=1, max_length=500, description="One or more parcels, each with its barcode"
        ),
    ]
    reference: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=120,
                description="The shipper's own reference; unique per shipper",
            ),
        ]
        | None
    ) = None
    window: Annotated[
        Window | None, Meta(description="The delivery window, if the recipient has one")
    ] = None
    service_level: Annotated[ServiceLevel, Meta(description="standard, express or same_day")] = (
        "standard"
    )
    requirements: Annotated[Requirements | None, Meta(description="Proofs the delivery needs")] = (
        None
    )
    notes: Annotated[str, Meta(max_length=2000, description="For the driver")] | None = None


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
    tracking_number: Annotated[str, Meta(description="Short, for people and labels")]
    tracking_token: Annotated[
        str,
        Meta(
            description="The unguessable key of the recipient's tracking page (`/v1/track/{token}`)"
        ),
    ]
    status: Annotated[
        str,
        Meta(
            description=(
                "created, at_hub, out_for_delivery, delivered, attempt_failed, with_partner, "
                "returned or cancelled"
            )
        ),
    ]
    hub_id: UUID
    zone_id: Annotated[UUID | None, Meta(description="The zone containing the delivery point")]
    outside_zones: Annotated[
        bool, Meta(description="The delivery point lies in no zone of the hub")
    ]
    reference: str | None
    recipient: dict[str, Any]
    address: dict[str, Any]
    location: Point
    window: Window | None
    service_level: str
    requirements: dict[str, Any]
    notes: str | None
    parcels: list[ParcelRead]
    attempts: Annotated[int, Meta(description="Delivery attempts so far")]
    delivered_at: Annotated[datetime | None, Meta(description="The delivery's effective time")]
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
