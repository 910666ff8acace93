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
    name: Annotated[Name, Meta(description="The organisation's name")]
    kind: Annotated[
        Kind,
        Meta(
            description=(
                "`shipper` sends shipments; the other kinds are carriers, which receive shipments"
                " by handover and report their events"
            )
        ),
    ]
    contact_email: (
        Annotated[
            str,
            Meta(
                max_length=320,
                pattern=r"^[^@\s]+@[^@\s]+$",
                description="Whom to contact at the organisation",
            ),
        ]
        | None
    ) = None
    service_area: Annotated[
        Area | None, Meta(description="Where a carrier delivers (GeoJSON Polygon or MultiPolygon)")
    ] = None
    capacity_per_day: (
        Annotated[int, Meta(ge=0, le=10_000_000, description="Parcels a carrier takes per day")]
        | None
    ) = None


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

    name: Annotated[Name | None, Meta(description="A label for people")] = None
    scopes: (
        Annotated[
            list[Scope],
            Meta(
                min_length=1,
                max_length=4,
                description=(
                    "What the key may do; left out, the default scopes of the organisation's kind"
                ),
            ),
        ]
        | None
    ) = None
    expires_at: Annotated[
        datetime | None, Meta(description="When the key stops working; never when left out")
    ] = None

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
    key: Annotated[str, Meta(description="The key itself, shown this once: it is stored hashed")]
    prefix: Annotated[str, Meta(description="Names the key in lists and logs (`lmk_<prefix>_…`)")]
    scopes: Annotated[list[str], Meta(description="What the key may do")]
    expires_at: Annotated[datetime | None, Meta(description="When the key stops working")]


class ApiKeyUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Expire a key at a time (a rotation's overlap), or now."""

    expires_at: datetime

    def __post_init__(self) -> None:
        if self.expires_at.tzinfo is None:
            raise ValueError("expires_at needs a UTC offset (RFC 3339)")


class HandoverRequest(msgspec.Struct, forbid_unknown_fields=True):
    organization_id: Annotated[UUID, Meta(description="The partner carrier receiving the work")]
    reason: Annotated[str, Meta(max_length=500, description="Why, for the event log")] | None = None


class RouteHandoverResult(msgspec.Struct):
    route_id: UUID
    organization_id: UUID
    shipment_ids: list[UUID]


class PartnerEventsRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Each event is checked on its own (the device event schema), so one bad event is
    rejected and quarantined alone."""

    events: Annotated[list[Any], Meta(min_length=1)]
