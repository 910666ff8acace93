from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from backend.webhooks.events import EVENT_TYPES

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Url = Annotated[str, Meta(min_length=8, max_length=2000, pattern=r"^[\x21-\x7e]+$")]
EventTypes = Annotated[list[EventType], Meta(min_length=1, max_length=len(EVENT_TYPES))]
Description = Annotated[str, Meta(max_length=500, pattern=r"^[^\x00]*$")]
DeliveryStatus = Literal["pending", "delivered", "failed"]


class EndpointCreate(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    event_types: EventTypes
    description: Description | None = None
    # Admins only: the organisation the endpoint belongs to (none: an admin endpoint that may
    # receive every event).
    organization_id: UUID | None = None


class EndpointUpdate(msgspec.Struct, forbid_unknown_fields=True):
    url: Url | UnsetType = UNSET
    event_types: EventTypes | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET


class EndpointRead(msgspec.Struct):
    id: UUID
    organization_id: UUID | None
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(msgspec.Struct):
    """The signing secret appears here (and after a rotation) only."""

    id: UUID
    secret: str
    endpoint: EndpointRead


class SecretRotated(msgspec.Struct):
    secret: str
    previous_secret_expires_at: datetime


class ReplayRequest(msgspec.Struct, forbid_unknown_fields=True):
    since: datetime

    def __post_init__(self) -> None:
        if self.since.tzinfo is None:
            raise ValueError("since needs a UTC offset (RFC 3339)")


class ReplayResult(msgspec.Struct):
    deliveries: int
    truncated: bool


class DeliveryRead(msgspec.Struct):
    id: UUID
    endpoint_id: UUID
    event_id: UUID
    webhook_id: str
    type: str
    shipment_id: UUID | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class AttemptRead(msgspec.Struct):
    attempt: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_body: str | None
