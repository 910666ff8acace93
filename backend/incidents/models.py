from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey

INCIDENT_STATUSES = ("open", "acknowledged", "resolved")
# A hub's KPI outside its target (backend/kpis): at most one unresolved per hub and KPI.
KPI_OFF_TARGET = "kpi_off_target"


class Incident(UUIDPrimaryKey, Timestamps, Base):
    """An exception for dispatch to triage (custody conflict, geofence, stale GPS, …)."""

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(f"status IN {INCIDENT_STATUSES}", name="status"),
        Index("ix_incidents_open", "created_at", postgresql_where=text("status = 'open'")),
    )

    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), server_default="open")
    shipment_id: Mapped[UUID | None] = mapped_column(ForeignKey("shipments.id"), index=True)
    driver_id: Mapped[UUID | None] = mapped_column(ForeignKey("drivers.id"), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    occurred_at: Mapped[datetime]
    # When it was last resolved (KPIs measure time to resolve from `created_at`).
    resolved_at: Mapped[datetime | None]
