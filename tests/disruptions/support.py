"""A day on the road at 11:00: two drivers on published routes (one stop each delivered), a
spare driver on standby, and the hub's contingency naming them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.factories import CENTER, Api, square
from tests.planning.support import today
from tests.sync.factories import Handheld

ELEVEN = datetime.now(UTC).replace(hour=11, minute=0, second=0, microsecond=0)


def at_eleven(monkeypatch: pytest.MonkeyPatch) -> None:
    """Detection and re-planning see 11:00 today, whatever the wall clock says."""
    for module in ("backend.disruptions.service", "backend.disruptions.recovery"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: ELEVEN)


@dataclass
class Road:
    api: Api
    hub: dict[str, Any]
    zone: dict[str, Any]
    drivers: list[dict[str, Any]]  # [broken, continuing]
    spare: dict[str, Any]
    handhelds: list[Handheld]
    routes: list[dict[str, Any]]
    shipments: list[list[str]]  # per driver, in route order; the first one is delivered


async def make_road(api: Api, per_route: int = 4) -> Road:
    hub = await api.hub()
    zone = await api.zone(hub["id"], area=square(*CENTER, 0.05))
    vehicle = {"kind": "van", "capacity_parcels": 50}
    drivers = [await api.driver(hub["id"], vehicle=vehicle) for _ in range(2)]
    spare = await api.driver(hub["id"], vehicle=vehicle)
    handhelds, routes, loads = [], [], []
    for n, driver in enumerate(drivers):
        ids = [
            (await api.shipment(hub["id"], lon=CENTER[0] + 0.004 * i, lat=CENTER[1] + 0.003 * n))[
                "id"
            ]
            for i in range(per_route)
        ]
        route = await api.publish_route(
            (await api.route(driver["id"], hub["id"], ids, date=today()))["id"]
        )
        device = Handheld(await api.as_driver(driver, f"device-{n}"), f"device-{n}")
        events = [device.event("scan_loaded", 1, shipment_id=sid) for sid in ids]
        events.append(
            device.event(
                "delivered",
                2,
                shipment_id=ids[0],
                data={"handoff": "recipient", "recipient_name": "A"},
            )
        )
        await device.push(events)
        await device.pull()
        handhelds.append(device)
        routes.append(route)
        loads.append(ids)
    response = await api.put(
        f"/v1/hubs/{hub['id']}/contingency",
        {"spare_driver_ids": [spare["id"]], "recovery_time_limit_s": 1},
    )
    assert response.status_code == 200, response.text
    return Road(api, hub, zone, drivers, spare, handhelds, routes, loads)


async def post_disruption(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/v1/disruptions", body)
    assert response.status_code == 202, response.text
    return response.json()


def stops_of(device: Handheld) -> set[str]:
    """Shipment ids on the device's local manifest."""
    return {data["shipment_id"] for (entity, _), data in device.local.items() if entity == "stop"}
