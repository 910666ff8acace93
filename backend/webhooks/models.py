"""Outbound Standard Webhooks: endpoints, the events they are sent, each delivery and attempt."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey
from backend.partners.models import Organization  # noqa: F401 - foreign key targets
from backend.shipments.models import Shipment  # noqa: F401

DELIVERY_STATUSES = ("pending", "delivered", "failed")


class WebhookEndpoint(UUIDPrimaryKey, Timestamps, Base):
    """A receiver. `organization_id` NULL: an admin's endpoint, which may receive every event."""

    __tablename__ = "webhook_endpoints"

    organization_id: Mapped[UUID | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    description: Mapped[str | None] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    # After a rotation the old secret signs too, until it expires (24 h).
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=true())
    disabled_reason: Mapped[str | None] = mapped_column(String(60))
    # First failure since the last success: five days of failures disable the endpoint.
    failing_since: Mapped[datetime | None]


class WebhookEvent(UUIDPrimaryKey, Base):
    """One event, its body serialized once: the stored bytes are what is signed and sent.
    `sequence` grows per shipment (taken under the shipment's row lock)."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_shipment", "shipment_id", "sequence", unique=True),)

    type: Mapped[str] = mapped_column(String(40))
    shipment_id: Mapped[UUID | None] = mapped_column(ForeignKey("shipments.id"))
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WebhookDelivery(UUIDPrimaryKey, Base):
    """One event for one endpoint: the outbox row the delivery workers claim."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(f"status IN {DELIVERY_STATUSES}", name="status"),
        # What the workers claim: an endpoint's due deliveries, oldest first.
        Index(
            "ix_webhook_deliveries_due",
            "endpoint_id",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    )

    event_id: Mapped[UUID] = mapped_column(ForeignKey("webhook_events.id"), index=True)
    endpoint_id: Mapped[UUID] = mapped_column(ForeignKey("webhook_endpoints.id"))
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # A claim: no other worker takes the row before this passes (a dead worker's claim lapses).
    lease_until: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "attempt"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_id: Mapped[UUID] = mapped_column(ForeignKey("webhook_deliveries.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)
