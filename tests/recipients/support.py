"""A published route for today, its driver's handheld and the recipients' tracking links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.factories import Api, point
from tests.sync.factories import Handheld


@dataclass
class Scene:
    api: Api
    hub: dict[str, Any]
    driver: dict[str, Any]
    handheld: Handheld
    route: dict[str, Any]
    shipments: list[dict[str, Any]]

    def token(self, n: int) -> str:
        return self.shipments[n]["tracking_token"]

    async def load_and_start(self) -> None:
        """Every parcel scanned onto the van, the route started: out for delivery."""
        events = [self.handheld.event("scan_loaded", shipment_id=s["id"]) for s in self.shipments]
        events.append(self.handheld.event("route_started", data={"route_id": self.route["id"]}))
        result = await self.handheld.push(events)
        assert all(r["status"] == "accepted" for r in result["results"]), result

    async def deliver(self, n: int) -> None:
        event = self.handheld.event(
            "delivered", 60, shipment_id=self.shipments[n]["id"], data={"handoff": "recipient"}
        )
        result = await self.handheld.push([event])
        assert result["results"][0]["status"] == "accepted", result


async def scene(api: Api, stops: int = 8, **shipment_fields: Any) -> Scene:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    shipments = [
        await api.shipment(hub["id"], location=point(13.40 + 0.002 * n, 52.50), **shipment_fields)
        for n in range(stops)
    ]
    today = datetime.now(UTC).date().isoformat()
    route = await api.route(driver["id"], hub["id"], [s["id"] for s in shipments], date=today)
    route = await api.publish_route(route["id"])
    handheld = Handheld(await api.as_driver(driver, "device-1"), "device-1")
    return Scene(api, hub, driver, handheld, route, shipments)


async def track(api: Api, token: str) -> dict[str, Any]:
    response = await api.client.get(f"/v1/track/{token}")
    assert response.status_code == 200, response.text
    return response.json()


async def instruct(api: Api, token: str, body: dict[str, Any]):
    return await api.client.post(f"/v1/track/{token}/instructions", json=body)
