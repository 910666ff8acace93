"""Settings, read once from `LASTMILE_*` environment variables and validated at start.

Every setting is documented in docs/configuration.md; keep the two in step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

PREFIX = "LASTMILE_"
# `COUNT/PERIOD` (period: a number of s, m, h or d: `10/15m`), or `off`.
RateSetting = Annotated[str, Meta(pattern=r"^(off|[1-9][0-9]{0,8}/[1-9][0-9]{0,5}[smhd])$")]
DEV_SECRET_KEY = "lastmile-development-secret-change-me-in-production"


class SettingsError(ValueError):
    """A setting has a bad value; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/lastmile"
    secret_key: Annotated[str, Meta(min_length=32)] = DEV_SECRET_KEY
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8000
    workers: Annotated[int, Meta(ge=1, le=64)] = 1
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    token_ttl_seconds: Annotated[int, Meta(ge=60, le=7 * 86400)] = 12 * 3600
    bootstrap_admin_email: str | None = None
    bootstrap_admin_password: Annotated[str, Meta(min_length=8)] | None = None
    db_pool_size: Annotated[int, Meta(ge=1, le=200)] = 10
    max_body_bytes: Annotated[int, Meta(ge=1024)] = 1024 * 1024
    anonymous_max_body_bytes: Annotated[int, Meta(ge=256)] = 8 * 1024
    sign_in_max_body_bytes: Annotated[int, Meta(ge=256)] = 2 * 1024
    bulk_max_bytes: Annotated[int, Meta(ge=1024)] = 20 * 1024 * 1024
    bulk_max_shipments: Annotated[int, Meta(ge=1, le=100_000)] = 10_000
    sync_max_events: Annotated[int, Meta(ge=1, le=100_000)] = 1_000
    sync_max_bytes: Annotated[int, Meta(ge=1024)] = 5 * 1024 * 1024
    sync_retention_days: Annotated[int, Meta(ge=1, le=3650)] = 14
    blob_dir: str = "var/blobs"
    blob_max_bytes: Annotated[int, Meta(ge=1024, le=1024 * 1024 * 1024)] = 10 * 1024 * 1024
    blob_backend: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None
    s3_bucket: str = "lastmile-blobs"
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    pod_geofence_m: Annotated[float, Meta(ge=1, le=100_000)] = 150.0
    channels_backend: Literal["postgres", "redis", "memory"] = "postgres"
    redis_url: str = "redis://127.0.0.1:6379/0"
    live_position_interval_seconds: Annotated[float, Meta(ge=0, le=3600)] = 5.0
    live_feed_retention_days: Annotated[int, Meta(ge=1, le=3650)] = 30
    notifications_provider: str = "record"
    public_url: str = "http://127.0.0.1:8000"
    embedded_worker: bool = True
    worker_poll_seconds: Annotated[float, Meta(gt=0, le=60)] = 1.0
    tracking_max_pings: Annotated[int, Meta(ge=1, le=10_000)] = 1_000
    tracking_retention_days: Annotated[int, Meta(ge=1, le=3650)] = 30
    tracking_stale_seconds: Annotated[int, Meta(ge=30, le=86_400)] = 300
    tracking_jobs_seconds: Annotated[float, Meta(gt=0, le=3600)] = 30.0
    eta_speed_kmh: Annotated[float, Meta(gt=0, le=200)] = 25.0
    eta_detour_factor: Annotated[float, Meta(ge=1, le=5)] = 1.3
    eta_service_seconds: Annotated[int, Meta(ge=0, le=7200)] = 180
    eta_change_threshold_seconds: Annotated[int, Meta(ge=0, le=86_400)] = 600
    track_position_within_stops: Annotated[int, Meta(ge=0, le=100)] = 3
    instruction_lock_stops: Annotated[int, Meta(ge=0, le=100)] = 3
    pickup_point_max_m: Annotated[float, Meta(gt=0, le=100_000)] = 3_000.0
    reschedule_max_days: Annotated[int, Meta(ge=1, le=90)] = 14
    rate_limit_backend: Literal["auto", "memory", "postgres", "redis"] = "auto"
    rate_limit_sign_in_account: RateSetting = "10/15m"
    rate_limit_sign_in_address: RateSetting = "100/15m"
    rate_limit_account: RateSetting = "1200/1m"
    rate_limit_instructions: RateSetting = "10/1h"
    rate_limit_streams: RateSetting = "30/1m"
    live_max_connections: Annotated[int, Meta(ge=1, le=1_000_000)] = 5_000
    live_max_connections_per_key: Annotated[int, Meta(ge=1, le=10_000)] = 10
    cors_allowed_origins: str | None = None
    max_window_hours: Annotated[int, Meta(ge=1, le=24 * 366)] = 7 * 24
    plausible_days: Annotated[int, Meta(ge=1, le=3650)] = 366
    zone_max_area_km2: Annotated[float, Meta(gt=0, le=510_000_000)] = 50_000.0
    # KPIs (docs/kpis.md): the cost model, the longest range a query may ask for, and the
    # periodic check of hubs' targets (every `kpi_check_seconds`, over the last
    # `kpi_check_days` complete local days of each hub).
    kpi_cost_per_km: Annotated[float, Meta(ge=0, le=1_000_000)] = 0.35
    kpi_cost_per_driver_hour: Annotated[float, Meta(ge=0, le=1_000_000)] = 24.0
    kpi_cost_per_partner_parcel: Annotated[float, Meta(ge=0, le=1_000_000)] = 4.5
    kpi_currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")] = "EUR"
    kpi_max_range_days: Annotated[int, Meta(ge=1, le=3660)] = 92
    kpi_check_seconds: Annotated[float, Meta(gt=0, le=86_400)] = 900.0
    kpi_check_days: Annotated[int, Meta(ge=1, le=92)] = 7

    def __post_init__(self) -> None:
        s3 = (self.s3_endpoint_url, self.s3_access_key_id, self.s3_secret_access_key)
        if self.blob_backend == "s3" and not all(s3):
            raise ValueError(
                f"{PREFIX}BLOB_BACKEND=s3 needs {PREFIX}S3_ENDPOINT_URL, {PREFIX}S3_ACCESS_KEY_ID"
                f" and {PREFIX}S3_SECRET_ACCESS_KEY"
            )

    @property
    def cors_origins(self) -> list[str]:
        """Origins allowed to call the API from a browser: the setting, or else only the app's
        own (`public_url`), whose pages need no CORS but are named so the list is never empty."""
        if self.cors_allowed_origins is None:
            scheme, _, rest = self.public_url.partition("://")
            return [f"{scheme}://{rest.split('/', 1)[0]}"]
        return [o.strip() for o in self.cors_allowed_origins.split(",") if o.strip()]

    @property
    def async_database_url(self) -> str:
        """The URL for SQLAlchemy's asyncpg dialect, whatever scheme was given."""
        scheme, sep, rest = self.database_url.partition("://")
        if not sep or not scheme.startswith("postgres"):
            raise SettingsError(f"{PREFIX}DATABASE_URL must be a postgresql:// URL, got {scheme!r}")
        return f"postgresql+asyncpg://{rest}"

    @property
    def plain_database_url(self) -> str:
        """The URL for libpq tools and asyncpg itself."""
        return "postgresql://" + self.async_database_url.partition("://")[2]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for field in msgspec.structs.fields(cls):
            name = PREFIX + field.name.upper()
            if name in env:
                raw[field.name] = env[name]
        if "database_url" not in raw and env.get("DATABASE_URL"):
            raw["database_url"] = env["DATABASE_URL"]
        raw.update(overrides)
        try:
            settings = msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(_explain(str(exc), raw)) from None
        settings.async_database_url  # noqa: B018 - validates the scheme
        return settings


def _explain(message: str, raw: Mapping[str, object]) -> str:
    """Turn msgspec's `... - at `$.port`` into a message naming the variable and its value."""
    text, found, path = message.rpartition(" - at `$.")
    if not found:
        return f"invalid settings: {message}"
    field = path.rstrip("`")
    return f"{PREFIX}{field.upper()}={raw.get(field)!r}: {text}"
