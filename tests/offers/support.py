"""Couriers placed around a hub, shipments with a window, and offers of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from tests.couriers.support import active_courier, sign_in_courier
from tests.factories import CENTER, Api, point
from tests.pod.support import east_of

TOMORROW = (datetime.now(UTC) + timedelta(days=1)).date()
WINDOW = {"start": f"{TOMORROW}T10:00:00Z", "end": f"{TOMORROW}T12:00:00Z"}


@dataclass
class Courier:
    api: Api  # signed in as the courier (role driver)
    driver_id: str
    application_path: str


async def courier(
    api: Api,
    db: asyncpg.Pool,
    hub_id: str,
    *,
    metres_from_hub: float | None = 500,
    online: bool = True,
    **overrides: Any,
) -> Courier:
    """An active courier; online at `metres_from_hub` east of the hub unless told otherwise
    (offline couriers keep the position they last had online, if any)."""
    applicant, read = await active_courier(api, db, hub_id, **overrides)
    signed_in = await sign_in_courier(api, applicant, device_id=f"phone-{read['driver_id']}")
    if metres_from_hub is not None:
        lon, lat = east_of(*CENTER, metres_from_hub)
        response = await signed_in.post("/v1/couriers/me/online", {"position": point(lon, lat)})
        assert response.status_code == 200, response.text
    if not online:
        assert (await signed_in.post("/v1/couriers/me/offline")).status_code == 200
    return Courier(signed_in, read["driver_id"], applicant.path)


async def shipments(api: Api, hub_id: str, count: int = 2, **overrides: Any) -> list[str]:
    return [(await api.shipment(hub_id, window=WINDOW, **overrides))["id"] for _ in range(count)]


def offer_body(**fields: Any) -> dict[str, Any]:
    expires = datetime.now(UTC) + timedelta(minutes=30)
    return {
        "pay": {"amount": 42.5, "currency": "EUR"},
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
    } | fields


async def make_offer(api: Api, **fields: Any) -> dict[str, Any]:
    response = await api.post("/v1/offers", offer_body(**fields))
    assert response.status_code == 201, response.text
    return response.json()
