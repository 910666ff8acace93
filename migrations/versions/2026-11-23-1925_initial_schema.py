"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 19:25:33.090908
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography, Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_geospatial_table(
        "hubs",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column(
            "location",
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
        sa.Column("address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hubs")),
        sa.UniqueConstraint("code", name=op.f("uq_hubs_code")),
    )
    op.create_geospatial_index(
        "idx_hubs_location",
        "hubs",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("topic", sa.String(length=80), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "available_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["available_at"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.create_table(
        "users",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
            "role IN ('admin', 'dispatcher', 'driver', 'partner')", name=op.f("ck_users_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "drivers",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("home_hub_id", sa.Uuid(), nullable=False),
        sa.Column("employment", sa.String(length=20), server_default="employee", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
            "employment IN ('employee', 'courier')", name=op.f("ck_drivers_employment")
        ),
        sa.ForeignKeyConstraint(
            ["home_hub_id"], ["hubs.id"], name=op.f("fk_drivers_home_hub_id_hubs")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_drivers_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drivers")),
        sa.UniqueConstraint("user_id", name=op.f("uq_drivers_user_id")),
    )
    op.create_index(op.f("ix_drivers_home_hub_id"), "drivers", ["home_hub_id"], unique=False)
    op.create_geospatial_table(
        "pickup_points",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "location",
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
        sa.Column("hub_id", sa.Uuid(), nullable=True),
        sa.Column("opening_hours", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
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
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], name=op.f("fk_pickup_points_hub_id_hubs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pickup_points")),
    )
    op.create_geospatial_index(
        "idx_pickup_points_location",
        "pickup_points",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_pickup_points_hub_id"), "pickup_points", ["hub_id"], unique=False)
    op.create_geospatial_table(
        "zones",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column(
            "area",
            Geometry(
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
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
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], name=op.f("fk_zones_hub_id_hubs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
    )
    op.create_geospatial_index(
        "idx_zones_area",
        "zones",
        ["area"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_zones_hub_id"), "zones", ["hub_id"], unique=False)
    op.create_table(
        "devices",
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column(
            "first_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_devices_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("driver_id", "device_id", name=op.f("uq_devices_driver_id_device_id")),
    )
    op.create_index(op.f("ix_devices_driver_id"), "devices", ["driver_id"], unique=False)
    op.create_table(
        "routes",
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="draft", nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
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
            "status IN ('draft', 'published', 'in_progress', 'completed', 'cancelled')",
            name=op.f("ck_routes_status"),
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_routes_driver_id_drivers")
        ),
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], name=op.f("fk_routes_hub_id_hubs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routes")),
    )
    op.create_index("ix_routes_date_driver", "routes", ["date", "driver_id"], unique=False)
    op.create_index("ix_routes_driver_status", "routes", ["driver_id", "status"], unique=False)
    op.create_geospatial_table(
        "shipments",
        sa.Column("reference", sa.String(length=120), nullable=True),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("zone_id", sa.Uuid(), nullable=True),
        sa.Column("outside_zones", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("tracking_number", sa.String(length=20), nullable=False),
        sa.Column("tracking_token", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="created", nullable=False),
        sa.Column("recipient", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("address", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "location",
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
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("service_level", sa.String(length=20), server_default="standard", nullable=False),
        sa.Column(
            "requirements",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_count", sa.Integer(), server_default="0", nullable=False),
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
            "service_level IN ('standard', 'express', 'same_day')",
            name=op.f("ck_shipments_service_level"),
        ),
        sa.CheckConstraint(
            "status IN ('created', 'at_hub', 'out_for_delivery', 'delivered', 'attempt_failed', 'with_partner', 'returned', 'cancelled')",
            name=op.f("ck_shipments_status"),
        ),
        sa.CheckConstraint(
            "window_end IS NULL OR window_end > window_start", name=op.f("ck_shipments_window")
        ),
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], name=op.f("fk_shipments_hub_id_hubs")),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_shipments_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
        sa.UniqueConstraint("tracking_number", name=op.f("uq_shipments_tracking_number")),
        sa.UniqueConstraint("tracking_token", name=op.f("uq_shipments_tracking_token")),
    )
    op.create_index(
        "ix_shipments_hub_status", "shipments", ["hub_id", "status", "id"], unique=False
    )
    op.create_geospatial_index(
        "ix_shipments_location",
        "shipments",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_shipments_reference"), "shipments", ["reference"], unique=False)
    op.create_index(op.f("ix_shipments_status"), "shipments", ["status"], unique=False)
    op.create_index(op.f("ix_shipments_zone_id"), "shipments", ["zone_id"], unique=False)
    op.create_table(
        "vehicles",
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("capacity_parcels", sa.Integer(), nullable=True),
        sa.Column("capacity_kg", sa.Numeric(precision=10, scale=2, asdecimal=False), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_vehicles_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicles")),
        sa.UniqueConstraint("driver_id", name=op.f("uq_vehicles_driver_id")),
    )
    op.create_table(
        "parcels",
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("barcode", sa.String(length=64), nullable=False),
        sa.Column("weight_kg", sa.Numeric(precision=10, scale=3, asdecimal=False), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_parcels_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcels")),
        sa.UniqueConstraint("barcode", name=op.f("uq_parcels_barcode")),
    )
    op.create_index(op.f("ix_parcels_shipment_id"), "parcels", ["shipment_id"], unique=False)
    op.create_table(
        "shipment_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "data", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "anomalies",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.CheckConstraint(
            "source IN ('dispatch', 'recipient', 'partner', 'device')",
            name=op.f("ck_shipment_events_source"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_shipment_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_shipment_events_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_events")),
    )
    op.create_index(
        "ix_shipment_events_shipment_order",
        "shipment_events",
        ["shipment_id", "effective_at"],
        unique=False,
    )
    op.create_table(
        "stops",
        sa.Column("route_id", sa.Uuid(), nullable=False),
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["route_id"], ["routes.id"], name=op.f("fk_stops_route_id_routes")),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_stops_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stops")),
    )
    op.create_index("ix_stops_route_sequence", "stops", ["route_id", "sequence"], unique=False)
    op.create_index(
        "uq_stops_active_shipment",
        "stops",
        ["shipment_id"],
        unique=True,
        postgresql_where=sa.text("active"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_stops_active_shipment", table_name="stops", postgresql_where=sa.text("active")
    )
    op.drop_index("ix_stops_route_sequence", table_name="stops")
    op.drop_table("stops")
    op.drop_index("ix_shipment_events_shipment_order", table_name="shipment_events")
    op.drop_table("shipment_events")
    op.drop_index(op.f("ix_parcels_shipment_id"), table_name="parcels")
    op.drop_table("parcels")
    op.drop_table("vehicles")
    op.drop_index(op.f("ix_shipments_zone_id"), table_name="shipments")
    op.drop_index(op.f("ix_shipments_status"), table_name="shipments")
    op.drop_index(op.f("ix_shipments_reference"), table_name="shipments")
    op.drop_geospatial_index(
        "ix_shipments_location",
        table_name="shipments",
        postgresql_using="gist",
        column_name="location",
    )
    op.drop_index("ix_shipments_hub_status", table_name="shipments")
    op.drop_geospatial_table("shipments")
    op.drop_index("ix_routes_driver_status", table_name="routes")
    op.drop_index("ix_routes_date_driver", table_name="routes")
    op.drop_table("routes")
    op.drop_index(op.f("ix_devices_driver_id"), table_name="devices")
    op.drop_table("devices")
    op.drop_index(op.f("ix_zones_hub_id"), table_name="zones")
    op.drop_geospatial_index(
        "idx_zones_area", table_name="zones", postgresql_using="gist", column_name="area"
    )
    op.drop_geospatial_table("zones")
    op.drop_index(op.f("ix_pickup_points_hub_id"), table_name="pickup_points")
    op.drop_geospatial_index(
        "idx_pickup_points_location",
        table_name="pickup_points",
        postgresql_using="gist",
        column_name="location",
    )
    op.drop_geospatial_table("pickup_points")
    op.drop_index(op.f("ix_drivers_home_hub_id"), table_name="drivers")
    op.drop_table("drivers")
    op.drop_table("users")
    op.drop_index(
        "ix_outbox_pending", table_name="outbox", postgresql_where=sa.text("processed_at IS NULL")
    )
    op.drop_table("outbox")
    op.drop_geospatial_index(
        "idx_hubs_location", table_name="hubs", postgresql_using="gist", column_name="location"
    )
    op.drop_geospatial_table("hubs")
