"""SQL of detection: run a rule, keep its faults, clear incidents whose fault ended, the
escalation of urgent unacknowledged incidents, and the per-hub settings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection
from backend.incidents.rules.rule import Context, Rule
from backend.lib.ids import uuid7

# New faults start (their incidents open), faults no longer found end (theirs clear); `among`
# limits both to some subjects (a push looks at its shipments only).
_TRACK_FAULTS = """
WITH found AS (SELECT DISTINCT unnest($2::text[]) AS subject),
ended AS (
    DELETE FROM incident_faults f
    WHERE f.kind = $1 AND ($4::text[] IS NULL OR f.subject = ANY($4::text[]))
      AND NOT EXISTS (SELECT 1 FROM found WHERE found.subject = f.subject)
    RETURNING f.subject
), started AS (
    INSERT INTO incident_faults (kind, subject, since)
    SELECT $1, subject, $3 FROM found
    ON CONFLICT (kind, subject) DO NOTHING
    RETURNING subject
)
SELECT true AS started, subject FROM started
UNION ALL
SELECT false AS started, subject FROM ended
"""

_CLEAR = """
UPDATE incidents SET status = 'resolved', resolution_code = 'cleared', resolved_at = $3,
                     updated_at = $3
WHERE kind = $1 AND subject = ANY($2::text[]) AND status <> 'resolved'
RETURNING id, kind, severity, subject, shipment_id, driver_id, occurred_at,
          resolved_at, data::text AS data
"""

_LOG = """
INSERT INTO incident_activities (id, incident_id, kind, actor_id, at, data)
SELECT a.id, a.incident_id, $3, NULL, $4, a.data::jsonb
FROM unnest($1::uuid[], $2::uuid[], $5::text[]) AS a(id, incident_id, data)
"""

# Urgent incidents nobody acknowledged within their hub's delay. The hub is the incident's, else
# that of its route, shipment or driver. Rows an acknowledgement holds right now are skipped.
_ESCALATE = """
WITH due AS (
    SELECT i.id, hub.id AS hub_id, hub.code AS hub_code,
           coalesce(hs.escalation_minutes, $2) AS minutes,
           hs.on_call_name, hs.on_call_phone, hs.on_call_email
    FROM incidents i
    LEFT JOIN routes r ON r.id = i.route_id
    LEFT JOIN shipments s ON s.id = i.shipment_id
    LEFT JOIN drivers d ON d.id = i.driver_id
    LEFT JOIN hubs hub ON hub.id = coalesce(i.hub_id, r.hub_id, s.hub_id, d.home_hub_id)
    LEFT JOIN hub_incident_settings hs ON hs.hub_id = hub.id
    WHERE i.status = 'open' AND i.acknowledged_at IS NULL AND i.escalated_at IS NULL
      AND i.severity IN ('high', 'critical')
      AND i.created_at <= $1::timestamptz - make_interval(mins => coalesce(hs.escalation_minutes, $2))
    ORDER BY i.id
    FOR UPDATE OF i SKIP LOCKED
)
UPDATE incidents i SET escalated_at = $1, updated_at = $1
FROM due WHERE i.id = due.id
RETURNING i.id, i.kind, i.status, i.severity, i.subject, i.shipment_id, i.driver_id,
          i.created_at, due.hub_id, due.hub_code, due.minutes, due.on_call_name,
          due.on_call_phone, due.on_call_email
