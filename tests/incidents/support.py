"""Incidents for triage tests, opened the way detection opens them: `IncidentService.open`."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from backend.db.session import make_engine, make_sessionmaker, unit_of_work
from backend.incidents.service import IncidentService, NewIncident
from tests.conftest import TEST_URL
from tests.factories import Api

_keys = itertools.count(1)


async def open_incidents(api: Api, *incidents: dict[str, Any]) -> list[str]:
    """Open incidents (kind, shipment_id, driver_id, occurred_at, data …) on an engine of the
    test's own event loop; returns their ids in the order given."""
    keys = [f"test:{next(_keys)}" for _ in incidents]
    engine = make_engine(api.client.app.state.settings)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            await IncidentService(session).open(
                [
                    NewIncident(
                        kind=fields.get("kind", "custody_conflict"),
                        dedupe_key=key,
                        occurred_at=fields.get("occurred_at", datetime.now(UTC)),
                        shipment_id=_uuid(fields.get("shipment_id")),
                        driver_id=_uuid(fields.get("driver_id")),
                        data=fields.get("data", {}),
                    )
                    for key, fields in zip(keys, incidents, strict=True)
                ]
            )
    finally:
        await engine.dispose()
    pool = await asyncpg.create_pool(TEST_URL, min_size=1, max_size=1)
    try:
        rows = await pool.fetch(
            "SELECT id, dedupe_key FROM incidents WHERE dedupe_key = ANY($1::text[])", keys
        )
    finally:
        await pool.close()
    by_key = {row["dedupe_key"]: str(row["id"]) for row in rows}
    return [by_key[key] for key in keys]


async def set_fields(incident_id: str, **fields: Any) -> None:
    """Fill the columns detection sets (severity, hub, route, subject) on an opened incident."""
    pool = await asyncpg.create_pool(TEST_URL, min_size=1, max_size=1)
    try:
        for column, value in fields.items():
            assert column in ("severity", "hub_id", "route_id", "subject", "created_at")
            await pool.execute(
                f"UPDATE incidents SET {column} = $1 WHERE id = $2",
                UUID(value) if column.endswith("_id") else value,
                UUID(incident_id),
            )
    finally:
        await pool.close()


def _uuid(value: str | None) -> UUID | None:
    return UUID(value) if value else None
