"""shipment event indexes for what is read

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24-1725

Every pull shows each shipment's latest recipient instruction; finding it walked all of the
shipment's events. A partial index now holds only the recipients' events. The index on
(shipment_id, effective_at) goes: every read of the log is by shipment, which the chain's
unique (shipment_id, chain_seq) index serves, and each event written paid for both.
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
    op.drop_index("ix_shipment_events_shipment_order", table_name="shipment_events")


def downgrade() -> None:
    op.create_index(
        "ix_shipment_events_shipment_order", "shipment_events", ["shipment_id", "effective_at"]
    )
    op.drop_index("ix_shipment_events_recipient_latest", table_name="shipment_events")
