from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.auth.schemas import Email, Password

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Phone = Annotated[str, Meta(min_length=3, max_length=40)]


class VehicleIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: Annotated[str, Meta(min_length=1, max_length=40)]
    capacity_parcels: Annotated[int, Meta(ge=1, le=100_000)] | None = None
    capacity_kg: Annotated[float, Meta(gt=0, le=100_000)] | None = None


class DriverCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    email: Email
    password: Password
    home_hub_id: UUID
    phone: Phone | None = None
    vehicle: VehicleIn | None = None
    employment: Literal["employee", "courier"] = "employee"


class DriverRead(msgspec.Struct):
    id: UUID
    user_id: UUID
    name: str
    email: str
    phone: str | None
    home_hub_id: UUID
    employment: str
    active: bool
    vehicle: VehicleIn | None


class DeviceRead(msgspec.Struct):
    """A handheld bound to a driver: `device_id` is the app's own id, `id` this binding's."""

    id: UUID
    device_id: str
    driver_id: UUID
    first_seen_at: datetime
    last_seen_at: datetime
