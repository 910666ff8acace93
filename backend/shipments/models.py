from datetime import datetime
from typing import Any
from uuid import UUID

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey
from backend.partners.models import Organization  # noqa: F401 - target of shipper/carrier ids
from backend.shipments.state import SERVICE_LEVELS, SOURCES, STATUSES


class Shipment(UUIDPrimaryKey, Timestamps, Base):
    """The current projection of a shipment: rewritten from the fold of its events."""

    __tablename__ = "shipments"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        CheckConstraint(f"service_level IN {SERVICE_LEVELS}", name="service_level"),
        CheckConstraint("window_end IS NULL OR window_end > window_start", name="window"),
        Index("ix_shipments_hub_status", "hub_id", "status", "id"),
        Index("ix_shipments_location", "location", postgresql_using="gist"),
        # A reference names one shipment per shipper (dispatch's own, shipper NULL, included).
        Index(
            "uq_shipments_shipper_reference",
            "shipper_id",
            "reference",
            unique=True,
            postgresql_nulls_not_distinct=True,
            postgresql_where=text("reference IS NOT NULL"),
        ),
    )

    reference: Mapped[str | None] = mapped_column(String(120), index=True)
    hub_id: Mapped[UUID] = mapped_column(ForeignKey("hubs.id"))
    zone_id: Mapped[UUID | None] = mapped_column(ForeignKey("zones.id"), index=True)
    outside_zones: Mapped[bool] = mapped_column(Boolean, server_default=false())
    tracking_number: Mapped[str] = mapped_column(String(20), unique=True)
    tracking_token: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), server_default="created", index=True)
    recipient: Mapped[dict[str, Any]] = mapped_column(JSONB)
    address: Mapped[dict[str, Any]] = mapped_column(JSONB)
    location: Mapped[Any] = mapped_column(Geography("POINT", srid=4326, spatial_index=False))
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    service_level: Mapped[str] = mapped_column(String(20), server_default="standard")
    requirements: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    notes: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    delivered_at: Mapped[datetime | None]
    event_count: Mapped[int] = mapped_column(Integer, server_default="0")
    # Hash of the delivery PIN (backend/pod/pins.py); the PIN itself is never stored.
    pin_hash: Mapped[str | None] = mapped_column(String(64))
    # The shipper organisation that sent it (NULL: dispatch's own) and the partner carrier it
    # was handed over to (backend/partners).
    shipper_id: Mapped[UUID | None] = mapped_column(ForeignKey("organizations.id"))
    carrier_id: Mapped[UUID | None] = mapped_column(ForeignKey("organizations.id"), index=True)


class Parcel(UUIDPrimaryKey, Base):
    __tablename__ = "parcels"

    shipment_id: Mapped[UUID] = mapped_column(ForeignKey("shipments.id"), index=True)
    barcode: Mapped[str] = mapped_column(String(64), unique=True)
    weight_kg: Mapped[float | None] = mapped_column(Numeric(10, 3, asdecimal=False))


class ShipmentEvent(Base):
    """Append-only. `id` is the event id (made on the device for scans, UUIDv7 otherwise)."""

    __tablename__ = "shipment_events"
    __table_args__ = (
        CheckConstraint(f"source IN {SOURCES}", name="source"),
        # One link per position: the hash chain of a shipment can never fork. Also the index
        # for a shipment's events: every read of the log is by shipment.
        Index("ix_shipment_events_chain", "shipment_id", "chain_seq", unique=True),
        # A shipment's latest recipient instruction (pulls carry it): one probe of a small
        # index instead of a walk through all the shipment's events.
        Index(
            "ix_shipment_events_recipient_latest",
            "shipment_id",
            "effective_at",
            "id",
            postgresql_where=text("source = 'recipient'"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    shipment_id: Mapped[UUID] = mapped_column(ForeignKey("shipments.id"))
    source: Mapped[str] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[str | None] = mapped_column(String(128))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime]
    effective_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    anomalies: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    # The audit chain in arrival order (docs/proof-of-delivery.md): position and
    # sha256(previous chain_hash || canonical bytes). Set under the shipment row lock.
    chain_seq: Mapped[int | None] = mapped_column(Integer)
    chain_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
