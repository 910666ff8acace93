"""push responses stored as the bytes sent

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24-1710

A push stored its response as jsonb with the ack spliced in by `jsonb_set`: PostgreSQL parsed
about 15 kB of JSON per push, printed it again and compressed it with pglz, for a value read only
when a device replays a batch. The response is now kept as the bytes sent (lz4 where the server
supports it) and the ack in a column of its own; rows stored before keep their ack inside.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("push_batches", sa.Column("ack_seq", sa.BigInteger(), nullable=True))
    op.execute(
        "ALTER TABLE push_batches ALTER COLUMN response TYPE bytea"
        " USING convert_to(response::text, 'UTF8')"
    )
    # lz4 compresses several times faster than the default pglz; a server built without it
    # keeps pglz.
    op.execute(
        """
        DO $$ BEGIN
            ALTER TABLE push_batches ALTER COLUMN response SET COMPRESSION lz4;
        EXCEPTION WHEN feature_not_supported THEN NULL;
        END $$
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE push_batches ALTER COLUMN response SET COMPRESSION default")
    op.execute(
        "ALTER TABLE push_batches ALTER COLUMN response TYPE jsonb USING CASE"
        " WHEN ack_seq IS NULL THEN convert_from(response, 'UTF8')::jsonb"
        " ELSE jsonb_set(convert_from(response, 'UTF8')::jsonb, '{ack_seq}', to_jsonb(ack_seq))"
        " END"
    )
    op.drop_column("push_batches", "ack_seq")
