"""Incident detection: per-hub rule thresholds, on-call contacts, faults, on-call notifications

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01-2000

`hub_incident_rules` holds each detection rule's threshold, severity and switch per hub; the
row without a hub is the default, seeded here (docs/incidents-detection.md). A hub's on-call
contact and escalation delay live in `hub_incident_settings`. `incident_faults` is what each
rule finds at fault now: a fault opens one incident when it starts and clears it when it ends.
`notifications` may now be about an incident (the on-call message) instead of a shipment.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEVERITIES = ("low", "medium", "high", "critical")
# kind -> (default threshold, default severity); the unit is the rule's (minutes, or failed
# attempts for repeated_failure).
DEFAULTS = {
    "late_risk": (15, "high"),
    "driver_silent": (15, "high"),
    "long_dwell": (20, "medium"),
    "repeated_failure": (2, "medium"),
    "route_not_started": (30, "high"),
    "webhook_endpoint_failing": (60, "medium"),
    "offer_unanswered": (20, "medium"),
}
KINDS = ("on_the_way", "eta_window", "rerouted", "delivered", "failed", "new_window")
NEW_KINDS = (*KINDS, "incident_escalated")


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "hub_incident_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            f"severity IN {SEVERITIES}", name=op.f("ck_hub_incident_rules_severity")
        ),
        sa.CheckConstraint("threshold > 0", name=op.f("ck_hub_incident_rules_threshold")),
        sa.ForeignKeyConstraint(
            ["hub_id"], ["hubs.id"], name=op.f("fk_hub_incident_rules_hub_id_hubs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_incident_rules")),
    )
    op.create_index(
        "uq_hub_incident_rules_hub_kind",
        "hub_incident_rules",
        ["hub_id", "kind"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.execute(
        "INSERT INTO hub_incident_rules (id, hub_id, kind, threshold, severity, enabled) VALUES "
        + ", ".join(
            f"(gen_random_uuid(), NULL, '{kind}', {threshold}, '{severity}', true)"
            for kind, (threshold, severity) in DEFAULTS.items()
        )
    )
    op.create_table(
        "hub_incident_settings",
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("on_call_name", sa.String(length=200), nullable=True),
        sa.Column("on_call_phone", sa.String(length=40), nullable=True),
        sa.Column("on_call_email", sa.String(length=320), nullable=True),
        sa.Column("escalation_minutes", sa.Integer(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["hub_id"], ["hubs.id"], name=op.f("fk_hub_incident_settings_hub_id_hubs")
        ),
        sa.PrimaryKeyConstraint("hub_id", name=op.f("pk_hub_incident_settings")),
    )
    op.create_table(
        "incident_faults",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject", name=op.f("pk_incident_faults")),
    )
    op.alter_column("notifications", "shipment_id", existing_type=sa.Uuid(), nullable=True)
    op.add_column("notifications", sa.Column("incident_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_notifications_incident_id_incidents"),
        "notifications",
        "incidents",
        ["incident_id"],
        ["id"],
    )
    op.create_unique_constraint(
        op.f("uq_notifications_incident_id_kind"), "notifications", ["incident_id", "kind"]
    )
    op.create_check_constraint(
        op.f("ck_notifications_about"),
        "notifications",
        "shipment_id IS NOT NULL OR incident_id IS NOT NULL",
    )
    op.drop_constraint(op.f("ck_notifications_kind"), "notifications", type_="check")
    op.create_check_constraint(
        op.f("ck_notifications_kind"), "notifications", f"kind IN {NEW_KINDS}"
    )


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE incident_id IS NOT NULL")
    op.drop_constraint(op.f("ck_notifications_kind"), "notifications", type_="check")
    op.create_check_constraint(op.f("ck_notifications_kind"), "notifications", f"kind IN {KINDS}")
    op.drop_constraint(op.f("ck_notifications_about"), "notifications", type_="check")
    op.drop_constraint(op.f("uq_notifications_incident_id_kind"), "notifications", type_="unique")
    op.drop_constraint(
        op.f("fk_notifications_incident_id_incidents"), "notifications", type_="foreignkey"
    )
    op.drop_column("notifications", "incident_id")
    op.alter_column("notifications", "shipment_id", existing_type=sa.Uuid(), nullable=False)
    op.drop_table("incident_faults")
    op.drop_table("hub_incident_settings")
    op.drop_index("uq_hub_incident_rules_hub_kind", table_name="hub_incident_rules")
    op.drop_table("hub_incident_rules")
