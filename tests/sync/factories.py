"""A handheld as the tests see it: numbered events, pushes, and a local manifest kept by pulls."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.simulator.device import apply_page
from tests.factories import Api


def at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Handheld:
    api: Api
    device_id: str
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    local: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    cursor: str | None = None
    t0: datetime = field(default_factory=lambda: datetime.now(UTC))

    def event(self, type_: str, second: float = 0, **fields: Any) -> dict[str, Any]:
        """An event stamped `second` seconds after this handheld was made (device wall clock)."""
        return {
            "event_id": str(uuid.uuid4()),
            "seq": next(self.seq),
            "type": type_,
            "occurred_at": at(self.t0 + timedelta(seconds=second)),
        } | fields

    async def push(self, events: list[Any], batch_id: str | None = None) -> dict[str, Any]:
        response = await self.push_raw(events, batch_id)
        assert response.status_code == 200, response.text
        return response.json()

    async def push_raw(self, events: list[Any], batch_id: str | None = None):
        body = {
            "device_id": self.device_id,
            "batch_id": batch_id or str(uuid.uuid4()),
            "events": events,
        }
        return await self.api.post("/v1/sync/push", body)

    async def pull(self, limit: int = 1000) -> dict[str, Any]:
        """Pull until caught up, applying every page to the local copy; returns the last page."""
        while True:
            params: dict[str, Any] = {"limit": limit} | (
                {"cursor": self.cursor} if self.cursor else {}
            )
            response = await self.api.get("/v1/sync/pull", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            if page["reset_required"]:
                self.cursor = None
                continue
            apply_page(self.local, page)
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return page

    async def snapshot(self) -> dict[tuple[str, str], dict[str, Any]]:
        response = await self.api.get("/v1/sync/pull")
        assert response.status_code == 200, response.text
        return {(c["entity"], c["id"]): c["data"] for c in response.json()["changes"]}


@dataclass
class Fleet:
    """A hub, drivers with handhelds, and shipments on published routes."""

    api: Api
    hub: dict[str, Any]
    drivers: list[dict[str, Any]]
    handhelds: list[Handheld]
    routes: list[dict[str, Any]]
    shipments: list[list[dict[str, Any]]]


async def fleet(api: Api, drivers: int = 1, per_route: int = 3, publish: bool = True) -> Fleet:
    hub = await api.hub()
    people, handhelds, routes, loads = [], [], [], []
    for n in range(drivers):
        driver = await api.driver(hub["id"])
        shipments = [await api.shipment(hub["id"]) for _ in range(per_route)]
        route = await api.route(driver["id"], hub["id"], [s["id"] for s in shipments])
        if publish:
            route = await api.publish_route(route["id"])
        people.append(driver)
        # A device id of its own per driver, in every fleet: a device is bound to one driver.
        device_id = f"device-{n}-{driver['id'][-12:]}"
        handhelds.append(Handheld(await api.as_driver(driver, device_id), device_id))
        routes.append(route)
        loads.append(shipments)
    return Fleet(api, hub, people, handhelds, routes, loads)
