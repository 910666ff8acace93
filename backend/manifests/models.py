from datetime import date, datetime
from uuid import UUID

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey

ROUTE_STATUSES = ("draft", "published", "in_progress", "completed", "cancelled")
ACTIVE_ROUTE_STATUSES = ("draft", "published", "in_progress")


class Route(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "routes"
    __table_args__ = (
        CheckConstraint(f"status IN {ROUTE_STATUSES}", name="status"),
        Index("ix_routes_date_driver", "date", "driver_id"),
        Index("ix_routes_driver_status", "driver_id", "status"),
    )

    driver_id: Mapped[UUID] = mapped_column(ForeignKey("drivers.id"))
    hub_id: Mapped[UUID] = mapped_column(ForeignKey("hubs.id"))
    date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), server_default="draft")
    published_at: Mapped[datetime | None]


class Stop(UUIDPrimaryKey, Base):
    """A shipment's place on a route. `active` mirrors the route's: a shipment is on at most one
    active stop, which the partial unique index enforces even under concurrent writers."""

    __tablename__ = "stops"
    __table_args__ = (
        Index(
            "uq_stops_active_shipment",
            "shipment_id",
            unique=True,
            postgresql_where=text("active"),
        ),
        Index("ix_stops_route_sequence", "route_id", "sequence"),
    )

    route_id: Mapped[UUID] = mapped_column(ForeignKey("routes.id"))
    shipment_id: Mapped[UUID] = mapped_column(ForeignKey("shipments.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    # Estimated arrival, kept fresh by backend/tracking/eta.py; `announced_eta` is the value
    # last announced as `shipment.eta_changed`, the base for the change threshold.
    eta: Mapped[datetime | None]
    announced_eta: Mapped[datetime | None]
    eta_computed_at: Mapped[datetime | None]
