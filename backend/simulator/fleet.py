"""Fleet setup through the admin API: a hub, drivers, shipments in bulk, published routes.

Names, emails, codes and barcodes carry a per-run id, so runs against the same database never
collide; the seeded generator only decides places and orders.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from backend.simulator.config import SimConfig
from backend.simulator.http import ApiClient

CENTER = (13.40, 52.50)
DRIVER_PASSWORD = "sim-driver-password"
BULK_LIMIT = 10_000
T = TypeVar("T")


@dataclass
class Seat:
    """A driver and the device id they sign in with."""

    index: int
    driver_id: str
    email: str
    device_id: str


@dataclass
class Fleet:
    run_id: str
    hub_id: str
    seats: list[Seat]
    routes: dict[str, str] = field(default_factory=dict)  # route id -> driver id (as dispatched)
    stops: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # route id -> as created
    route_of_seat: dict[int, str] = field(default_factory=dict)
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {barcode, ...}
    spare: list[str] = field(default_factory=list)  # shipment ids on no route

    def seat_of_driver(self, driver_id: str) -> Seat:
        return next(seat for seat in self.seats if seat.driver_id == driver_id)


async def bounded(limit: int, jobs: Iterable[Awaitable[T]]) -> list[T]:
    """Await jobs with at most `limit` in flight, results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Awaitable[T]) -> T:
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in jobs))


def shipment_body(hub_id: str, run_id: str, n: int, rng: random.Random) -> dict[str, Any]:
    lon = CENTER[0] + rng.uniform(-0.05, 0.05)
    lat = CENTER[1] + rng.uniform(-0.03, 0.03)
    return {
        "hub_id": hub_id,
        "reference": f"SIM-{run_id}-{n}",
        "recipient": {"name": f"Recipient {n}", "phone": "+49 30 5550100"},
        "address": {
            "line1": f"Simulated Street {n}",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        },
        "location": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
        "parcels": [{"barcode": f"SIM{run_id}{n:07d}".upper()}],
    }


async def create_shipments(admin: ApiClient, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bulk-create; returns [{id, barcode, tracking_number}] in input order."""
    made: list[dict[str, Any]] = []
    for start in range(0, len(bodies), BULK_LIMIT):
        chunk = bodies[start : start + BULK_LIMIT]
        result = await admin.call("POST", "/v1/shipments/bulk", {"shipments": chunk})
        if result["errors"]:
            raise RuntimeError(f"bulk shipments refused: {result['errors'][:3]}")
        for item in sorted(result["created"], key=lambda c: c["index"]):
            body = chunk[item["index"]]
            made.append(
                {
                    "id": item["id"],
                    "barcode": body["parcels"][0]["barcode"],
                    "tracking_number": item["tracking_number"],
                }
            )
    return made


async def create_drivers(
    admin: ApiClient, hub_id: str, run_id: str, count: int, concurrency: int
) -> list[Seat]:
    async def one(n: int) -> Seat:
        email = f"sim-{run_id}-driver{n}@sim.lastmile"
        driver = await admin.call(
            "POST",
            "/v1/drivers",
            {
                "name": f"Sim driver {n} ({run_id})",
                "email": email,
                "password": DRIVER_PASSWORD,
                "home_hub_id": hub_id,
            },
        )
        return Seat(n, driver["id"], email, f"sim-{run_id}-dev{n}")

    return await bounded(concurrency, (one(n) for n in range(count)))


async def create_route(
    admin: ApiClient, driver_id: str, hub_id: str, date: str, shipment_ids: list[str]
) -> dict[str, Any]:
    route = await admin.call(
        "POST",
        "/v1/routes",
        {
            "driver_id": driver_id,
            "hub_id": hub_id,
            "date": date,
            "stops": [{"shipment_id": sid} for sid in shipment_ids],
        },
    )
    return await admin.call("POST", f"/v1/routes/{route['id']}/publish")


async def setup_fleet(admin: ApiClient, config: SimConfig, run_id: str) -> Fleet:
    rng = random.Random(f"{config.seed}:fleet")
    hub = await admin.call(
        "POST",
        "/v1/hubs",
        {
            "name": f"Simulator hub {run_id}",
            "code": f"SIM-{run_id}",
            "location": {"type": "Point", "coordinates": list(CENTER)},
        },
    )
    seats = await create_drivers(admin, hub["id"], run_id, config.devices, config.concurrency)
    total = config.devices * config.stops_per_route + config.spare_shipments
    shipments = await create_shipments(
        admin, [shipment_body(hub["id"], run_id, n, rng) for n in range(total)]
    )
    fleet = Fleet(run_id, hub["id"], seats)
    fleet.shipments = {s["id"]: s for s in shipments}
    per = config.stops_per_route
    loads = [[s["id"] for s in shipments[i * per : (i + 1) * per]] for i in range(config.devices)]
    fleet.spare = [s["id"] for s in shipments[config.devices * per :]]
    date = config.route_date.isoformat()
    routes = await bounded(
        config.concurrency,
        (
            create_route(admin, seat.driver_id, hub["id"], date, load)
            for seat, load in zip(seats, loads, strict=True)
        ),
    )
    for seat, route in zip(seats, routes, strict=True):
        fleet.routes[route["id"]] = seat.driver_id
        fleet.stops[route["id"]] = route["stops"]
        fleet.route_of_seat[seat.index] = route["id"]
    return fleet
