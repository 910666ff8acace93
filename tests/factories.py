"""Small factories that build objects through the real API, signed in as some role."""

from __future__ import annotations

import itertools
from typing import Any

from litestar.testing import AsyncTestClient

_counter = itertools.count(1)

# A 2 km square around (13.40, 52.50); zones split it into quarters.
CENTER = (13.40, 52.50)


def square(lon: float, lat: float, half: float) -> dict[str, Any]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


class Api:
    """An HTTP client bound to one bearer token."""

    def __init__(self, client: AsyncTestClient, token: str, role: str) -> None:
        self.client = client
        self.role = role
        self.headers = {"Authorization": f"Bearer {token}"}

    @classmethod
    async def sign_in(
        cls, client: AsyncTestClient, email: str, password: str, device_id: str | None = None
    ) -> Api:
        body: dict[str, Any] = {"email": email, "password": password}
        if device_id:
            body["device_id"] = device_id
        response = await client.post("/v1/auth/token", json=body)
        assert response.status_code == 200, response.text
        data = response.json()
        return cls(client, data["access_token"], data["role"])

    async def get(self, path: str, **kwargs: Any):
        return await self.client.get(path, headers=self.headers, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any):
        return await self.client.post(path, json=json, headers=self.headers, **kwargs)

    async def put(self, path: str, json: Any = None, **kwargs: Any):
        return await self.client.put(path, json=json, headers=self.headers, **kwargs)

    async def patch(self, path: str, json: Any = None, **kwargs: Any):
        return await self.client.patch(path, json=json, headers=self.headers, **kwargs)

    async def created(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.post(path, body)
        assert response.status_code == 201, response.text
        return response.json()

    # network ---------------------------------------------------------------------------------

    async def hub(self, **overrides: Any) -> dict[str, Any]:
        n = next(_counter)
        body = {"name": f"Hub {n}", "code": f"HUB{n}", "location": point(*CENTER)} | overrides
        return await self.created("/v1/hubs", body)

    async def zone(self, hub_id: str, area: dict[str, Any] | None = None, **overrides: Any) -> dict:
        body = {
            "name": f"Zone {next(_counter)}",
            "hub_id": hub_id,
            "area": area or square(*CENTER, 0.01),
        }
        return await self.created("/v1/zones", body | overrides)

    # drivers ---------------------------------------------------------------------------------

    async def driver(self, hub_id: str, **overrides: Any) -> dict[str, Any]:
        n = next(_counter)
        body = {
            "name": f"Driver {n}",
            "email": f"driver{n}@test.lastmile",
            "password": "driver-password",
            "home_hub_id": hub_id,
        } | overrides
        return await self.created("/v1/drivers", body)

    async def as_driver(self, driver: dict[str, Any], device_id: str | None = "device-1") -> Api:
        return await Api.sign_in(self.client, driver["email"], "driver-password", device_id)

    async def user(self, role: str) -> Api:
        """A signed-in dispatcher or partner (users other than drivers)."""
        n = next(_counter)
        email, password = f"{role}{n}@test.lastmile", "user-password-1"
        await self.created("/v1/users", {"email": email, "password": password, "role": role})
        return await Api.sign_in(self.client, email, password)

    # shipments -------------------------------------------------------------------------------

    async def shipment(self, hub_id: str, **overrides: Any) -> dict[str, Any]:
        return await self.created("/v1/shipments", shipment_body(hub_id, **overrides))

    # routes ----------------------------------------------------------------------------------

    async def route(
        self,
        driver_id: str,
        hub_id: str,
        shipment_ids: list[str] | None = None,
        date: str = "2026-12-01",
        **overrides: Any,
    ) -> dict[str, Any]:
        """A draft route with one stop per shipment, in the given order."""
        body = {
            "driver_id": driver_id,
            "hub_id": hub_id,
            "date": date,
            "stops": [{"shipment_id": shipment_id} for shipment_id in shipment_ids or []],
        } | overrides
        return await self.created("/v1/routes", body)

    async def publish_route(self, route_id: str) -> dict[str, Any]:
        response = await self.post(f"/v1/routes/{route_id}/publish")
        assert response.status_code == 200, response.text
        return response.json()


def shipment_body(
    hub_id: str, lon: float = CENTER[0], lat: float = CENTER[1], **overrides: Any
) -> dict:
    n = next(_counter)
    return {
        "hub_id": hub_id,
        "reference": f"REF-{n}",
        "recipient": {"name": f"Recipient {n}", "phone": "+49 30 1234567"},
        "address": {
            "line1": f"Street {n}",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        },
        "location": point(lon, lat),
        "parcels": [{"barcode": f"BC{n:08d}", "weight_kg": 1.5}],
    } | overrides
