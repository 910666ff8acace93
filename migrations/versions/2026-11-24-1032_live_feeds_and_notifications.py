"""live feeds and notifications

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24-1032
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("on_the_way", "eta_window", "rerouted", "delivered", "failed")
CHANNELS = ("sms", "email", "none")
STATUSES = ("sent", "undeliverable")


def upgrade() -> None:
    op.create_table(
        "shipment_feed",
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_shipment_feed_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("shipment_id", "seq", name=op.f("pk_shipment_feed")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(length=60), nullable=False),
        sa.Column("provider_ref", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(f"kind IN {KINDS}", name=op.f("ck_notifications_kind")),
        sa.CheckConstraint(f"channel IN {CHANNELS}", name=op.f("ck_notifications_channel")),
        sa.CheckConstraint(f"status IN {STATUSES}", name=op.f("ck_notifications_status")),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_notifications_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint(
            "shipment_id", "kind", "attempt", name=op.f("uq_notifications_shipment_id_kind_attempt")
        ),
    )
    op.create_index(
        "ix_notifications_shipment_created",
        "notifications",
        ["shipment_id", "created_at"],
        unique=False,
    )
    # Both tables are appended to in time order: BRIN indexes serve their retention prunes.
    for table in ("shipment_feed", "manifest_changes"):
        op.create_index(f"ix_{table}_created_at", table, ["created_at"], postgresql_using="brin")


def downgrade() -> None:
    for table in ("shipment_feed", "manifest_changes"):
        op.drop_index(f"ix_{table}_created_at", table_name=table)
    op.drop_index("ix_notifications_shipment_created", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("shipment_feed")
