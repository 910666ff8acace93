from typing import Any
from uuid import UUID

from geoalchemy2 import Geography, Geometry
from sqlalchemy import ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey


class Hub(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "hubs"

    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    location: Mapped[Any] = mapped_column(Geography("POINT", srid=4326))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # IANA name: a hub's day (KPIs, reports) is its local day, not UTC's.
    time_zone: Mapped[str] = mapped_column(String(64), server_default="UTC")


class Zone(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "zones"

    name: Mapped[str] = mapped_column(String(200))
    hub_id: Mapped[UUID] = mapped_column(ForeignKey("hubs.id"), index=True)
    area: Mapped[Any] = mapped_column(Geometry("GEOMETRY", srid=4326))


class PickupPoint(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "pickup_points"

    name: Mapped[str] = mapped_column(String(200))
    location: Mapped[Any] = mapped_column(Geography("POINT", srid=4326))
    hub_id: Mapped[UUID | None] = mapped_column(ForeignKey("hubs.id"), index=True)
    opening_hours: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
