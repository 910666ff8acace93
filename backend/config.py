"""Settings, read once from `LASTMILE_*` environment variables and validated at start.

Every setting is documented in docs/configuration.md; keep the two in step.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Annotated, Literal, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta

PREFIX = "LASTMILE_"
# `COUNT/PERIOD` (period: a number of s, m, h or d: `10/15m`), or `off`.
RateSetting = Annotated[str, Meta(pattern=r"^(off|[1-9][0-9]{0,8}/[1-9][0-9]{0,5}[smhd])$")]
DEV_SECRET_KEY = "lastmile-development-secret-change-me-in-production"
# base64 of "lastmile-development-checks-secret": the local check provider's signing key.
DEV_CHECKS_SECRET = "whsec_bGFzdG1pbGUtZGV2ZWxvcG1lbnQtY2hlY2tzLXNlY3JldA=="


class SettingsError(ValueError):
    """A setting has a bad value; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/lastmile"
    secret_key: Annotated[str, Meta(min_length=32)] = DEV_SECRET_KEY
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8000
    workers: Annotated[int, Meta(ge=1, le=64)] = 1
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    token_ttl_seconds: Annotated[int, Meta(ge=60, le=86400)] = 15 * 60
    refresh_token_ttl_seconds: Annotated[int, Meta(ge=300, le=365 * 86400)] = 30 * 86400
    auth_subject_cache_seconds: Annotated[float, Meta(ge=0, le=60)] = 5.0
    bootstrap_admin_email: str | None = None
    bootstrap_admin_password: Annotated[str, Meta(min_length=10)] | None = None
    db_pool_size: Annotated[int, Meta(ge=1, le=200)] = 10
    # Streaming replicas for staleness-tolerant reads (docs/scaling.md): comma-separated URLs.
    database_replica_urls: str = ""
    replica_max_lag_seconds: Annotated[float, Meta(gt=0, le=3600)] = 5.0
    replica_check_seconds: Annotated[float, Meta(gt=0, le=60)] = 1.0
    replica_sticky_seconds: Annotated[int, Meta(ge=0, le=3600)] = 30
    replica_pool_size: Annotated[int, Meta(ge=1, le=200)] = 5
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
    # Where recipients' links point; unset: this server's own host and port.
    public_url: str | None = None
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
    courier_required_documents: str | None = None
    courier_checks_provider: str = "local"
    courier_checks_secret: Annotated[str, Meta(pattern=r"^whsec_[A-Za-z0-9+/=]{24,}$")] = (
        DEV_CHECKS_SECRET
    )
    courier_document_retention_days: Annotated[int, Meta(ge=1, le=3650)] = 90
    courier_email_code_ttl_seconds: Annotated[int, Meta(ge=60, le=86_400)] = 900
    courier_applications_per_hour: Annotated[int, Meta(ge=1, le=100_000)] = 10
    courier_jobs_seconds: Annotated[float, Meta(gt=0, le=86_400)] = 300.0
    webhooks_allow_private: bool = False
    webhook_max_in_flight: Annotated[int, Meta(ge=1, le=10_000)] = 128
    webhook_per_endpoint: Annotated[int, Meta(ge=1, le=1000)] = 8
    # Planning and disruption recovery (docs/planning.md).
    routing_osrm_url: str | None = None
    routing_detour_factor: Annotated[float, Meta(ge=1, le=5)] = 1.3
    routing_speeds_kmh: str = "van=25,car=28,truck=22,cargo_bike=15,bike=15,scooter=22,walk=5"
    planning_service_seconds: str = "doorstep=60,signature=120,age_check=180"
    planning_service_per_parcel_seconds: Annotated[int, Meta(ge=0, le=3600)] = 15
    planning_heavy_kg: Annotated[float, Meta(gt=0, le=10_000)] = 25.0
    planning_window_margin_s: Annotated[int, Meta(ge=0, le=3600)] = 300
    planning_default_shift: str = "08:00-18:00"
    planning_lease_seconds: Annotated[float, Meta(gt=0, le=3600)] = 30.0
    planning_max_time_limit_s: Annotated[float, Meta(gt=0, le=3600)] = 300.0
    planning_cost_per_km: Annotated[float, Meta(ge=0, le=1000)] = 0.5
    planning_cost_per_hour: Annotated[float, Meta(ge=0, le=10_000)] = 30.0
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
    # The console's map (docs/console.md): a tile URL template such as
    # `https://tile.example.org/{z}/{x}/{y}.png`, or empty for vector shapes on a blank map.
    map_tile_url: Annotated[str, Meta(max_length=500)] = ""
    map_tile_attribution: Annotated[str, Meta(max_length=300)] = ""
    # Incident detection (docs/incidents-detection.md): how often the rules and the escalation
    # run, and the escalation delay of hubs that set none.
    detection_seconds: Annotated[float, Meta(gt=0, le=3600)] = 30.0
    incident_escalation_minutes: Annotated[int, Meta(ge=1, le=10_080)] = 15

    def __post_init__(self) -> None:
        from backend.planning.settings import check_planning_settings

        check_planning_settings(self)
        if self.public_url is not None:
            _check_public_url(self.public_url)
        if self.map_tile_url:
            _check_tile_url(self.map_tile_url)
        for url in self.replica_urls:
            _check_database_url(url, f"{PREFIX}DATABASE_REPLICA_URLS")
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
            scheme, _, rest = self.public_base_url.partition("://")
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
    def replica_urls(self) -> list[str]:
        """The replicas' URLs as libpq gives them (`postgresql://…`), in the order configured."""
        return [url.strip() for url in self.database_replica_urls.split(",") if url.strip()]

    @property
    def async_replica_urls(self) -> list[str]:
        """The replicas' URLs for SQLAlchemy's asyncpg dialect."""
        return [f"postgresql+asyncpg://{url.partition('://')[2]}" for url in self.replica_urls]

    @property
    def public_base_url(self) -> str:
        """`public_url`, or the address this server listens on (loopback for a wildcard)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(self.host, self.host)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

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
        if isinstance(raw.get("log_level"), str):
            raw["log_level"] = str(raw["log_level"]).strip().upper()
        raw.update(overrides)
        try:
            settings = msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(_explain(str(exc), raw)) from None
        settings.async_database_url  # noqa: B018 - validates the scheme
        return settings

    @classmethod
    def unknown_variables(cls, environ: Mapping[str, str] | None = None) -> list[str]:
        """`LASTMILE_*` variables that are no setting (a typo is otherwise silently ignored),
        each with the closest setting's name when there is one."""
        env = os.environ if environ is None else environ
        known = {PREFIX + f.name.upper() for f in msgspec.structs.fields(cls)} | NOT_SETTINGS
        suffixes = sorted(name.removeprefix(PREFIX) for name in known)
        found = []
        for name in sorted(n for n in env if n.startswith(PREFIX) and n not in known):
            close = difflib.get_close_matches(name.removeprefix(PREFIX), suffixes, n=1, cutoff=0.75)
            found.append(f"{name} (did you mean {PREFIX}{close[0]}?)" if close else name)
        return found


