"""Blob bytes of each type, a shipment on a published route with its driver's handheld, and
points a given distance from the delivery point."""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from typing import Any

from tests.factories import CENTER, Api
from tests.sync.factories import Handheld

SIGNATURES = {
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "application/pdf": b"%PDF-1.7\n",
}


def blob_bytes(content_type: str = "image/jpeg", size: int = 256) -> bytes:
    """Bytes that start like a file of this type, unique on every call."""
    if content_type == "image/webp":
        body = os.urandom(size)
        return b"RIFF" + len(body).to_bytes(4, "little") + b"WEBP" + body
    return SIGNATURES[content_type] + os.urandom(size)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def upload(api: Api, data: bytes, content_type: str = "image/jpeg", name: str | None = None):
    return await api.client.put(
        f"/v1/blobs/{name or sha(data)}",
        content=data,
        headers=api.headers | {"content-type": content_type},
    )


def east_of(lon: float, lat: float, metres: float) -> tuple[float, float]:
    """A point `metres` due east (good to well under a metre at these distances)."""
    return lon + metres / (111_320 * math.cos(math.radians(lat))), lat


@dataclass
class Delivery:
    api: Api
    driver: dict[str, Any]
    shipment: dict[str, Any]
    device: Handheld

    @property
    def shipment_id(self) -> str:
        return self.shipment["id"]

    async def deliver(
        self,
        data: dict[str, Any] | None = None,
        metres: float = 0.0,
        accuracy_m: float | None = 5.0,
        location: bool = True,
    ) -> dict[str, Any]:
        """Push a `delivered` event `metres` east of the delivery point; returns the event."""
        fields: dict[str, Any] = {"shipment_id": self.shipment_id}
        if location:
            lon, lat = east_of(*CENTER, metres)
            fields["location"] = {"lon": lon, "lat": lat} | (
                {"accuracy_m": accuracy_m} if accuracy_m is not None else {}
            )
        event = self.device.event(
            "delivered", 10, data={"handoff": "recipient"} | (data or {}), **fields
        )
        result = await self.device.push([event])
        assert result["results"][0]["status"] == "accepted", result
        return event

    async def pod(self) -> dict[str, Any]:
        response = await self.api.get(f"/v1/shipments/{self.shipment_id}/pod")
        assert response.status_code == 200, response.text
        return response.json()


async def delivery(api: Api, requirements: dict[str, Any] | None = None) -> Delivery:
    """A shipment at CENTER on a published route, loaded on its driver's van."""
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    overrides = {"requirements": requirements} if requirements else {}
    shipment = await api.shipment(hub["id"], **overrides)
    route = await api.route(driver["id"], hub["id"], [shipment["id"]])
    await api.publish_route(route["id"])
    device_id = f"device-{driver['id'][-12:]}"  # the random end of the UUIDv7
    device = Handheld(await api.as_driver(driver, device_id), device_id)
    await device.push([device.event("scan_loaded", 1, shipment_id=shipment["id"])])
    return Delivery(api, driver, shipment, device)
