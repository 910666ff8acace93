"""planning jobs, drivers' planning settings, disruptions and hub contingencies

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-01-1700

Plans are jobs the worker claims with SKIP LOCKED (a lease lets another worker take over a solve
whose worker died); their proposal is kept as JSON until applied. Disruptions keep their
affected work, impact, timeline and outcome; hub contingencies are the standing orders.
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    ]


def _point(name: str) -> sa.Column:
    return sa.Column(
        name,
        geoalchemy2.types.Geography(
            geometry_type="POINT",
            srid=4326,
            spatial_index=False,
            from_text="ST_GeogFromText",
            name="geography",
        ),
        nullable=True,
    )


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("purpose", sa.String(20), server_default="plan", nullable=False),
        sa.Column("status", sa.String(20), server_default="queued", nullable=False),
        sa.Column("objective", sa.String(20), server_default="distance", nullable=False),
        sa.Column("time_limit_s", sa.Float(), nullable=False),
        sa.Column("request", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("best_cost", sa.BigInteger(), nullable=True),
        sa.Column("elapsed_s", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", postgresql.JSONB(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('queued', 'solving', 'done', 'failed')", name=op.f("ck_plans_status")
        ),
        sa.CheckConstraint("purpose IN ('plan', 'recovery')", name=op.f("ck_plans_purpose")),
        sa.CheckConstraint(
            "objective IN ('distance', 'duration', 'balanced')", name=op.f("ck_plans_objective")
        ),
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], name=op.f("fk_plans_hub_id_hubs")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_plans_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
    )
    op.create_index(
        "ix_plans_claimable", "plans", ["status", "lease_until", "created_at"], unique=False
    )
    op.create_index("ix_plans_hub_date", "plans", ["hub_id", "date"], unique=False)
    op.create_table(
        "driver_planning",
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("shift_start", sa.Time(), nullable=False),
        sa.Column("shift_end", sa.Time(), nullable=False),
        sa.Column("break_minutes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skills", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("zone_ids", postgresql.JSONB(), nullable=True),
        _point("start_location"),
        _point("end_location"),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_driver_planning_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("driver_id", name=op.f("pk_driver_planning")),
    )
    op.create_table(
        "disruptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), server_default="planning", nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("details", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("auto_apply", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=True),
        sa.Column("affected", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("impact", postgresql.JSONB(), nullable=True),
        sa.Column("outcome", postgresql.JSONB(), nullable=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("plan_ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recovered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("applied_by", sa.Uuid(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "kind IN ('vehicle_breakdown', 'driver_unavailable', 'hub_closed', 'zone_closed', "
            "'volume_spike')",
            name=op.f("ck_disruptions_kind"),
        ),
        sa.CheckConstraint("mode IN ('live', 'drill')", name=op.f("ck_disruptions_mode")),
        sa.CheckConstraint(
            "status IN ('planning', 'ready', 'applied', 'failed', 'dismissed')",
            name=op.f("ck_disruptions_status"),
        ),
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], name=op.f("fk_disruptions_hub_id_hubs")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_disruptions_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_disruptions_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["applied_by"], ["users.id"], name=op.f("fk_disruptions_applied_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disruptions")),
    )
    op.create_index("ix_disruptions_hub_date", "disruptions", ["hub_id", "date"], unique=False)
    op.create_table(
        "hub_contingencies",
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("spare_driver_ids", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("fallback_hub_id", sa.Uuid(), nullable=True),
        sa.Column("partner_order", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("auto_apply", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("recovery_time_limit_s", sa.Integer(), server_default="5", nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["hub_id"], ["hubs.id"], name=op.f("fk_hub_contingencies_hub_id_hubs")
        ),
        sa.ForeignKeyConstraint(
            ["fallback_hub_id"], ["hubs.id"], name=op.f("fk_hub_contingencies_fallback_hub_id_hubs")
        ),
        sa.PrimaryKeyConstraint("hub_id", name=op.f("pk_hub_contingencies")),
    )


def downgrade() -> None:
    op.drop_table("hub_contingencies")
    op.drop_index("ix_disruptions_hub_date", table_name="disruptions")
    op.drop_table("disruptions")
    op.drop_table("driver_planning")
    op.drop_index("ix_plans_hub_date", table_name="plans")
    op.drop_index("ix_plans_claimable", table_name="plans")
    op.drop_table("plans")
