"""positions and tracking

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24-1031
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Ping history, natively partitioned by day. Day partitions (positions_pYYYYMMDD) are made
    # ahead and dropped after retention by backend/system/jobs.py; the default partition
    # catches anything outside them so an insert never fails for want of a partition.
    op.execute(
        """
        CREATE TABLE positions (
            driver_id uuid NOT NULL,
            at timestamptz NOT NULL,
            device_id varchar(128) NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            location geography(POINT, 4326) NOT NULL,
            accuracy_m double precision,
            speed_mps double precision,
            heading double precision,
            CONSTRAINT pk_positions PRIMARY KEY (driver_id, at)
        ) PARTITION BY RANGE (at)
        """
    )
    op.execute("CREATE TABLE positions_default PARTITION OF positions DEFAULT")
    op.create_table(
        "latest_positions",
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "location",
            Geography(geometry_type="POINT", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("speed_mps", sa.Float(), nullable=True),
        sa.Column("heading", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_latest_positions_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("driver_id", name=op.f("pk_latest_positions")),
    )
    op.add_column("stops", sa.Column("eta", sa.DateTime(timezone=True), nullable=True))
    op.add_column("stops", sa.Column("announced_eta", sa.DateTime(timezone=True), nullable=True))
    op.add_column("stops", sa.Column("eta_computed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("stops", "eta_computed_at")
    op.drop_column("stops", "announced_eta")
    op.drop_column("stops", "eta")
    op.drop_table("latest_positions")
    op.execute("DROP TABLE positions")  # drops every partition with it
