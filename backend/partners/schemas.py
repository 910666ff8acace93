from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.lib.geo import Area

Kind = Literal["shipper", "regional_courier", "cooperative", "retail_network", "crowd_platform"]
Scope = Literal["shipments:write", "shipments:read", "events:write", "webhooks:manage"]
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]


class OrganizationCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    kind: Kind
    contact_email: Annotated[str, Meta(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    service_area: Area | None = None
    capacity_per_day: Annotated[int, Meta(ge=0, le=10_000_000)] | None = None


class OrganizationRead(msgspec.Struct):
    id: UUID
    name: str
    kind: str
    contact_email: str | None
    service_area: Area | None
    capacity_per_day: int | None
    active: bool
    created_at: datetime


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Scopes default to what the organisation's kind needs (docs/partners.md)."""

    name: Name | None = None
    scopes: Annotated[list[Scope], Meta(min_length=1, max_length=4)] | None = None
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at needs a UTC offset (RFC 3339)")


class ApiKeyRead(msgspec.Struct):
    id: UUID
    organization_id: UUID
    prefix: str
    name: str | None
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(msgspec.Struct):
    """The key itself appears here once and is never shown again."""

    id: UUID
    key: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None


class ApiKeyUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Expire a key at a time (a rotation's overlap), or now."""

    expires_at: datetime

    def __post_init__(self) -> None:
        if self.expires_at.tzinfo is None:
            raise ValueError("expires_at needs a UTC offset (RFC 3339)")


class HandoverRequest(msgspec.Struct, forbid_unknown_fields=True):
    organization_id: UUID
    reason: Annotated[str, Meta(max_length=500)] | None = None


class RouteHandoverResult(msgspec.Struct):
    route_id: UUID
    organization_id: UUID
    shipment_ids: list[UUID]


class PartnerEventsRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Each event is checked on its own (the device event schema), so one bad event is
    rejected and quarantined alone."""

    events: Annotated[list[Any], Meta(min_length=1)]
