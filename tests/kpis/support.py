"""A small fixed history for KPI tests: shipments made through the API, their device, partner
and recipient events written straight into the event log at chosen times."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from tests.factories import Api

_seq = itertools.count(1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def log(
    db: asyncpg.Pool,
    shipment_id: str,
    event_type: str,
    when: str,
    *,
    source: str = "device",
    data: dict[str, Any] | None = None,
    received: str | None = None,
) -> None:
    """Append one event as the push would store it (its effective time is `when`)."""
    await db.execute(
        """
        INSERT INTO shipment_events (id, shipment_id, source, type, device_id, seq, occurred_at,
                                     effective_at, received_at, data)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9::jsonb)
        """,
        uuid4(),
        UUID(shipment_id),
        source,
        event_type,
        "device-1" if source == "device" else None,
        next(_seq),
        at(when),
        at(received or when),
        json.dumps(data or {}),
    )


async def delivery(db: asyncpg.Pool, shipment_id: str, arrived: str, outcome: str, ok=True):
    await log(db, shipment_id, "arrived", arrived)
    await log(db, shipment_id, "delivered" if ok else "delivery_failed", outcome)


def window(start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end}


async def kpis(api: Api, **params: str) -> dict[str, Any]:
    response = await api.get("/v1/kpis", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def rows_by_key(report: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {row["key"]: row for row in report["rows"]}
