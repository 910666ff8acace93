from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey

INCIDENT_STATUSES = ("open", "acknowledged", "resolved")
SEVERITIES = ("low", "medium", "high", "critical")
# A hub's KPI outside its target (backend/kpis): at most one unresolved per hub and KPI.
KPI_OFF_TARGET = "kpi_off_target"


class Incident(UUIDPrimaryKey, Timestamps, Base):
    """An exception for dispatch to triage (custody conflict, geofence, stale GPS, …)."""

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(f"status IN {INCIDENT_STATUSES}", name="status"),
        CheckConstraint(f"severity IN {SEVERITIES}", name="severity"),
        Index("ix_incidents_open", "created_at", postgresql_where=text("status = 'open'")),
        Index("ix_incidents_status_created_at", "status", "created_at"),
        # The triage queue, newest first, with or without filters (migration 0018).
        Index("ix_incidents_created_at_id", "created_at", "id"),
        # At most one unresolved incident per kind and subject (detection rules).
        Index(
            "uq_incidents_subject_unresolved",
            "kind",
            "subject",
            unique=True,
            postgresql_where=text("subject IS NOT NULL AND status <> 'resolved'"),
        ),
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
    severity: Mapped[str] = mapped_column(String(10), server_default="medium")
    hub_id: Mapped[UUID | None] = mapped_column(ForeignKey("hubs.id"), index=True)
    route_id: Mapped[UUID | None] = mapped_column(ForeignKey("routes.id"), index=True)
    # What a detection rule watches, e.g. "shipment:<id>" (see the unique index above).
    subject: Mapped[str | None] = mapped_column(String(200))
    assigned_to: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    resolution_code: Mapped[str | None] = mapped_column(String(40))


class IncidentActivity(UUIDPrimaryKey, Base):
    """One entry of an incident's log: acknowledged, assigned, commented, escalated, a playbook
    step taken, resolved, reopened. The after-action review reads its timeline from here."""

    __tablename__ = "incident_activities"
    __table_args__ = (Index("ix_incident_activities_incident_id_at", "incident_id", "at"),)

    incident_id: Mapped[UUID] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
