"""The push/pull wire format (docs/sync-protocol.md is the prose version)."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

DeviceId = Annotated[str, Meta(min_length=1, max_length=128)]
EventType = Literal[
    "scan_hub_in",
    "scan_loaded",
    "route_started",
    "arrived",
    "delivered",
    "delivery_failed",
    "returned_to_hub",
    "location",
    "note",
]
# Types about one shipment: they need `shipment_id`, `barcode` or `stop_id`.
SHIPMENT_TYPES = frozenset(
    {"scan_hub_in", "scan_loaded", "arrived", "delivered", "delivery_failed", "returned_to_hub"}
)


class PushRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Events stay raw here so one malformed event is rejected alone, not the whole batch."""

    device_id: DeviceId
    batch_id: UUID
    events: list[Any]


class Anchor(msgspec.Struct, forbid_unknown_fields=True):
    boot_id: Annotated[str, Meta(min_length=1, max_length=64)]
    mono_ms: Annotated[int, Meta(ge=0)]
    server_time: datetime


class Clock(msgspec.Struct, forbid_unknown_fields=True):
    boot_id: Annotated[str, Meta(min_length=1, max_length=64)]
    mono_ms: Annotated[int, Meta(ge=0)]
    anchor: Anchor | None = None


class Location(msgspec.Struct, forbid_unknown_fields=True):
    lon: Annotated[float, Meta(ge=-180, le=180)]
    lat: Annotated[float, Meta(ge=-90, le=90)]
    accuracy_m: Annotated[float, Meta(ge=0, le=100_000)] | None = None


class DeviceEvent(msgspec.Struct, forbid_unknown_fields=True):
    event_id: UUID
    seq: Annotated[int, Meta(ge=1)]
    type: EventType
    occurred_at: datetime
    shipment_id: UUID | None = None
    barcode: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    stop_id: UUID | None = None
    clock: Clock | None = None
    location: Location | None = None
    data: dict[str, Any] = {}

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at needs a UTC offset (RFC 3339)")


class DeliveredData(msgspec.Struct, forbid_unknown_fields=True):
    handoff: Literal["recipient", "neighbour", "safe_drop", "pickup_point", "locker"]
    recipient_name: Annotated[str, Meta(max_length=200)] | None = None
    pin: Annotated[str, Meta(max_length=32)] | None = None
    signature_sha256: Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")] | None = None
    photo_sha256s: list[Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]] = []
    age_verified: bool | None = None


class FailedData(msgspec.Struct, forbid_unknown_fields=True):
    reason: Literal[
        "recipient_absent",
        "no_access",
        "refused",
        "damaged",
        "address_not_found",
        "unsafe",
        "other",
    ]
    note: Annotated[str, Meta(max_length=2000)] | None = None


class NoteData(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, Meta(min_length=1, max_length=2000)]


class RouteStartedData(msgspec.Struct, forbid_unknown_fields=True):
    route_id: UUID | None = None


class EmptyData(msgspec.Struct, forbid_unknown_fields=True):
    pass


DATA_TYPES: dict[str, type[msgspec.Struct]] = {
    "delivered": DeliveredData,
    "delivery_failed": FailedData,
    "note": NoteData,
    "route_started": RouteStartedData,
}


class ShipmentStatus(msgspec.Struct):
    id: UUID
    status: str


class EventResult(msgspec.Struct, omit_defaults=True):
    event_id: UUID | None
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None
    detail: str | None = None  # for `invalid`: the field and what is wrong with it
    shipment: ShipmentStatus | None = None


class PushResponse(msgspec.Struct):
    results: list[EventResult]
    ack_seq: int
    server_time: datetime


class Change(msgspec.Struct, omit_defaults=True):
    entity: Literal["route", "stop", "shipment", "offer"]
    op: Literal["upsert", "remove"]
    id: UUID
    data: dict[str, Any] | None = None


class PullResponse(msgspec.Struct):
    """`snapshot: true` means: replace the local copy with these changes (all upserts)."""

    changes: list[Change]  # served pre-encoded (`msgspec.Raw`, built by PostgreSQL; see pull.py)
    cursor: str
    has_more: bool
    reset_required: bool
    snapshot: bool
    server_time: datetime
