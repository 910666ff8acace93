"""offline sync and incidents

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:42:49.403844
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device_sync",
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("ack_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_device_sync_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_sync")),
    )
    op.create_table(
        "driver_sync",
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("pruned_version", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "epoch",
            sa.Integer(),
            server_default=sa.text("floor(random() * 2147483647)::integer"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_driver_sync_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("driver_id", name=op.f("pk_driver_sync")),
    )
    op.create_table(
        "manifest_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("op", sa.String(length=10), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_manifest_changes_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manifest_changes")),
    )
    op.create_index(
        "ix_manifest_changes_driver_version",
        "manifest_changes",
        ["driver_id", "version"],
        unique=False,
    )
    op.create_table(
        "push_batches",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_push_batches_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_push_batches")),
    )
    op.create_table(
        "quarantined_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_quarantined_events_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_events")),
    )
    op.create_index(
        "ix_quarantined_events_device_seq", "quarantined_events", ["device_id", "seq"], unique=False
    )
    op.create_table(
        "incidents",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("shipment_id", sa.Uuid(), nullable=True),
        sa.Column("driver_id", sa.Uuid(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column(
            "data", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
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
        sa.CheckConstraint(
            "status IN ('open', 'acknowledged', 'resolved')", name=op.f("ck_incidents_status")
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_incidents_driver_id_drivers")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_incidents_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_incidents_dedupe_key")),
    )
    op.create_index(op.f("ix_incidents_driver_id"), "incidents", ["driver_id"], unique=False)
    op.create_index(
        "ix_incidents_open",
        "incidents",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(op.f("ix_incidents_shipment_id"), "incidents", ["shipment_id"], unique=False)
    op.create_table(
        "sync_events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("shipment_id", sa.Uuid(), nullable=True),
        sa.Column("content_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_sync_events_driver_id_drivers")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_sync_events_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_sync_events")),
    )
    op.create_index("ix_sync_events_device_seq", "sync_events", ["device_id", "seq"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sync_events_device_seq", table_name="sync_events")
    op.drop_table("sync_events")
    op.drop_index(op.f("ix_incidents_shipment_id"), table_name="incidents")
    op.drop_index(
        "ix_incidents_open", table_name="incidents", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_index(op.f("ix_incidents_driver_id"), table_name="incidents")
    op.drop_table("incidents")
    op.drop_index("ix_quarantined_events_device_seq", table_name="quarantined_events")
    op.drop_table("quarantined_events")
    op.drop_table("push_batches")
    op.drop_index("ix_manifest_changes_driver_version", table_name="manifest_changes")
    op.drop_table("manifest_changes")
    op.drop_table("driver_sync")
    op.drop_table("device_sync")
