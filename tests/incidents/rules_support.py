"""Helpers for the detection rule tests: a round at a chosen time, a rule's incidents, and the
lifecycle every rule must show (fires once, stays one, clears, fires again)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from backend.incidents.rules.service import DetectionRound
from backend.system.jobs import PeriodicJobs
from tests.factories import Api


async def detect(jobs: PeriodicJobs, now: datetime) -> DetectionRound:
    result = await jobs.detect_incidents(now)
    assert result is not None  # nobody else holds the detection lock in a test
    return result


async def incidents(db: asyncpg.Pool, kind: str) -> list[asyncpg.Record]:
    """The rule's incidents, oldest first."""
    return await db.fetch("SELECT * FROM incidents WHERE kind = $1 ORDER BY created_at, id", kind)


async def open_one(db: asyncpg.Pool, kind: str) -> asyncpg.Record:
    """The one unresolved incident of the kind (and there is exactly one)."""
    rows = [row for row in await incidents(db, kind) if row["status"] != "resolved"]
    assert len(rows) == 1, rows
    return rows[0]


async def assert_cleared(db: asyncpg.Pool, incident_id: Any, at: datetime | None = None) -> None:
    """Resolved as `cleared` by the system, with its `cleared` activity."""
    row = await db.fetchrow("SELECT * FROM incidents WHERE id = $1", incident_id)
    assert (row["status"], row["resolution_code"]) == ("resolved", "cleared")
    if at is not None:
        assert row["resolved_at"] == at
    activities = await db.fetch(
        "SELECT kind, actor_id FROM incident_activities WHERE incident_id = $1", incident_id
    )
    assert [(a["kind"], a["actor_id"]) for a in activities] == [("cleared", None)]


async def set_rules(api: Api, hub_id: str, **body: Any) -> dict[str, Any]:
    response = await api.put(f"/v1/hubs/{hub_id}/incident-rules", body)
    assert response.status_code == 200, response.text
    return response.json()


def data_of(row: asyncpg.Record) -> dict[str, Any]:
    """An incident's `data` (the plain pool reads jsonb as text)."""
    return json.loads(row["data"])


def rule(kind: str, threshold: int, severity: str = "high", enabled: bool = True) -> dict:
    return {"kind": kind, "threshold": threshold, "severity": severity, "enabled": enabled}
