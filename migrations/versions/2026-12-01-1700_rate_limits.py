"""rate limits kept in PostgreSQL

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-01-1700

One row per rate limit key (GCRA's theoretical arrival time), for API processes that share
their limits through PostgreSQL (`LASTMILE_RATE_LIMIT_BACKEND=postgres`, or `auto` with several
workers). UNLOGGED: the budgets are worthless after a crash and are written on every limited
request.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tat", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
