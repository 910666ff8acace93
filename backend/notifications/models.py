from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey

KINDS = (
    "on_the_way",
    "eta_window",
    "rerouted",
    "delivered",
    "failed",
    "new_window",
    "incident_escalated",
)
CHANNELS = ("sms", "email", "none")
STATUSES = ("sent", "undeliverable")


class Notification(UUIDPrimaryKey, Timestamps, Base):
    """One message to a recipient about a shipment (at most one of each kind per shipment per
    delivery attempt), or to a hub's on-call contact about an incident (one per kind)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("shipment_id", "kind", "attempt"),
        UniqueConstraint("incident_id", "kind"),
        CheckConstraint("shipment_id IS NOT NULL OR incident_id IS NOT NULL", name="about"),
        CheckConstraint(f"kind IN {KINDS}", name="kind"),
        CheckConstraint(f"channel IN {CHANNELS}", name="channel"),
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        Index("ix_notifications_shipment_created", "shipment_id", "created_at"),
    )

    shipment_id: Mapped[UUID | None] = mapped_column(ForeignKey("shipments.id"))
    incident_id: Mapped[UUID | None] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(60))
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[datetime | None]
