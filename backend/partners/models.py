"""Organisations (shippers and partner carriers), their API keys and their inbound events."""

from datetime import datetime
from typing import Any
from uuid import UUID

from geoalchemy2 import Geometry
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
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey

SHIPPER = "shipper"
CARRIER_KINDS = ("regional_courier", "cooperative", "retail_network", "crowd_platform")
ORGANIZATION_KINDS = (SHIPPER, *CARRIER_KINDS)
SCOPES = ("shipments:write", "shipments:read", "events:write", "webhooks:manage")


class Organization(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "organizations"
    __table_args__ = (CheckConstraint(f"kind IN {ORGANIZATION_KINDS}", name="kind"),)

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    service_area: Mapped[Any | None] = mapped_column(
        Geometry("GEOMETRY", srid=4326, spatial_index=False)
    )
    capacity_per_day: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())


class ApiKey(UUIDPrimaryKey, Base):
    """A bearer key of an organisation: `lmk_<prefix>_<secret>`. Only the prefix (for lookup)
    and the SHA-256 of the secret are kept; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"

    organization_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    name: Mapped[str | None] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class PartnerEvent(Base):
    """Every accepted partner event, keyed by the id the partner made (the idempotency key).
    `occurred_at` is the partner's clock, `received_at` ours: both stay for its KPIs."""

    __tablename__ = "partner_events"
    __table_args__ = (Index("ix_partner_events_organization", "organization_id", "received_at"),)

    event_id: Mapped[UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id"))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    shipment_id: Mapped[UUID] = mapped_column(ForeignKey("shipments.id"), index=True)
    content_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    occurred_at: Mapped[datetime]
    effective_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)


class PartnerQuarantinedEvent(Base):
    """A rejected partner event, kept raw with the reason: nothing a partner sends is dropped."""

    __tablename__ = "partner_quarantined_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    organization_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    event_id: Mapped[UUID | None]
    reason: Mapped[str] = mapped_column(String(60))
    detail: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[Any] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
