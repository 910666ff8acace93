"""Blobs (content-addressed files) and proofs of delivery (one per `delivered` event)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from geoalchemy2 import Geography
from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps

BLOB_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf")
POD_STATUSES = ("pending_blobs", "incomplete", "complete")
PIN_RESULTS = ("not_required", "correct", "wrong", "missing", "unverifiable")


class Blob(Base):
    """A stored file, named by the SHA-256 of its bytes. The row appears only once the bytes are
    durable under their final name, so a row always means a complete file."""

    __tablename__ = "blobs"
    __table_args__ = (CheckConstraint(f"content_type IN {BLOB_TYPES}", name="content_type"),)

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Pod(Timestamps, Base):
    """The proof built from one `delivered` event; `id` is that event's id."""

    __tablename__ = "pods"
    __table_args__ = (
        CheckConstraint(f"status IN {POD_STATUSES}", name="status"),
        CheckConstraint(f"pin_result IN {PIN_RESULTS}", name="pin_result"),
        Index("ix_pods_shipment_effective", "shipment_id", "effective_at"),
        # Finds the PODs waiting for a blob when it arrives (`missing_blobs ? sha256`).
        Index("ix_pods_missing_blobs", "missing_blobs", postgresql_using="gin"),
    )

    id: Mapped[UUID] = mapped_column(ForeignKey("shipment_events.id"), primary_key=True)
    shipment_id: Mapped[UUID] = mapped_column(ForeignKey("shipments.id"))
    driver_id: Mapped[UUID | None] = mapped_column(ForeignKey("drivers.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(String(128))
    effective_at: Mapped[datetime]
    handoff: Mapped[str] = mapped_column(String(20))
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    signature_sha256: Mapped[str | None] = mapped_column(String(64))
    photo_sha256s: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    pin_result: Mapped[str] = mapped_column(String(20))
    age_verified: Mapped[bool | None]
    min_age: Mapped[int | None]
    location: Mapped[Any | None] = mapped_column(Geography("POINT", srid=4326, spatial_index=False))
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    geofence_m: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    missing_blobs: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    missing_requirements: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    flags: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
