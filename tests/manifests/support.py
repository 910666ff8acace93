from dataclasses import dataclass
from typing import Any

from tests.factories import Api


@dataclass
class Depot:
    """A hub with two drivers and a few shipments waiting there."""

    hub: dict[str, Any]
    driver: dict[str, Any]
    other_driver: dict[str, Any]
    shipments: list[str]


async def make_depot(api: Api, shipments: int = 5) -> Depot:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    other_driver = await api.driver(hub["id"])
    shipment_ids = [(await api.shipment(hub["id"]))["id"] for _ in range(shipments)]
    return Depot(hub, driver, other_driver, shipment_ids)


def sequence_of(route: dict[str, Any]) -> list[tuple[str, int]]:
    return [(stop["shipment_id"], stop["sequence"]) for stop in route["stops"]]


def fields_of(response: Any) -> list[str]:
    return [error["field"] for error in response.json().get("errors", [])]


async def events_of(api: Api, shipment_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The shipment's dispatch-relevant events as `(type, data)`, in fold order."""
    response = await api.get(f"/v1/shipments/{shipment_id}/events")
    assert response.status_code == 200, response.text
    return [
        (event["type"], event["data"])
        for event in response.json()["items"]
        if event["type"] in ("assigned", "unassigned")
    ]
