from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey

PLAN_STATUSES = ("queued", "solving", "done", "failed")
PLAN_PURPOSES = ("plan", "recovery")
OBJECTIVES = ("distance", "duration", "balanced")


class Plan(UUIDPrimaryKey, Timestamps, Base):
    """A planning job and, once solved, its proposal. The worker claims queued plans (and
    solving ones whose lease ran out: their worker died) with `FOR UPDATE SKIP LOCKED`."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint(f"status IN {PLAN_STATUSES}", name="status"),
        CheckConstraint(f"purpose IN {PLAN_PURPOSES}", name="purpose"),
        CheckConstraint(f"objective IN {OBJECTIVES}", name="objective"),
        Index("ix_plans_claimable", "status", "lease_until", "created_at"),
        Index("ix_plans_hub_date", "hub_id", "date"),
    )

    hub_id: Mapped[UUID] = mapped_column(ForeignKey("hubs.id"))
    date: Mapped[date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(String(20), server_default="plan")
    status: Mapped[str] = mapped_column(String(20), server_default="queued")
    objective: Mapped[str] = mapped_column(String(20), server_default="distance")
    time_limit_s: Mapped[float] = mapped_column(Float)
    # What was asked: shipment_ids / driver_ids (None: the defaults), optional_penalty.
    request: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    best_cost: Mapped[int | None] = mapped_column(BigInteger)
    elapsed_s: Mapped[float | None] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    lease_until: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))


class DriverPlanning(Timestamps, Base):
    """What planning needs to know about a driver beyond the vehicle: shift, break, where the
    day starts and ends (the hub when empty), skills and the zones they may serve."""

    __tablename__ = "driver_planning"

    driver_id: Mapped[UUID] = mapped_column(ForeignKey("drivers.id"), primary_key=True)
    shift_start: Mapped[time] = mapped_column(Time)
    shift_end: Mapped[time] = mapped_column(Time)
    break_minutes: Mapped[int] = mapped_column(Integer, server_default="0")
    skills: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    # None: any zone of the hub.
    zone_ids: Mapped[list[str] | None] = mapped_column(JSONB)
    start_location: Mapped[Any | None] = mapped_column(
        Geography("POINT", srid=4326, spatial_index=False)
    )
    end_location: Mapped[Any | None] = mapped_column(
        Geography("POINT", srid=4326, spatial_index=False)
    )
