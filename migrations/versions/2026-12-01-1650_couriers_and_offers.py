"""couriers and offers

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-01-1650

Courier applications with their documents, background checks, recorded transitions, document
read log and applicant messages; courier profiles (online status, position, availability); work
offers and the couriers they were made to.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "courier_document_reads",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("reader_kind", sa.String(length=20), nullable=False),
        sa.Column("reader_id", sa.Uuid(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courier_document_reads")),
    )
    op.create_index(
        "ix_courier_document_reads_application",
        "courier_document_reads",
        ["application_id"],
        unique=False,
    )
    op.create_table(
        "courier_applications",
        sa.Column("status", sa.String(length=20), server_default="draft", nullable=False),
        sa.Column(
            "status_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("vehicle_kind", sa.String(length=20), nullable=False),
        sa.Column("vehicle_plate", sa.String(length=20), nullable=True),
        sa.Column("capacity_parcels", sa.Integer(), nullable=True),
        sa.Column("capacity_kg", sa.Numeric(precision=10, scale=2, asdecimal=False), nullable=True),
        sa.Column(
            "preferred_zone_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "availability",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_code_hash", sa.String(length=64), nullable=True),
        sa.Column("email_code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_code_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("email_codes_sent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=True),
        sa.Column("suspended_for", sa.String(length=40), nullable=True),
        sa.Column("documents_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_from", sa.String(length=64), nullable=True),
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
            "status IN ('draft', 'submitted', 'under_review', 'checks_pending', 'approved', 'rejected', 'active', 'suspended', 'offboarded')",
            name=op.f("ck_courier_applications_status"),
        ),
        sa.CheckConstraint(
            "vehicle_kind IN ('bike', 'cargo_bike', 'scooter', 'car', 'van')",
            name=op.f("ck_courier_applications_vehicle_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_courier_applications_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courier_applications")),
        sa.UniqueConstraint("driver_id", name=op.f("uq_courier_applications_driver_id")),
    )
    op.create_index(
        op.f("ix_courier_applications_created_from"),
        "courier_applications",
        ["created_from"],
        unique=False,
    )
    op.create_index(
        "ix_courier_applications_status_city",
        "courier_applications",
        ["status", "city"],
        unique=False,
    )
    op.create_index(
        "uq_courier_applications_open_email",
        "courier_applications",
        ["email"],
        unique=True,
        postgresql_where=sa.text("status NOT IN ('rejected', 'offboarded')"),
    )
    op.create_table(
        "courier_checks",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="requested", nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("result_message_id", sa.String(length=200), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
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
            "status IN ('requested', 'clear', 'consider', 'failed')",
            name=op.f("ck_courier_checks_status"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["courier_applications.id"],
            name=op.f("fk_courier_checks_application_id_courier_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_courier_checks_requested_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courier_checks")),
    )
    op.create_index(
        op.f("ix_courier_checks_application_id"), "courier_checks", ["application_id"], unique=False
    )
    op.create_table(
        "courier_documents",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("blob_sha256", sa.String(length=64), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('id_card', 'drivers_license', 'insurance', 'vehicle_registration', 'right_to_work')",
            name=op.f("ck_courier_documents_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'verified', 'rejected', 'superseded')",
            name=op.f("ck_courier_documents_status"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["courier_applications.id"],
            name=op.f("fk_courier_documents_application_id_courier_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["blob_sha256"], ["blobs.sha256"], name=op.f("fk_courier_documents_blob_sha256_blobs")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_courier_documents_reviewed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courier_documents")),
    )
    op.create_index(
        "ix_courier_documents_application_kind",
        "courier_documents",
        ["application_id", "kind"],
        unique=False,
    )
    op.create_table(
        "courier_messages",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("provider", sa.String(length=60), nullable=True),
        sa.Column("provider_ref", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["courier_applications.id"],
            name=op.f("fk_courier_messages_application_id_courier_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courier_messages")),
    )
    op.create_index(
        "ix_courier_messages_application",
        "courier_messages",
        ["application_id", "created_at"],
        unique=False,
    )
    op.create_geospatial_table(
        "courier_profiles",
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("online", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("online_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "position",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
            ),
            nullable=True,
        ),
        sa.Column("position_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "availability",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "zone_ids", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["courier_applications.id"],
            name=op.f("fk_courier_profiles_application_id_courier_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_courier_profiles_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("driver_id", name=op.f("pk_courier_profiles")),
        sa.UniqueConstraint("application_id", name=op.f("uq_courier_profiles_application_id")),
    )
    op.create_table(
        "courier_transitions",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "actor_kind IN ('applicant', 'staff', 'system', 'provider')",
            name=op.f("ck_courier_transitions_actor_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["courier_applications.id"],
            name=op.f("fk_courier_transitions_application_id_courier_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courier_transitions")),
    )
    op.create_index(
        "ix_courier_transitions_application",
        "courier_transitions",
        ["application_id", "at"],
        unique=False,
    )
    op.create_geospatial_table(
        "offers",
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=True),
        sa.Column(
            "shipment_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("stops", sa.Integer(), nullable=False),
        sa.Column("parcels", sa.Integer(), nullable=False),
        sa.Column("weight_kg", sa.Numeric(precision=12, scale=3, asdecimal=False), nullable=False),
        sa.Column(
            "anchor",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("pay_amount", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column("pay_currency", sa.String(length=3), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("radius_m", sa.Numeric(precision=12, scale=1, asdecimal=False), nullable=True),
        sa.Column(
            "excluded", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("out_of_range", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("winner_driver_id", sa.Uuid(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
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
            "status IN ('open', 'accepted', 'expired', 'withdrawn')", name=op.f("ck_offers_status")
        ),
        sa.CheckConstraint("pay_amount >= 0", name=op.f("ck_offers_pay_amount")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_offers_created_by_users")
        ),
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], name=op.f("fk_offers_hub_id_hubs")),
        sa.ForeignKeyConstraint(
            ["route_id"], ["routes.id"], name=op.f("fk_offers_route_id_routes")
        ),
        sa.ForeignKeyConstraint(
            ["winner_driver_id"], ["drivers.id"], name=op.f("fk_offers_winner_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    op.create_index(
        "ix_offers_open_expiry",
        "offers",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(op.f("ix_offers_route_id"), "offers", ["route_id"], unique=False)
    op.create_table(
        "offer_recipients",
        sa.Column("offer_id", sa.Uuid(), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("response", sa.String(length=20), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "response IN ('accepted', 'declined')", name=op.f("ck_offer_recipients_response")
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_offer_recipients_driver_id_drivers")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_offer_recipients_offer_id_offers")
        ),
        sa.PrimaryKeyConstraint("offer_id", "driver_id", name=op.f("pk_offer_recipients")),
    )
    op.create_index("ix_offer_recipients_driver", "offer_recipients", ["driver_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_offer_recipients_driver", table_name="offer_recipients")
    op.drop_table("offer_recipients")
    op.drop_index(op.f("ix_offers_route_id"), table_name="offers")
    op.drop_index(
        "ix_offers_open_expiry", table_name="offers", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_geospatial_table("offers")
    op.drop_index("ix_courier_transitions_application", table_name="courier_transitions")
    op.drop_table("courier_transitions")
    op.drop_geospatial_table("courier_profiles")
    op.drop_index("ix_courier_messages_application", table_name="courier_messages")
    op.drop_table("courier_messages")
    op.drop_index("ix_courier_documents_application_kind", table_name="courier_documents")
    op.drop_table("courier_documents")
    op.drop_index(op.f("ix_courier_checks_application_id"), table_name="courier_checks")
    op.drop_table("courier_checks")
    op.drop_index(
        "uq_courier_applications_open_email",
        table_name="courier_applications",
        postgresql_where=sa.text("status NOT IN ('rejected', 'offboarded')"),
    )
    op.drop_index("ix_courier_applications_status_city", table_name="courier_applications")
    op.drop_index(op.f("ix_courier_applications_created_from"), table_name="courier_applications")
    op.drop_table("courier_applications")
    op.drop_index("ix_courier_document_reads_application", table_name="courier_document_reads")
    op.drop_table("courier_document_reads")
