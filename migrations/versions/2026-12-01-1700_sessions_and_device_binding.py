"""sessions, refresh tokens, devices bound to one driver, device acks per driver

Revision ID: 0008
Revises: 0015
Create Date: 2026-12-01-1700

A sign-in is now a session (auth_sessions) whose refresh tokens rotate (refresh_tokens, kept by
hash); access tokens carry the session's id, so revoking a session ends them. A device id is
bound to one driver: where several drivers had signed in on the same device id, the binding of
the one seen last is kept. The push's ack is kept per (driver, device).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_sessions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=40), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_auth_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
    )
    op.create_index(op.f("ix_auth_sessions_user_id"), "auth_sessions", ["user_id"])
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_sessions.id"],
            name=op.f("fk_refresh_tokens_session_id_auth_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_refresh_tokens")),
    )
    op.create_index(op.f("ix_refresh_tokens_session_id"), "refresh_tokens", ["session_id"])

    op.execute(
        """
        DELETE FROM devices d USING devices newer
        WHERE newer.device_id = d.device_id
          AND (newer.last_seen_at, newer.id) > (d.last_seen_at, d.id)
        """
    )
    op.drop_constraint("uq_devices_driver_id_device_id", "devices", type_="unique")
    op.create_unique_constraint(op.f("uq_devices_device_id"), "devices", ["device_id"])

    op.drop_constraint("pk_device_sync", "device_sync", type_="primary")
    op.create_primary_key("pk_device_sync", "device_sync", ["driver_id", "device_id"])


def downgrade() -> None:
    op.execute(
        """
        DELETE FROM device_sync d USING device_sync newer
        WHERE newer.device_id = d.device_id
          AND (newer.updated_at, newer.driver_id) > (d.updated_at, d.driver_id)
        """
    )
    op.drop_constraint("pk_device_sync", "device_sync", type_="primary")
    op.create_primary_key("pk_device_sync", "device_sync", ["device_id"])
    op.drop_constraint(op.f("uq_devices_device_id"), "devices", type_="unique")
    op.create_unique_constraint(
        "uq_devices_driver_id_device_id", "devices", ["driver_id", "device_id"]
    )
    op.drop_index(op.f("ix_refresh_tokens_session_id"), table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index(op.f("ix_auth_sessions_user_id"), table_name="auth_sessions")
    op.drop_table("auth_sessions")
