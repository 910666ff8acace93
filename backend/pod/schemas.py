"""POD and blob shapes at the boundary, and what push hands over for each delivery."""

from datetime import datetime
from uuid import UUID

import msgspec

from backend.lib.geo import Point
from backend.sync.schemas import DeliveredData, Location


class Delivery(msgspec.Struct, frozen=True):
    """A fresh `delivered` event as push stored it: who, when (effective time), where, what."""

    event_id: UUID
    shipment_id: UUID
    driver_id: UUID | None  # None: a partner carrier's delivery (device_id "partner:<org>")
    device_id: str
    effective_at: datetime
    location: Location | None
    data: DeliveredData


class PodRead(msgspec.Struct):
    id: UUID
    shipment_id: UUID
    status: str
    handoff: str
    recipient_name: str | None
    signature_sha256: str | None
    photo_sha256s: list[str]
    pin_result: str
    age_verified: bool | None
    min_age: int | None
    driver_id: UUID | None
    device_id: str | None
    effective_at: datetime
    location: Point | None
    accuracy_m: float | None
    distance_m: float | None
    geofence_m: float | None
    flags: list[str]
    missing_blobs: list[str]
    missing_requirements: list[str]
    created_at: datetime
    updated_at: datetime


class RecipientPod(msgspec.Struct, omit_defaults=True):
    """What the recipient may see: never the driver, the place or the signature."""

    handoff: str
    delivered_at: datetime
    photo_sha256s: list[str] = []


class BlobStored(msgspec.Struct):
    sha256: str
    content_type: str
    size_bytes: int
    created: bool
