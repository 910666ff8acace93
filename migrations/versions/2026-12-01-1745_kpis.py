"""KPIs: hubs' time zones, per-shipment facts kept from the event log, targets per hub

Revision ID: 0016
Revises: 0008
Create Date: 2026-12-01-1745

A statement-level trigger on `shipment_events` appends the shipments of every insert to
`kpi_dirty_shipments` (one row per shipment per statement, from the transition table), whatever
wrote them: device pushes, dispatch, recipients, partners. KPI reads rebuild those shipments'
facts first, so figures stay exact when late events arrive (docs/kpis.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KPI_NAMES = (
    "on_time_rate",
    "first_attempt_success",
    "attempts_per_parcel",
    "diversion_frequency",
    "dwell_p50_seconds",
    "dwell_p90_seconds",
    "partner_report_lag_p50_seconds",
    "partner_report_lag_p90_seconds",
    "cost_per_parcel",
    "incidents_opened",
    "incident_resolve_p50_seconds",
)


def upgrade() -> None:
    op.add_column(
        "hubs", sa.Column("time_zone", sa.String(length=64), server_default="UTC", nullable=False)
    )
    op.add_column("incidents", sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "uq_incidents_kpi_off_target_open",
        "incidents",
        [sa.text("(data ->> 'hub_id')"), sa.text("(data ->> 'kpi')")],
        unique=True,
        postgresql_where=sa.text("kind = 'kpi_off_target' AND status <> 'resolved'"),
    )
    op.create_table(
        "kpi_shipment_facts",
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("zone_id", sa.Uuid(), nullable=True),
        sa.Column("route_id", sa.Uuid(), nullable=True),
        sa.Column("driver_id", sa.Uuid(), nullable=True),
        sa.Column("partner_id", sa.Uuid(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("parcels", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_attempt_ok", sa.Boolean(), nullable=True),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("diverted", sa.Boolean(), nullable=False),
        sa.Column("dwell_seconds", postgresql.ARRAY(postgresql.REAL()), nullable=False),
        sa.Column("report_lag_seconds", postgresql.ARRAY(postgresql.REAL()), nullable=False),
        sa.Column("leg_km", sa.Float(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["hub_id"], ["hubs.id"], name=op.f("fk_kpi_shipment_facts_hub_id_hubs")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_kpi_shipment_facts_shipment_id_shipments"),
        ),
        sa.PrimaryKeyConstraint("shipment_id", name=op.f("pk_kpi_shipment_facts")),
    )
    op.create_index(
        "ix_kpi_shipment_facts_day", "kpi_shipment_facts", ["day", "hub_id", "route_id"]
    )
    op.create_index("ix_kpi_shipment_facts_hub_day", "kpi_shipment_facts", ["hub_id", "day"])
    op.create_table(
        "kpi_daily",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("zone_id", sa.Uuid(), nullable=True),
        sa.Column("route_id", sa.Uuid(), nullable=True),
        sa.Column("driver_id", sa.Uuid(), nullable=True),
        sa.Column("partner_id", sa.Uuid(), nullable=True),
        *[
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "shipments",
                "parcels",
                "with_window",
                "on_time",
                "attempted",
                "first_ok",
                "attempted_parcels",
                "parcel_attempts",
                "diverted",
                "partner_parcels",
            )
        ],
        sa.Column("leg_km", sa.Float(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        *[
            sa.Column(name, postgresql.ARRAY(sa.Integer()), nullable=False)
            for name in ("dwell_values", "dwell_counts", "lag_values", "lag_counts")
        ],
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_daily")),
    )
    op.create_index("ix_kpi_daily_day_hub", "kpi_daily", ["day", "hub_id"])
    op.create_table(
        "kpi_dirty_shipments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column(
            "marked_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_dirty_shipments")),
    )
    op.create_table(
        "kpi_targets",
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("kpi", sa.String(length=40), nullable=False),
        sa.Column("min_value", sa.Float(), nullable=True),
        sa.Column("max_value", sa.Float(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(f"kpi IN {KPI_NAMES}", name=op.f("ck_kpi_targets_kpi")),
        sa.CheckConstraint(
            "min_value IS NOT NULL OR max_value IS NOT NULL", name=op.f("ck_kpi_targets_bound")
        ),
        sa.CheckConstraint(
            "min_value IS NULL OR max_value IS NULL OR min_value <= max_value",
            name=op.f("ck_kpi_targets_order"),
        ),
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], name=op.f("fk_kpi_targets_hub_id_hubs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_targets")),
        sa.UniqueConstraint("hub_id", "kpi", name=op.f("uq_kpi_targets_hub_id_kpi")),
    )
    op.execute(
        """
        CREATE FUNCTION kpi_mark_shipments() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO kpi_dirty_shipments (shipment_id)
            SELECT DISTINCT shipment_id FROM new_events;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER kpi_mark_shipments AFTER INSERT ON shipment_events
        REFERENCING NEW TABLE AS new_events
        FOR EACH STATEMENT EXECUTE FUNCTION kpi_mark_shipments()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER kpi_mark_shipments ON shipment_events")
    op.execute("DROP FUNCTION kpi_mark_shipments()")
    op.drop_table("kpi_targets")
    op.drop_table("kpi_dirty_shipments")
    op.drop_index("ix_kpi_daily_day_hub", table_name="kpi_daily")
    op.drop_table("kpi_daily")
    op.drop_index("ix_kpi_shipment_facts_hub_day", table_name="kpi_shipment_facts")
    op.drop_index("ix_kpi_shipment_facts_day", table_name="kpi_shipment_facts")
    op.drop_table("kpi_shipment_facts")
    op.drop_index("uq_incidents_kpi_off_target_open", table_name="incidents")
    op.drop_column("incidents", "resolved_at")
    op.drop_column("hubs", "time_zone")
