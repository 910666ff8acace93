"""Driver positions: the ping history (partitioned by day) and the newest fix per driver."""

from datetime import datetime
from typing import Any
from uuid import UUID

from geoalchemy2 import Geography
from sqlalchemy import Float, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base


class Position(Base):
    """One ping. Natively partitioned by day on `at` (`positions_pYYYYMMDD`, plus a default
    partition as a safety net); `jobs.py` creates upcoming days and drops expired ones. The key
    (driver, at) makes replayed pings harmless and serves the track query."""

    __tablename__ = "positions"
    __table_args__ = {"postgresql_partition_by": "RANGE (at)"}

    driver_id: Mapped[UUID] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    location: Mapped[Any] = mapped_column(Geography("POINT", srid=4326, spatial_index=False))
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)


class LatestPosition(Base):
    """The newest fix per driver; a late ping never replaces a newer one."""

    __tablename__ = "latest_positions"

    driver_id: Mapped[UUID] = mapped_column(ForeignKey("drivers.id"), primary_key=True)
    at: Mapped[datetime]
    device_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    location: Mapped[Any] = mapped_column(Geography("POINT", srid=4326, spatial_index=False))
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)
