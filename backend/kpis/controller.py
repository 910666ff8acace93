import datetime as dt
from typing import Annotated
from uuid import UUID

from litestar import Controller, MediaType, Request, Response, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from backend.auth.guards import admin_only, staff_only
from backend.config import Settings
from backend.db.session import DbSession
from backend.kpis.csv_report import to_csv
from backend.kpis.definitions import GroupBy, Kpi
from backend.kpis.schemas import (
    KpiReport,
    KpiTargetList,
    KpiTargetRead,
    KpiTargetWrite,
)
from backend.kpis.service import KpiService, KpiSettings
from backend.lib.errors import Invalid
from backend.lib.openapi import raises

CSV = "text/csv"


class KpiController(Controller):
    path = "/v1/kpis"
    tags = ["kpis"]
    guards = [staff_only]

    @get(
        "",
        description="Figures per group over a range of hub-local days (docs/kpis.md); "
        "CSV with `Accept: text/csv`.",
        opt=raises((Invalid, "invalid", "range_too_long")),
    )
    async def report(
        self,
        request: Request,
        db_session: DbSession,
        settings: NamedDependency[Settings],
        from_day: Annotated[dt.date, QueryParameter(name="from", description="first local day")],
        to_day: Annotated[dt.date, QueryParameter(name="to", description="last local day")],
        group_by: FromQuery[GroupBy] = "day",
        hub_id: FromQuery[UUID | None] = None,
    ) -> Response[KpiReport]:
        service = KpiService(db_session, KpiSettings.from_settings(settings))
        report = await service.report(from_day, to_day, group_by, hub_id)
        wanted = request.accept.best_match([MediaType.JSON, CSV], default=MediaType.JSON)
        if wanted == CSV:
            return Response(to_csv(report), media_type=f"{CSV}; charset=utf-8")  # type: ignore[return-value]
        return Response(report)

    @get("/targets")
    async def list_targets(
        self,
        db_session: DbSession,
        settings: NamedDependency[Settings],
        hub_id: FromQuery[UUID | None] = None,
    ) -> KpiTargetList:
        """The KPI targets of every hub (or one): the bounds a KPI should stay within."""
        return await KpiService(db_session, KpiSettings.from_settings(settings)).targets(hub_id)

    @put("/targets/{hub_id:uuid}/{kpi:str}", guards=[admin_only], opt=raises(Invalid))
    async def set_target(
        self,
        hub_id: FromPath[UUID],
        kpi: FromPath[Kpi],
        data: JSONBody[KpiTargetWrite],
        db_session: DbSession,
        settings: NamedDependency[Settings],
    ) -> KpiTargetRead:
        """Set a hub's target for one KPI: `min`, `max` or both."""
        return await KpiService(db_session, KpiSettings.from_settings(settings)).set_target(
            hub_id, kpi, data
        )

    @delete("/targets/{hub_id:uuid}/{kpi:str}", guards=[admin_only])
    async def delete_target(
        self,
        hub_id: FromPath[UUID],
        kpi: FromPath[Kpi],
        db_session: DbSession,
        settings: NamedDependency[Settings],
    ) -> None:
        """Remove a hub's target for one KPI."""
        await KpiService(db_session, KpiSettings.from_settings(settings)).delete_target(hub_id, kpi)