"""


class DetectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def raw(self) -> asyncpg.Connection:
        return await raw_connection(self.session)

    # rules -------------------------------------------------------------------------------------

    async def at_fault(self, rule: Rule, context: Context) -> list[asyncpg.Record]:
        """Every subject the rule finds at fault now (`FAULT_COLUMNS`), or only among the
        context's shipments."""
        connection = await self.raw()
        if context.shipment_ids is not None:
            if rule.sql_for_shipments is None:
                raise ValueError(f"{rule.kind} cannot look at some shipments only")
            ids = list(context.shipment_ids)
            return await connection.fetch(rule.sql_for_shipments, context.now, rule.kind, ids)
        return await connection.fetch(rule.sql, context.now, rule.kind, *rule.arguments(context))

    async def plan_each_statement(self) -> None:
        """Plan this transaction's statements for their actual values. The statement cache
        would otherwise switch to generic plans after a few rounds, and a generic plan cannot
        size the round's arrays (measured: the fault bookkeeping went from 60 ms to 5 s)."""
        await (await self.raw()).execute("SET LOCAL plan_cache_mode = force_custom_plan")

    async def track_faults(
        self, kind: str, subjects: Sequence[str], now: datetime, among: Sequence[str] | None
    ) -> tuple[set[str], list[str]]:
        """Record the subjects at fault now; returns (faults that started, faults that ended)."""
        rows = await (await self.raw()).fetch(
            _TRACK_FAULTS, kind, list(subjects), now, list(among) if among is not None else None
        )
        started = {row["subject"] for row in rows if row["started"]}
        return started, sorted(row["subject"] for row in rows if not row["started"])

    async def clear(
        self, kind: str, subjects: Sequence[str], now: datetime
    ) -> list[ClearedIncident]:
        """Resolve the unresolved incidents of these subjects as `cleared`, each with a
        `cleared` activity by the system. Returns the rows resolved."""
        if not subjects:
            return []
        connection = await self.raw()
        rows = [
            ClearedIncident.of(row)
            for row in await connection.fetch(_CLEAR, kind, list(subjects), now)
        ]
        await self.log("cleared", now, [(row.id, {"resolution_code": "cleared"}) for row in rows])
        return rows

    async def log(self, kind: str, at: datetime, entries: Sequence[tuple[UUID, dict]]) -> None:
        """System activities (no actor) of one kind: (incident, data) each."""
        if entries:
            await (await self.raw()).execute(
                _LOG,
                [uuid7() for _ in entries],
                [incident_id for incident_id, _ in entries],
                kind,
                at,
                [json.dumps(data) for _, data in entries],
            )

    # escalation --------------------------------------------------------------------------------

    async def escalate_due(self, now: datetime, default_minutes: int) -> list[asyncpg.Record]:
        return await (await self.raw()).fetch(_ESCALATE, now, default_minutes)

    # settings ----------------------------------------------------------------------------------

    async def lock_hub(self, hub_id: UUID) -> bool:
        """Take the hub's row (writers of its settings take turns); False: no such hub."""
        found = await (await self.raw()).fetchval(
            "SELECT true FROM hubs WHERE id = $1 FOR NO KEY UPDATE", hub_id
        )
        return bool(found)

    async def hub_exists(self, hub_id: UUID) -> bool:
        return bool(
            await (await self.raw()).fetchval("SELECT true FROM hubs WHERE id = $1", hub_id)
        )

    async def rules_of(self, hub_id: UUID) -> list[asyncpg.Record]:
        """The defaults and the hub's own rows (`own` true), defaults first."""
        return await (await self.raw()).fetch(
            "SELECT kind, threshold, severity, enabled, hub_id IS NOT NULL AS own"
            " FROM hub_incident_rules WHERE hub_id IS NULL OR hub_id = $1"
            " ORDER BY hub_id NULLS FIRST, kind",
            hub_id,
        )

    async def replace_rules(self, hub_id: UUID, rows: Sequence[tuple[str, int, str, bool]]) -> None:
        """The hub's own rows become exactly these (kind, threshold, severity, enabled)."""
        connection = await self.raw()
        await connection.execute("DELETE FROM hub_incident_rules WHERE hub_id = $1", hub_id)
        if rows:
            kinds, thresholds, severities, enabled = (list(c) for c in zip(*rows, strict=True))
            await connection.execute(
                """
                INSERT INTO hub_incident_rules (id, hub_id, kind, threshold, severity, enabled)
                SELECT r.id, $2, r.kind, r.threshold, r.severity, r.enabled
                FROM unnest($1::uuid[], $3::text[], $4::int[], $5::text[], $6::bool[])
                     AS r(id, kind, threshold, severity, enabled)
                """,
                [uuid7() for _ in rows],
                hub_id,
                kinds,
                thresholds,
                severities,
                enabled,
            )

    async def settings_of(self, hub_id: UUID) -> asyncpg.Record | None:
        return await (await self.raw()).fetchrow(
            "SELECT on_call_name, on_call_phone, on_call_email, escalation_minutes"
            " FROM hub_incident_settings WHERE hub_id = $1",
            hub_id,
        )

    async def save_settings(self, hub_id: UUID, values: dict[str, Any] | None) -> None:
        """Upsert the hub's contact and delay, or drop the row (None: all defaults)."""
        connection = await self.raw()
        if values is None:
            await connection.execute("DELETE FROM hub_incident_settings WHERE hub_id = $1", hub_id)
            return
        await connection.execute(
            """
            INSERT INTO hub_incident_settings
                (hub_id, on_call_name, on_call_phone, on_call_email, escalation_minutes)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (hub_id) DO UPDATE SET
                on_call_name = excluded.on_call_name, on_call_phone = excluded.on_call_phone,
                on_call_email = excluded.on_call_email,
                escalation_minutes = excluded.escalation_minutes, updated_at = now()
            """,
            hub_id,
            values["on_call_name"],
            values["on_call_phone"],
            values["on_call_email"],
            values["escalation_minutes"],
        )


@dataclass(frozen=True, slots=True)
class ClearedIncident:
    """A cleared incident as the webhooks and the live feed read it."""

    id: UUID
    kind: str
    severity: str
    subject: str
    shipment_id: UUID | None
    driver_id: UUID | None
    occurred_at: datetime
    resolved_at: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, row: asyncpg.Record) -> ClearedIncident:
        values = {name: row[name] for name in cls.__slots__}  # type: ignore[attr-defined]
        return cls(**values | {"data": json.loads(row["data"])})
