"""Work offered to couriers: the first to accept wins."""

from datetime import datetime
from typing import Any
from uuid import UUID

from geoalchemy2 import Geography
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Numeric, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey

OFFER_STATUSES = ("open", "accepted", "expired", "withdrawn")
RESPONSES = ("accepted", "declined")


class Offer(UUIDPrimaryKey, Timestamps, Base):
    """A route (or a set of shipments that becomes one) offered for pay until `expires_at`."""

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint(f"status IN {OFFER_STATUSES}", name="status"),
        CheckConstraint("pay_amount >= 0", name="pay_amount"),
        Index("ix_offers_open_expiry", "expires_at", postgresql_where=text("status = 'open'")),
    )

    status: Mapped[str] = mapped_column(String(20), server_default="open")
    hub_id: Mapped[UUID] = mapped_column(ForeignKey("hubs.id"))
    route_id: Mapped[UUID | None] = mapped_column(ForeignKey("routes.id"), index=True)
    shipment_ids: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    stops: Mapped[int] = mapped_column(Integer)
    parcels: Mapped[int] = mapped_column(Integer)
    weight_kg: Mapped[float] = mapped_column(Numeric(12, 3, asdecimal=False))
    anchor: Mapped[Any] = mapped_column(Geography("POINT", srid=4326, spatial_index=False))
    pay_amount: Mapped[float] = mapped_column(Numeric(12, 2, asdecimal=False))
    pay_currency: Mapped[str] = mapped_column(String(3))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    expires_at: Mapped[datetime]
    radius_m: Mapped[float | None] = mapped_column(Numeric(12, 1, asdecimal=False))
    excluded: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    out_of_range: Mapped[int] = mapped_column(Integer, server_default="0")
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    winner_driver_id: Mapped[UUID | None] = mapped_column(ForeignKey("drivers.id"))
    closed_at: Mapped[datetime | None]


class OfferRecipient(Base):
    """A courier the offer was made to, and their answer."""

    __tablename__ = "offer_recipients"
    __table_args__ = (
        CheckConstraint(f"response IN {RESPONSES}", name="response"),
        Index("ix_offer_recipients_driver", "driver_id"),
    )

    offer_id: Mapped[UUID] = mapped_column(ForeignKey("offers.id"), primary_key=True)
    driver_id: Mapped[UUID] = mapped_column(ForeignKey("drivers.id"), primary_key=True)
    response: Mapped[str | None] = mapped_column(String(20))
    responded_at: Mapped[datetime | None]
