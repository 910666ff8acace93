"""A driver with a published route and a handheld, to move shipments through their statuses."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from backend.live.hub import Subscription
from tests.factories import Api
from tests.sync.factories import Handheld


@dataclass
class Round:
    admin: Api
    hub: dict[str, Any]
    shipments: list[dict[str, Any]]
    handheld: Handheld

    async def scan(self, event_type: str, index: int = 0, **fields: Any) -> dict[str, Any]:
        event = self.handheld.event(event_type, shipment_id=self.shipments[index]["id"], **fields)
        result = await self.handheld.push([event])
        assert result["results"][0]["status"] == "accepted", result
        return result

    async def load(self, index: int = 0) -> None:
        await self.scan("scan_loaded", index)

    async def deliver(self, index: int = 0) -> None:
        await self.scan("delivered", index, data={"handoff": "recipient"})

    async def fail(self, index: int = 0) -> None:
        await self.scan("delivery_failed", index, data={"reason": "recipient_absent"})


async def delivery_round(admin: Api, count: int = 1, **shipment: Any) -> Round:
    hub = await admin.hub()
    driver = await admin.driver(hub["id"])
    shipments = [await admin.shipment(hub["id"], **shipment) for _ in range(count)]
    route = await admin.route(driver["id"], hub["id"], [s["id"] for s in shipments])
    await admin.publish_route(route["id"])
    device_id = f"device-{uuid.uuid4().hex[:8]}"
    handheld = Handheld(await admin.as_driver(driver, device_id), device_id)
    return Round(admin, hub, shipments, handheld)


async def next_message(subscription: Subscription, within: float = 10.0):
    """The next delivery; a generous timeout only so a broken feed fails instead of hanging."""
    delivery = await asyncio.wait_for(subscription.next(), within)
    assert delivery is not None, "the subscription was cut off"
    return delivery[0]
