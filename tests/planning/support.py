"""A small planning day: a hub with a zone, drivers with vans, shipments around the hub, and a
plan worker running in the test's own event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar

from backend.db.session import make_engine, make_sessionmaker
from backend.planning.settings import PlanningSettings
from backend.planning.worker import PlanWorker, plan_workers_config
from tests.factories import CENTER, Api, square


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def window(start_hour: float, end_hour: float) -> dict[str, str]:
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "start": (day + timedelta(hours=start_hour)).isoformat(),
        "end": (day + timedelta(hours=end_hour)).isoformat(),
    }


@dataclass
class Day:
    api: Api
    hub: dict[str, Any]
    zone: dict[str, Any]
    drivers: list[dict[str, Any]]
    shipments: list[str]


async def make_day(api: Api, drivers: int = 2, shipments: int = 8, **shipment_fields: Any) -> Day:
    hub = await api.hub()
    zone = await api.zone(hub["id"], area=square(*CENTER, 0.05))
    team = [
        await api.driver(hub["id"], vehicle={"kind": "van", "capacity_parcels": 100})
        for _ in range(drivers)
    ]
    ids = [
        (
            await api.shipment(
                hub["id"],
                lon=CENTER[0] + 0.003 * (i % 4),
                lat=CENTER[1] + 0.002 * (i // 4),
                **shipment_fields,
            )
        )["id"]
        for i in range(shipments)
    ]
    return Day(api, hub, zone, team, ids)


async def plan_worker(app: Litestar, **settings_overrides: Any) -> AsyncIterator[PlanWorker]:
    settings = app.state.settings
    engine = make_engine(settings)
    planning = PlanningSettings.of(settings)
    for key, value in settings_overrides.items():
        object.__setattr__(planning, key, value)
    yield PlanWorker(
        make_sessionmaker(engine), planning, poll_seconds=0.05, **plan_workers_config()
    )
    await engine.dispose()


async def solved(api: Api, worker: PlanWorker, plan_id: str) -> dict[str, Any]:
    """Let the worker take queued plans until this one is finished; return it."""
    for _ in range(10):
        if await worker.run_once() is None:
            break
    response = await api.get(f"/v1/plans/{plan_id}")
    assert response.status_code == 200, response.text
    return response.json()
