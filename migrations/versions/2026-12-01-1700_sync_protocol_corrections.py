"""sync protocol corrections: declared skipped seqs, quarantined bodies jsonb cannot hold

Revision ID: 0009
Revises: 0014
Create Date: 2026-12-01-1700

A device that lost events before sending them declares their seqs skipped (a push's `skipped`),
kept in `skipped_seqs` so the ack moves past them. A rejected event whose text holds U+0000
(which jsonb cannot store) is quarantined as bytes in `raw_bytes`, with `raw` left NULL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "skipped_seqs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column(
            "declared_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_skipped_seqs_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skipped_seqs")),
    )
    op.create_index(
        "ix_skipped_seqs_device_last", "skipped_seqs", ["device_id", "last_seq"], unique=False
    )
    op.add_column("quarantined_events", sa.Column("raw_bytes", sa.LargeBinary(), nullable=True))
    op.alter_column("quarantined_events", "raw", nullable=True)


def downgrade() -> None:
    op.execute(
        "UPDATE quarantined_events SET raw = to_jsonb(encode(raw_bytes, 'base64'))"
        " WHERE raw IS NULL"
    )
    op.alter_column("quarantined_events", "raw", nullable=False)
    op.drop_column("quarantined_events", "raw_bytes")
    op.drop_index("ix_skipped_seqs_device_last", table_name="skipped_seqs")
    op.drop_table("skipped_seqs")
