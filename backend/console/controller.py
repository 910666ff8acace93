"""`/console`: the dispatch console (static files under a strict CSP) and the board it reads.

The page is plain HTML, CSS and ES modules (no build step); it signs in through
`POST /v1/auth/token` and reads the JSON API and `WS /v1/live` like any other client.
"""

import datetime as dt
import re
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from backend.auth.guards import staff_only
from backend.config import Settings, tile_origin
from backend.console.schemas import BoardRoute, ConsoleConfig
from backend.console.service import ConsoleService
from backend.console.static import StaticFile, static_file
from backend.db.session import DbSession
from backend.lib.clock import utcnow
from backend.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
_NOT_FOUND = "<!doctype html><title>Not found</title><h1>Not found</h1>"


def content_security_policy(settings: Settings, host: str | None) -> str:
    """Scripts, styles and data from this server only; images also from the tile server; the
    live feed's WebSocket on this host (named too, for browsers whose 'self' skips ws:)."""
    tiles = tile_origin(settings.map_tile_url)
    images = "'self' data:" + (f" {tiles}" if tiles and tiles != "'self'" else "")
    sockets = f" ws://{host} wss://{host}" if host and _HOST.fullmatch(host) else ""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'{sockets}; font-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class ConsolePageController(Controller):
    path = "/console"
    tags = ["console"]
    include_in_schema = False
    opt = {"exclude_from_auth": True}

    @get("/")
    async def index(
        self, request: Request[Any, Any, Any], settings: NamedDependency[Settings]
    ) -> Response[bytes]:
        """The console's single page; it signs in by itself."""
        return _serve(request, settings, static_file("index.html"))

    @get("/static/{path:path}")
    async def asset(
        self,
        path: FromPath[str],
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
    ) -> Response[bytes]:
        """The console's own scripts and styles, and the vendored libraries."""
        return _serve(request, settings, static_file(path))

    @get("/config.json")
    async def config(self, settings: NamedDependency[Settings]) -> ConsoleConfig:
        """Public: the map's tile URL (empty for none) and its attribution. No secrets."""
        return ConsoleConfig(
            tile_url=settings.map_tile_url, tile_attribution=settings.map_tile_attribution
        )


class ConsoleController(Controller):
    path = "/v1/console"
    tags = ["console"]
    guards = [staff_only]

    @get("/board", summary="Routes of a day with progress and their stops")
    async def board(
        self,
        db_session: DbSession,
        date: FromQuery[dt.date | None] = None,
        hub_id: FromQuery[UUID | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[BoardRoute]:
        """The published, started and completed routes of `date` (default: today, UTC), with
        their driver's name, progress (`total`, `done`, `delivered`) and active stops in
        sequence: shipment status, delivery point (GeoJSON), ETA and window. Pages of routes
        by id. 401 without a token, 403 for other roles, 422 for a malformed date, hub id,
        limit or cursor (the field named)."""
        day = date or utcnow().date()
        return await ConsoleService(db_session).board(day, hub_id, cursor, limit)


def _serve(
    request: Request[Any, Any, Any], settings: Settings, found: StaticFile | None
) -> Response[bytes]:
    headers = {
        "Content-Security-Policy": content_security_policy(settings, request.headers.get("host")),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }
    if found is None:
        headers["Cache-Control"] = "no-store"
        return Response(
            _NOT_FOUND.encode(), status_code=404, media_type="text/html", headers=headers
        )
    headers |= {"Cache-Control": found.cache_control, "ETag": found.etag}
    if request.headers.get("if-none-match") == found.etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)
