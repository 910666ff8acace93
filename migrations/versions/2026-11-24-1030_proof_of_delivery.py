"""proof of delivery

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24-1030
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BLOB_TYPES = "('image/jpeg', 'image/png', 'image/webp', 'application/pdf')"
POD_STATUSES = "('pending_blobs', 'incomplete', 'complete')"
PIN_RESULTS = "('not_required', 'correct', 'wrong', 'missing', 'unverifiable')"


def _jsonb_list(name: str) -> sa.Column:
    return sa.Column(
        name, postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
    )


def upgrade() -> None:
    # Existing events start unsealed (NULL); the next write to their shipment seals them in
    # arrival order (backend/shipments/service.py `refold`).
    op.add_column("shipment_events", sa.Column("chain_seq", sa.Integer(), nullable=True))
    op.add_column(
        "shipment_events", sa.Column("chain_hash", sa.LargeBinary(length=32), nullable=True)
    )
    op.create_index(
        "ix_shipment_events_chain", "shipment_events", ["shipment_id", "chain_seq"], unique=True
    )
    op.add_column("shipments", sa.Column("pin_hash", sa.String(length=64), nullable=True))
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(f"content_type IN {BLOB_TYPES}", name=op.f("ck_blobs_content_type")),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["users.id"], name=op.f("fk_blobs_uploaded_by_users")
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blobs")),
    )
    op.create_table(
        "pods",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=True),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handoff", sa.String(length=20), nullable=False),
        sa.Column("recipient_name", sa.String(length=200), nullable=True),
        sa.Column("signature_sha256", sa.String(length=64), nullable=True),
        _jsonb_list("photo_sha256s"),
        sa.Column("pin_result", sa.String(length=20), nullable=False),
        sa.Column("age_verified", sa.Boolean(), nullable=True),
        sa.Column("min_age", sa.Integer(), nullable=True),
        sa.Column(
            "location",
            Geography(geometry_type="POINT", srid=4326, spatial_index=False),
            nullable=True,
        ),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("geofence_m", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        _jsonb_list("missing_blobs"),
        _jsonb_list("missing_requirements"),
        _jsonb_list("flags"),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(f"status IN {POD_STATUSES}", name=op.f("ck_pods_status")),
        sa.CheckConstraint(f"pin_result IN {PIN_RESULTS}", name=op.f("ck_pods_pin_result")),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_pods_driver_id_drivers")
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["shipment_events.id"], name=op.f("fk_pods_id_shipment_events")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_pods_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pods")),
    )
    op.create_index(op.f("ix_pods_driver_id"), "pods", ["driver_id"], unique=False)
    op.create_index(
        "ix_pods_shipment_effective", "pods", ["shipment_id", "effective_at"], unique=False
    )
    op.create_index(
        "ix_pods_missing_blobs", "pods", ["missing_blobs"], unique=False, postgresql_using="gin"
    )


def downgrade() -> None:
    op.drop_index("ix_pods_missing_blobs", table_name="pods", postgresql_using="gin")
    op.drop_index("ix_pods_shipment_effective", table_name="pods")
    op.drop_index(op.f("ix_pods_driver_id"), table_name="pods")
    op.drop_table("pods")
    op.drop_table("blobs")
    op.drop_column("shipments", "pin_hash")
    op.drop_index("ix_shipment_events_chain", table_name="shipment_events")
    op.drop_column("shipment_events", "chain_hash")
    op.drop_column("shipment_events", "chain_seq")
