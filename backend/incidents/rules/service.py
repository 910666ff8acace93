"""A round of detection: every rule's statement, faults started and ended, incidents opened
through `IncidentService.open` and cleared when their cause cleared."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from backend.incidents.rules.registry import BY_KIND, RULES
from backend.incidents.rules.repository import ClearedIncident, DetectionRepository
from backend.incidents.rules.rule import Context, Rule
from backend.incidents.service import IncidentService, NewIncident
from backend.lib.clock import utcnow
from backend.live.messages import LiveMessage, announce
from backend.webhooks.service import WebhookService

# Statuses after which a shipment's repeated failures are no longer a problem.
SHIPMENT_DONE = frozenset({"delivered", "returned", "cancelled", "with_partner"})


@dataclass(slots=True)
class DetectionRound:
    """What one round did: per kind, subjects at fault, faults started (each opens an incident
    unless its subject has an unresolved one already) and incidents cleared; in all, how many
    incidents opened."""

    at_fault: dict[str, int] = field(default_factory=dict)
    started: dict[str, int] = field(default_factory=dict)
    cleared: dict[str, int] = field(default_factory=dict)
    opened: int = 0


class DetectionService:
    def __init__(self, session: AsyncSession, *, default_shift_start: time = time(8, 0)) -> None:
        self.session = session
        self.repo = DetectionRepository(session)
        self.default_shift_start = default_shift_start

    async def run(self, now: datetime, rules: Sequence[Rule] = RULES) -> DetectionRound:
        """Evaluate every rule across all hubs (the job's own transaction)."""
        await self.repo.plan_each_statement()
        context = Context(now, self.default_shift_start)
        return await self._evaluate(rules, context, among=None)

    async def shipments_changed(self, changes: Mapping[UUID, tuple[str, str]]) -> None:
        """In the transaction of a status change ({shipment: (before, after)}): a failure
        may open `repeated_failure`, a delivery (return, cancellation, handover) clears it."""
        # A push may fail an attempt that an earlier one failed too (loaded, failed again):
        # the status reads the same before and after, so every failed one is looked at.
        ids = sorted(
            sid
            for sid, (before, after) in changes.items()
            if after == "attempt_failed" or (after in SHIPMENT_DONE and before != after)
        )
        if not ids:
            return
        rule = BY_KIND["repeated_failure"]
        context = Context(utcnow(), self.default_shift_start, shipment_ids=ids)
        await self._evaluate([rule], context, among=[f"shipment:{sid}" for sid in ids])

    async def _evaluate(
        self, rules: Sequence[Rule], context: Context, among: Sequence[str] | None
    ) -> DetectionRound:
        result = DetectionRound()
        to_open: list[NewIncident] = []
        cleared: list[ClearedIncident] = []
        for rule in rules:
            rows = await self.repo.at_fault(rule, context)
            found = {row["subject"]: row for row in rows}
            started, ended = await self.repo.track_faults(
                rule.kind, list(found), context.now, among
            )
            to_open.extend(_incident(rule.kind, found[s]) for s in sorted(started))
            gone = await self.repo.clear(rule.kind, ended, context.now)
            cleared.extend(gone)
            result.at_fault[rule.kind] = len(found)
            result.started[rule.kind] = len(started)
            result.cleared[rule.kind] = len(gone)
        result.opened = await IncidentService(self.session).open(to_open)
        await self._announce_cleared(cleared)
        return result

    async def _announce_cleared(self, cleared: list[ClearedIncident]) -> None:
        announce(
            self.session,
            (
                LiveMessage(
                    type="incident",
                    shipment_id=row.shipment_id,
                    driver_id=row.driver_id,
                    data={
                        "id": str(row.id),
                        "kind": row.kind,
                        "status": "resolved",
                        "severity": row.severity,
                        "resolution_code": "cleared",
                    },
                )
                for row in cleared
            ),
        )
        await WebhookService(self.session).incidents_resolved(cleared)


def _incident(kind: str, row: asyncpg.Record) -> NewIncident:
    return NewIncident(
        kind=kind,
        dedupe_key=None,
        occurred_at=row["occurred_at"],
        shipment_id=row["shipment_id"],
        driver_id=row["driver_id"],
        data=row["data"],  # jsonb arrives decoded
        severity=row["severity"],
        hub_id=row["hub_id"],
        route_id=row["route_id"],
        subject=row["subject"],
    )
