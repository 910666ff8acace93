"""The courier API's boundary: applications, documents, review, checks, availability."""

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from backend.auth.schemas import Email, Password
from backend.lib.geo import Point

VehicleKind = Literal["bike", "cargo_bike", "scooter", "car", "van"]
DocumentKind = Literal[
    "id_card", "drivers_license", "insurance", "vehicle_registration", "right_to_work"
]
ApplicationStatus = Literal[
    "draft",
    "submitted",
    "under_review",
    "checks_pending",
    "approved",
    "rejected",
    "active",
    "suspended",
    "offboarded",
]
# Free text: no NUL or other control characters (PostgreSQL refuses NUL in text), tabs and
# line breaks allowed.
PLAIN_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Text = Annotated[str, Meta(min_length=1, max_length=200, pattern=PLAIN_TEXT)]
Reason = Annotated[str, Meta(min_length=1, max_length=2000, pattern=PLAIN_TEXT)]
City = Annotated[str, Meta(min_length=1, max_length=100, pattern=PLAIN_TEXT)]
Sha256 = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]
ClockTime = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]


class Vehicle(msgspec.Struct, forbid_unknown_fields=True):
    kind: VehicleKind
    plate: Annotated[str, Meta(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9 -]+$")] | None = (
        None
    )
    capacity_parcels: Annotated[int, Meta(ge=1, le=10_000)] | None = None
    capacity_kg: Annotated[float, Meta(gt=0, le=10_000)] | None = None


class AvailabilitySlot(msgspec.Struct, forbid_unknown_fields=True):
    """A weekly slot: ISO weekday (1 = Monday) and `HH:MM` times in UTC, start before end."""

    weekday: Annotated[int, Meta(ge=1, le=7)]
    start: ClockTime
    end: ClockTime

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError("start must be before end")


Availability = Annotated[list[AvailabilitySlot], Meta(max_length=50)]
ZoneIds = Annotated[list[UUID], Meta(max_length=50)]


class ApplicationCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Text
    email: Email
    phone: Annotated[str, Meta(min_length=3, max_length=40, pattern=r"^\+?[0-9 ()-]+$")]
    password: Password
    city: City
    vehicle: Vehicle
    preferred_zone_ids: ZoneIds = msgspec.field(default_factory=list)
    availability: Availability = msgspec.field(default_factory=list)


class ApplicationUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a draft; fields left out stay as they are."""

    name: Text | UnsetType = UNSET
    phone: (
        Annotated[str, Meta(min_length=3, max_length=40, pattern=r"^\+?[0-9 ()-]+$")] | UnsetType
    ) = UNSET
    city: City | UnsetType = UNSET
    vehicle: Vehicle | UnsetType = UNSET
    preferred_zone_ids: ZoneIds | UnsetType = UNSET
    availability: Availability | UnsetType = UNSET


class ApplicationCreated(msgspec.Struct):
    id: UUID
    status: ApplicationStatus
    applicant_token: str


class DocumentRead(msgspec.Struct):
    id: UUID
    kind: DocumentKind
    blob_sha256: str
    expires_on: dt.date | None
    status: Literal["pending", "verified", "rejected", "superseded"]
    review_reason: str | None
    created_at: dt.datetime


class TransitionRead(msgspec.Struct):
    from_status: str
    to_status: str
    actor_kind: str
    actor_id: UUID | None
    reason: str | None
    at: dt.datetime


class CheckRead(msgspec.Struct):
    id: UUID
    provider: str
    status: Literal["requested", "clear", "consider", "failed"]
    created_at: dt.datetime
    completed_at: dt.datetime | None


class ApplicationRead(msgspec.Struct):
    id: UUID
    status: ApplicationStatus
    name: str
    email: str
    email_verified: bool
    phone: str
    city: str
    vehicle: Vehicle
    preferred_zone_ids: list[UUID]
    availability: list[AvailabilitySlot]
    driver_id: UUID | None
    missing_documents: list[str]
    documents: list[DocumentRead]
    checks: list[CheckRead]
    transitions: list[TransitionRead]
    created_at: dt.datetime
    status_changed_at: dt.datetime


class ApplicationSummary(msgspec.Struct):
    id: UUID
    status: ApplicationStatus
    name: str
    city: str
    vehicle_kind: VehicleKind
    created_at: dt.datetime
    status_changed_at: dt.datetime


class Requirements(msgspec.Struct):
    vehicle_kind: VehicleKind
    required_documents: list[DocumentKind]


class EmailCode(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, Meta(pattern=r"^[0-9]{6}$")]


class DocumentCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: DocumentKind
    blob_sha256: Sha256
    expires_on: dt.date | None = None


class ReasonBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class OptionalReason(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason | None = None


class ApproveBody(msgspec.Struct, forbid_unknown_fields=True):
    """`home_hub_id` defaults to the hub of the first preferred zone."""

    home_hub_id: UUID | None = None
    reason: Reason | None = None


class CheckResult(msgspec.Struct, forbid_unknown_fields=True):
    """The provider's callback body."""

    check_id: UUID
    status: Literal["clear", "consider", "failed"]
    reference: Annotated[str, Meta(max_length=200)] | None = None


class AvailabilityBody(msgspec.Struct, forbid_unknown_fields=True):
    availability: Availability


class OnlineBody(msgspec.Struct, forbid_unknown_fields=True):
    position: Point


class CourierStatus(msgspec.Struct):
    driver_id: UUID
    application_id: UUID
    status: ApplicationStatus
    online: bool
    online_since: dt.datetime | None
    position: Point | None
    availability: list[AvailabilitySlot]
