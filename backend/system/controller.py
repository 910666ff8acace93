from html import escape

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.replicas import ReplicaRouter
from backend.lib.errors import Unavailable, problem
from backend.lib.openapi import raises, raw_response
from backend.live.hub import LiveRuntime

# What `/` points at: the first page an operator opens after `scripts/serve`.
LINKS = {
    "console": ("/console", "dispatch console"),
    "api": ("/v1", "the API"),
    "docs": ("/schema", "API documentation"),
    "swagger": ("/schema/swagger", "Swagger UI"),
    "openapi": ("/schema/openapi.json", "OpenAPI document"),
    "health": ("/healthz", "liveness"),
    "ready": ("/readyz", "readiness: database, PostGIS, live feeds"),
}


class HealthController(Controller):
    tags = ["system"]

    @get("/", exclude_from_auth=True, include_in_schema=False)
    async def index(self, request: Request) -> Response[object]:
        """Links to the docs and the health checks: HTML for a browser, JSON otherwise."""
        if request.accept.best_match([MediaType.JSON, MediaType.HTML]) == MediaType.HTML:
            items = "".join(
                f'<li><a href="{escape(href)}">{escape(title)}</a> <code>{escape(href)}</code></li>'
                for href, title in LINKS.values()
            )
            page = (
                f"<!doctype html><title>Lastmile API</title><h1>Lastmile API</h1><ul>{items}</ul>"
            )
            return Response(page, media_type=MediaType.HTML)
        body = {"name": "Lastmile API", "links": {k: href for k, (href, _) in LINKS.items()}}
        return Response(body, media_type=MediaType.JSON)

    @get("/healthz", exclude_from_auth=True)
    async def healthz(self) -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @get(
        "/readyz",
        exclude_from_auth=True,
        opt=raises((Unavailable, "not_ready"))
        | raw_response("application/json", description="Ready: the database and PostGIS versions"),
    )
    async def readyz(
        self,
        engine: NamedDependency[AsyncEngine],
        live_runtime: NamedDependency[LiveRuntime],
        replicas: NamedDependency[ReplicaRouter],
    ) -> Response[dict[str, str]] | dict[str, object]:
        """The database and PostGIS answer, and this process can publish to the live feeds.
        `reads` shows where this process's replica-tolerant reads go: each configured replica's
        state (`streaming`, `lagging`, `down`, `not_a_replica`, `unknown`) and measured lag. A
        replica that is down or behind never makes the service unready: the primary serves."""
        try:
            async with engine.connect() as connection:
                postgis = await connection.scalar(text("SELECT postgis_lib_version()"))
        except Exception as exc:  # any failure here means "not ready", never a 500
            return problem(
                503,
                f"database not reachable: {type(exc).__name__}",
                code="not_ready",
                headers={"Retry-After": "5"},
            )
        if live_problem := await live_runtime.health():
            return problem(503, live_problem, code="not_ready", headers={"Retry-After": "5"})
        return {
            "status": "ready",
            "postgis": str(postgis),
            "live": "ok",
            "reads": replicas.health(),
        }
