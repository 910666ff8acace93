"""index of recipient instructions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24-1725

Every pull shows each shipment's latest recipient instruction; finding it walked all of the
shipment's events. A partial index holds only the recipients' events.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_shipment_events_recipient_latest",
        "shipment_events",
        ["shipment_id", "effective_at", "id"],
        postgresql_where=sa.text("source = 'recipient'"),
    )


def downgrade() -> None:
    op.drop_index("ix_shipment_events_recipient_latest", table_name="shipment_events")
