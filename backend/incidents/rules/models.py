"""Detection data: per-hub rule thresholds (a row with no hub is the default), a hub's on-call
contact and escalation delay, and the subjects each rule currently finds at fault."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey
from backend.incidents.models import SEVERITIES


class HubIncidentRule(UUIDPrimaryKey, Timestamps, Base):
    """One rule's setting for one hub (`hub_id` NULL: the default every other hub inherits).
    `threshold` is in the rule's unit: minutes, or failed attempts for `repeated_failure`."""

    __tablename__ = "hub_incident_rules"
    __table_args__ = (
        CheckConstraint(f"severity IN {SEVERITIES}", name="severity"),
        CheckConstraint("threshold > 0", name="threshold"),
        Index(
            "uq_hub_incident_rules_hub_kind",
            "hub_id",
            "kind",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    hub_id: Mapped[UUID | None] = mapped_column(ForeignKey("hubs.id"))
    kind: Mapped[str] = mapped_column(String(40))
    threshold: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(10))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=true())


class HubIncidentSettings(Timestamps, Base):
    """Who is called when a hub's urgent incident goes unacknowledged, and after how long
    (`escalation_minutes` NULL: `LASTMILE_INCIDENT_ESCALATION_MINUTES`)."""

    __tablename__ = "hub_incident_settings"

    hub_id: Mapped[UUID] = mapped_column(ForeignKey("hubs.id"), primary_key=True)
    on_call_name: Mapped[str | None] = mapped_column(String(200))
    on_call_phone: Mapped[str | None] = mapped_column(String(40))
    on_call_email: Mapped[str | None] = mapped_column(String(320))
    escalation_minutes: Mapped[int | None] = mapped_column(Integer)


class IncidentFault(Base):
    """A subject a rule finds at fault now, since when. A fault opens one incident when it
    starts; it ends when the rule no longer finds it (its incident then clears), so a cause
    that persists after staff resolved its incident does not open another one."""

    __tablename__ = "incident_faults"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    since: Mapped[datetime]
