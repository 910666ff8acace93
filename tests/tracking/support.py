"""Helpers for tracking tests: pings with times relative to now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.factories import Api


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ping(seconds_ago: float, lon: float = 13.40, lat: float = 52.50, **extra: Any) -> dict:
    at = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return {"at": iso(at), "lon": lon, "lat": lat} | extra


async def send(driver: Api, pings: list[dict], device_id: str = "device-1") -> dict[str, Any]:
    response = await driver.post("/v1/tracking/pings", {"device_id": device_id, "pings": pings})
    assert response.status_code == 200, response.text
    return response.json()


async def feature_of(api: Api, driver_id: str) -> dict[str, Any] | None:
    response = await api.get("/v1/tracking/positions")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "FeatureCollection"
    return next((f for f in body["features"] if f["id"] == driver_id), None)
