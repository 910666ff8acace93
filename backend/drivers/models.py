from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey

EMPLOYMENT = ("employee", "courier")


class Driver(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "drivers"
    __table_args__ = (CheckConstraint(f"employment IN {EMPLOYMENT}", name="employment"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    home_hub_id: Mapped[UUID] = mapped_column(ForeignKey("hubs.id"), index=True)
    employment: Mapped[str] = mapped_column(String(20), server_default="employee")
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())


class Vehicle(UUIDPrimaryKey, Timestamps, Base):
    """The vehicle a driver currently drives; capacities feed route planning."""

    __tablename__ = "vehicles"

    driver_id: Mapped[UUID] = mapped_column(ForeignKey("drivers.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    capacity_parcels: Mapped[int | None] = mapped_column(Integer)
    capacity_kg: Mapped[float | None] = mapped_column(Numeric(10, 2, asdecimal=False))


class Device(UUIDPrimaryKey, Base):
    """A handheld, bound to the one driver who first signed in on it until staff release it;
    that driver's tokens carry it."""

    __tablename__ = "devices"

    driver_id: Mapped[UUID] = mapped_column(ForeignKey("drivers.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(128), unique=True)
    first_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
