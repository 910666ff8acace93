from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.lib.geo import Area, Point

Name = Annotated[str, Meta(min_length=1, max_length=200)]


class HubCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    code: Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
    location: Point
    address: dict[str, Any] | None = None
    # An IANA time zone name (`Europe/Berlin`); checked against the zone database.
    time_zone: Annotated[str, Meta(min_length=1, max_length=64)] = "UTC"


class HubRead(msgspec.Struct):
    id: UUID
    name: str
    code: str
    location: Point
    address: dict[str, Any] | None
    time_zone: str


class ZoneCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    hub_id: UUID
    area: Area


class ZoneRead(msgspec.Struct):
    id: UUID
    name: str
    hub_id: UUID
    area: Area


class PickupPointCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    location: Point
    hub_id: UUID | None = None
    opening_hours: dict[str, Any] | None = None


class PickupPointRead(msgspec.Struct):
    id: UUID
    name: str
    location: Point
    hub_id: UUID | None
    opening_hours: dict[str, Any] | None