# Read by the scripts and the tests, not by the application.
NOT_SETTINGS = frozenset(
    {
        f"{PREFIX}TEST_DATABASE_URL",
        f"{PREFIX}BASE_URL",
        f"{PREFIX}BENCH_KEEP",
        f"{PREFIX}FUZZ_EXAMPLES",
    }
)


def _check_public_url(url: str) -> None:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError(f"{PREFIX}PUBLIC_URL={url!r}: the port is not a number") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{PREFIX}PUBLIC_URL={url!r}: expected http(s)://host[:port][/path]")
    if parts.query or parts.fragment:
        raise ValueError(f"{PREFIX}PUBLIC_URL={url!r}: no query or fragment, a base URL only")


def _check_tile_url(url: str) -> None:
    """An absolute http(s) URL or a path on this server, with {z}, {x} and {y}; its origin goes
    into the console's Content-Security-Policy, so nothing that could break out of it."""
    bad = f"{PREFIX}MAP_TILE_URL={url!r}"
    if any(c in url for c in " ;,'\"\\<>") or not all(k in url for k in ("{z}", "{x}", "{y}")):
        raise ValueError(f"{bad}: expected a URL template with {{z}}, {{x}} and {{y}}")
    if url.startswith("/") and not url.startswith("//"):
        return
    parts = urlsplit(url.replace("{s}", "a"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{bad}: expected http(s)://host/... or a path starting with /")


def tile_origin(url: str) -> str | None:
    """The CSP source of a checked tile URL: 'self' for a path, the origin otherwise ({s}, the
    subdomain placeholder, becomes a wildcard)."""
    if not url:
        return None
    if url.startswith("/"):
        return "'self'"
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].replace('{s}', '*')}"


def _check_database_url(url: str, name: str) -> None:
    """A `postgres…://host[:port]/database` URL; the message never repeats a password."""
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.hostname or ''}…"
    if not parts.scheme.startswith("postgres") or "://" not in url:
        raise ValueError(f"{name}: expected postgresql:// URLs, got {shown!r}")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError(f"{name}: the port of {shown!r} is not a number") from None
    if not parts.hostname and "host=" not in parts.query:
        raise ValueError(f"{name}: {shown!r} names no host")


def _explain(message: str, raw: Mapping[str, object]) -> str:
    """Turn msgspec's `... - at `$.port`` into a message naming the variable and its value (and,
    for a choice, the values allowed)."""
    text, found, path = message.rpartition(" - at `$.")
    if not found:
        return message if message.startswith(PREFIX) else f"invalid settings: {message}"
    field = path.rstrip("`")
    allowed = _choices(field)
    hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
    return f"{PREFIX}{field.upper()}={raw.get(field)!r}: {text}{hint}"


def _choices(field: str) -> list[str]:
    hint = get_type_hints(Settings).get(field)
    return [str(v) for v in get_args(hint)] if get_origin(hint) is Literal else []
