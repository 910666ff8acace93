"""Courier applications, their documents, checks and recorded transitions; courier profiles."""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
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

APPLICATION_STATUSES = (
    "draft",
    "submitted",
    "under_review",
    "checks_pending",
    "approved",
    "rejected",
    "active",
    "suspended",
    "offboarded",
)
CLOSED_STATUSES = ("rejected", "offboarded")
VEHICLE_KINDS = ("bike", "cargo_bike", "scooter", "car", "van")
DOCUMENT_KINDS = (
    "id_card",
    "drivers_license",
    "insurance",
    "vehicle_registration",
    "right_to_work",
)
DOCUMENT_STATUSES = ("pending", "verified", "rejected", "superseded")
CHECK_STATUSES = ("requested", "clear", "consider", "failed")
ACTOR_KINDS = ("applicant", "staff", "system", "provider")


class CourierApplication(UUIDPrimaryKey, Timestamps, Base):
    """One person's application, and later their courier record: the status runs on past
    approval (active, suspended, offboarded). At most one open application per email."""

    __tablename__ = "courier_applications"
    __table_args__ = (
        CheckConstraint(f"status IN {APPLICATION_STATUSES}", name="status"),
        CheckConstraint(f"vehicle_kind IN {VEHICLE_KINDS}", name="vehicle_kind"),
        Index(
            "uq_courier_applications_open_email",
            "email",
            unique=True,
            postgresql_where=text(f"status NOT IN {CLOSED_STATUSES}"),
        ),
        Index("ix_courier_applications_status_city", "status", "city"),
    )

    status: Mapped[str] = mapped_column(String(20), server_default="draft")
    status_changed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))  # lower-cased
    phone: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    vehicle_kind: Mapped[str] = mapped_column(String(20))
    vehicle_plate: Mapped[str | None] = mapped_column(String(20))
    capacity_parcels: Mapped[int | None] = mapped_column(Integer)
    capacity_kg: Mapped[float | None] = mapped_column(Numeric(10, 2, asdecimal=False))
    preferred_zone_ids: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    availability: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    email_verified_at: Mapped[datetime | None]
    email_code_hash: Mapped[str | None] = mapped_column(String(64))
    email_code_expires_at: Mapped[datetime | None]
    email_code_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    email_codes_sent: Mapped[int] = mapped_column(Integer, server_default="0")
    # Set by approval: the courier's driver record (employment `courier`).
    driver_id: Mapped[UUID | None] = mapped_column(ForeignKey("drivers.id"), unique=True)
    # Why a suspension happened, when the system did it (`document_expired`): a valid
    # replacement then reactivates. Staff suspensions are lifted by staff.
    suspended_for: Mapped[str | None] = mapped_column(String(40))
    documents_purged_at: Mapped[datetime | None]
    # The client address that made it, for the per-address rate limit of the public endpoint.
    created_from: Mapped[str | None] = mapped_column(String(64), index=True)


class CourierDocument(UUIDPrimaryKey, Base):
    """An uploaded document; the newest of a kind supersedes the older ones."""

    __tablename__ = "courier_documents"
    __table_args__ = (
        CheckConstraint(f"kind IN {DOCUMENT_KINDS}", name="kind"),
        CheckConstraint(f"status IN {DOCUMENT_STATUSES}", name="status"),
        Index("ix_courier_documents_application_kind", "application_id", "kind"),
    )

    application_id: Mapped[UUID] = mapped_column(ForeignKey("courier_applications.id"))
    kind: Mapped[str] = mapped_column(String(30))
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    expires_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    review_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class CourierTransition(UUIDPrimaryKey, Base):
    """The decision record: every status change with who, when and why. Kept after the
    documents are deleted."""

    __tablename__ = "courier_transitions"
    __table_args__ = (
        CheckConstraint(f"actor_kind IN {ACTOR_KINDS}", name="actor_kind"),
        Index("ix_courier_transitions_application", "application_id", "at"),
    )

    application_id: Mapped[UUID] = mapped_column(ForeignKey("courier_applications.id"))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[UUID | None]
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(server_default=func.now())


class CourierCheck(UUIDPrimaryKey, Timestamps, Base):
    """A background check asked of a provider; its result arrives by signed callback."""

    __tablename__ = "courier_checks"
    __table_args__ = (CheckConstraint(f"status IN {CHECK_STATUSES}", name="status"),)

    application_id: Mapped[UUID] = mapped_column(ForeignKey("courier_applications.id"), index=True)
    provider: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), server_default="requested")
    requested_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    result_message_id: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    completed_at: Mapped[datetime | None]


class CourierDocumentRead(Base):
    """Who read which document, when. No foreign key: the log outlives the documents."""

    __tablename__ = "courier_document_reads"
    __table_args__ = (Index("ix_courier_document_reads_application", "application_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    application_id: Mapped[UUID]
    document_id: Mapped[UUID]
    reader_kind: Mapped[str] = mapped_column(String(20))
    reader_id: Mapped[UUID | None]
    at: Mapped[datetime] = mapped_column(server_default=func.now())


class CourierMessage(UUIDPrimaryKey, Base):
    """A message to an applicant (email code, status change), sent by the outbox worker."""

    __tablename__ = "courier_messages"
    __table_args__ = (Index("ix_courier_messages_application", "application_id", "created_at"),)

    application_id: Mapped[UUID] = mapped_column(ForeignKey("courier_applications.id"))
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    provider: Mapped[str | None] = mapped_column(String(60))
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]


class CourierProfile(Base):
    """What offers need of an active courier: online status and position, availability."""

    __tablename__ = "courier_profiles"

    driver_id: Mapped[UUID] = mapped_column(ForeignKey("drivers.id"), primary_key=True)
    application_id: Mapped[UUID] = mapped_column(ForeignKey("courier_applications.id"), unique=True)
    online: Mapped[bool] = mapped_column(Boolean, server_default=false())
    online_since: Mapped[datetime | None]
    position: Mapped[Any | None] = mapped_column(Geography("POINT", srid=4326, spatial_index=False))
    position_at: Mapped[datetime | None]
    availability: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    zone_ids: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
