"""KPI tables: per-shipment facts rebuilt from the event log, the queue of shipments to rebuild,
and targets per hub (docs/kpis.md)."""

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, REAL
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey
from backend.incidents.models import KPI_OFF_TARGET, Incident
from backend.kpis.definitions import KPI_NAMES


class KpiShipmentFact(Base):
    """One row per shipment with an outcome, a pure function of its events (and of its current
    window, zone and parcels): rebuilt whole whenever an event of the shipment is stored, so a
    late event moves it to the right day and changes every figure it touches."""

    __tablename__ = "kpi_shipment_facts"
    __table_args__ = (
        # Rebuilding a group's daily rows reads its facts by day, hub and route.
        Index("ix_kpi_shipment_facts_day", "day", "hub_id", "route_id"),
        Index("ix_kpi_shipment_facts_hub_day", "hub_id", "day"),
    )

    shipment_id: Mapped[UUID] = mapped_column(ForeignKey("shipments.id"), primary_key=True)
    hub_id: Mapped[UUID] = mapped_column(ForeignKey("hubs.id"))
    zone_id: Mapped[UUID | None]
    route_id: Mapped[UUID | None]
    driver_id: Mapped[UUID | None]
    partner_id: Mapped[UUID | None]
    # The hub's local date of the shipment's first outcome (delivered, failed, handed over,
    # returned, cancelled).
    day: Mapped[date] = mapped_column(Date)
    parcels: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer)
    first_attempt_ok: Mapped[bool | None] = mapped_column(Boolean)
    delivered: Mapped[bool] = mapped_column(Boolean)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    diverted: Mapped[bool] = mapped_column(Boolean)
    dwell_seconds: Mapped[list[float]] = mapped_column(ARRAY(REAL))
    report_lag_seconds: Mapped[list[float]] = mapped_column(ARRAY(REAL))
    leg_km: Mapped[float] = mapped_column(Float)
    loaded_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]


class KpiDirtyShipment(Base):
    """Shipments whose events changed since their facts were built: a trigger on
    `shipment_events` appends one row per shipment per insert statement (migration 0016).
    Append-only, so a reader deletes exactly the rows it saw and one committed later stays."""

    __tablename__ = "kpi_dirty_shipments"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    shipment_id: Mapped[UUID]
    marked_at: Mapped[datetime] = mapped_column(server_default=func.now())


class KpiTarget(UUIDPrimaryKey, Timestamps, Base):
    """A hub's bounds for one KPI; outside them (evaluated by a periodic job) opens an incident."""

    __tablename__ = "kpi_targets"
    __table_args__ = (
        UniqueConstraint("hub_id", "kpi"),
        CheckConstraint(f"kpi IN {KPI_NAMES}", name="kpi"),
        CheckConstraint("min_value IS NOT NULL OR max_value IS NOT NULL", name="bound"),
        CheckConstraint(
            "min_value IS NULL OR max_value IS NULL OR min_value <= max_value", name="order"
        ),
    )

    hub_id: Mapped[UUID] = mapped_column(ForeignKey("hubs.id"))
    kpi: Mapped[str] = mapped_column(String(40))
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)


# At most one unresolved off-target incident per hub and KPI, even with two checks at once.
Index(
    "uq_incidents_kpi_off_target_open",
    Incident.data["hub_id"].astext,
    Incident.data["kpi"].astext,
    unique=True,
    postgresql_where=text(f"kind = '{KPI_OFF_TARGET}' AND status <> 'resolved'"),
)


class KpiDaily(Base):
    """The facts summed per hub-local day and group (hub, zone, route, driver, partner): what
    KPI queries read. Rows of a group are rebuilt from the facts whenever a fact of that group
    changes (same transaction), so they are always the exact sum of the facts. Dwell times and
    partner report lags are kept as histograms of whole seconds (values and counts), so
    percentiles over any range are exact to the second."""

    __tablename__ = "kpi_daily"
    __table_args__ = (Index("ix_kpi_daily_day_hub", "day", "hub_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    hub_id: Mapped[UUID]
    zone_id: Mapped[UUID | None]
    route_id: Mapped[UUID | None]
    driver_id: Mapped[UUID | None]
    partner_id: Mapped[UUID | None]
    shipments: Mapped[int] = mapped_column(Integer)
    parcels: Mapped[int] = mapped_column(Integer)
    with_window: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)
    attempted: Mapped[int] = mapped_column(Integer)
    first_ok: Mapped[int] = mapped_column(Integer)
    attempted_parcels: Mapped[int] = mapped_column(Integer)
    parcel_attempts: Mapped[int] = mapped_column(Integer)
    diverted: Mapped[int] = mapped_column(Integer)
    partner_parcels: Mapped[int] = mapped_column(Integer)
    leg_km: Mapped[float] = mapped_column(Float)
    loaded_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    dwell_values: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    dwell_counts: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    lag_values: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    lag_counts: Mapped[list[int]] = mapped_column(ARRAY(Integer))
