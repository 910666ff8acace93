from litestar import Controller, Response, get
from litestar.di import NamedDependency
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.lib.errors import problem
from backend.live.hub import LiveRuntime


class HealthController(Controller):
    tags = ["system"]

    @get("/healthz", exclude_from_auth=True)
    async def healthz(self) -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @get("/readyz", exclude_from_auth=True)
    async def readyz(
        self, engine: NamedDependency[AsyncEngine], live_runtime: NamedDependency[LiveRuntime]
    ) -> Response[dict[str, str]] | dict[str, str]:
        """The database and PostGIS answer, and this process can publish to the live feeds."""
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
        return {"status": "ready", "postgis": str(postgis), "live": "ok"}
