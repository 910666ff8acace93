"""Incident triage: severity, where it happened, who owns it, and an activity log

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01-1950

`subject` names what a detection rule watches (a shipment, a driver's route, an endpoint): the
partial unique index keeps at most one unresolved incident per kind and subject, while a cause
that returns after its incident was resolved opens a new one. `incident_activities` is the
incident's own log (acknowledged, assigned, commented, escalated, playbook steps, resolved,
reopened) from which the after-action review builds its timeline.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEVERITIES = ("low", "medium", "high", "critical")


def upgrade() -> None:
    op.add_column(
        "incidents",
        sa.Column("severity", sa.String(length=10), server_default="medium", nullable=False),
    )
    op.create_check_constraint("severity", "incidents", f"severity IN {SEVERITIES}")
    for column, table in (("hub_id", "hubs"), ("route_id", "routes")):
        op.add_column("incidents", sa.Column(column, sa.Uuid(), nullable=True))
        op.create_foreign_key(None, "incidents", table, [column], ["id"])
        op.create_index(op.f(f"ix_incidents_{column}"), "incidents", [column])
    op.add_column("incidents", sa.Column("subject", sa.String(length=200), nullable=True))
    op.add_column("incidents", sa.Column("assigned_to", sa.Uuid(), nullable=True))
    op.create_foreign_key(None, "incidents", "users", ["assigned_to"], ["id"])
    for column in ("acknowledged_at", "escalated_at"):
        op.add_column("incidents", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.add_column("incidents", sa.Column("resolution_code", sa.String(length=40), nullable=True))
    op.create_index(
        "uq_incidents_subject_unresolved",
        "incidents",
        ["kind", "subject"],
        unique=True,
        postgresql_where=sa.text("subject IS NOT NULL AND status <> 'resolved'"),
    )
    op.create_index("ix_incidents_status_created_at", "incidents", ["status", "created_at"])
    op.create_table(
        "incident_activities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_activities_incident_id_incidents"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_incident_activities_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_activities")),
    )
    op.create_index(
        "ix_incident_activities_incident_id_at", "incident_activities", ["incident_id", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_incident_activities_incident_id_at", table_name="incident_activities")
    op.drop_table("incident_activities")
    op.drop_index("ix_incidents_status_created_at", table_name="incidents")
    op.drop_index("uq_incidents_subject_unresolved", table_name="incidents")
    for column in ("resolution_code", "escalated_at", "acknowledged_at"):
        op.drop_column("incidents", column)
    op.drop_constraint(op.f("fk_incidents_assigned_to_users"), "incidents", type_="foreignkey")
    op.drop_column("incidents", "assigned_to")
    op.drop_column("incidents", "subject")
    for column, table in (("route_id", "routes"), ("hub_id", "hubs")):
        op.drop_index(op.f(f"ix_incidents_{column}"), table_name="incidents")
        op.drop_constraint(op.f(f"fk_incidents_{column}_{table}"), "incidents", type_="foreignkey")
        op.drop_column("incidents", column)
    op.drop_constraint(op.f("ck_incidents_severity"), "incidents", type_="check")
    op.drop_column("incidents", "severity")
