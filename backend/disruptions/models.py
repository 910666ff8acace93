from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, false
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey

KINDS = ("vehicle_breakdown", "driver_unavailable", "hub_closed", "zone_closed", "volume_spike")
MODES = ("live", "drill")
DISRUPTION_STATUSES = ("planning", "ready", "applied", "failed", "dismissed")


class Disruption(UUIDPrimaryKey, Timestamps, Base):
    """Something that broke the day's plan, the recovery planned for it, and what came of it.
    The timeline is the four moments: detected_at, plan_ready_at, applied_at, recovered_at."""

    __tablename__ = "disruptions"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS}", name="kind"),
        CheckConstraint(f"mode IN {MODES}", name="mode"),
        CheckConstraint(f"status IN {DISRUPTION_STATUSES}", name="status"),
        Index("ix_disruptions_hub_date", "hub_id", "date"),
    )

    kind: Mapped[str] = mapped_column(String(30))
    mode: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), server_default="planning")
    hub_id: Mapped[UUID] = mapped_column(ForeignKey("hubs.id"))
    date: Mapped[date] = mapped_column(Date)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    auto_apply: Mapped[bool] = mapped_column(Boolean, server_default=false())
    plan_id: Mapped[UUID | None] = mapped_column(ForeignKey("plans.id"))
    # The affected work as found at detection: shipment ids and the routes they were on.
    affected: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    impact: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    detected_at: Mapped[datetime]
    plan_ready_at: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]
    recovered_at: Mapped[datetime | None]
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    applied_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))


class HubContingency(Timestamps, Base):
    """A hub's standing orders for a bad day: who is on standby, where work goes when the hub
    closes, which partners to ask and in what order, and whether recovery may apply itself."""

    __tablename__ = "hub_contingencies"

    hub_id: Mapped[UUID] = mapped_column(ForeignKey("hubs.id"), primary_key=True)
    spare_driver_ids: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    fallback_hub_id: Mapped[UUID | None] = mapped_column(ForeignKey("hubs.id"))
    partner_order: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    auto_apply: Mapped[bool] = mapped_column(Boolean, server_default=false())
    recovery_time_limit_s: Mapped[int] = mapped_column(Integer, server_default="5")
