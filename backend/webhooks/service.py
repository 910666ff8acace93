"""Webhook fan-out, in the transaction of the change: an event row (its body built once) and a
delivery row per endpoint that wants it. The delivery workers (worker.py) send them later."""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.webhooks.events import EVENT_TYPES, STATUS_EVENTS
from backend.webhooks.repository import WebhookRepository

_encode = msgspec.json.encode


class WebhookService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = WebhookRepository(session)

    async def shipments_created(self, shipment_ids: Sequence[UUID]) -> None:
        """New shipments (their rows are this transaction's own: no lock needed)."""
        await self.shipment_events([(sid, "shipment.created", {}) for sid in shipment_ids])

    async def status_changed(self, changes: Mapping[UUID, tuple[str, str]]) -> None:
        """Called by the fold with {shipment: (before, after)}, the rows locked: a
        `shipment.status_changed` for each change and the specific event of the new status."""
        entries: list[tuple[UUID, str, dict[str, Any]]] = []
        previous: dict[UUID, str] = {}
        for sid, (before, after) in sorted(changes.items()):
            if before == after:
                continue
            previous[sid] = before
            entries.append((sid, "shipment.status_changed", {}))
            if after in STATUS_EVENTS:
                entries.append((sid, STATUS_EVENTS[after], {}))
        await self.shipment_events(entries, previous=previous)

    async def shipment_events(
        self,
        entries: Sequence[tuple[UUID, str, dict[str, Any]]],
        *,
        previous: Mapping[UUID, str] | None = None,
        lock: bool = False,
    ) -> None:
        """(shipment, type, extra data) per event. `lock`: take the shipments' row locks first
        (callers outside the fold, which holds them already)."""
        if not entries:
            return
        for _, event_type, _ in entries:
            if event_type not in EVENT_TYPES:
                raise ValueError(f"unknown webhook event type {event_type!r}")
        if lock:
            await self.repo.lock_shipments(sorted({sid for sid, _, _ in entries}))
        previous = previous or {}
        await self.repo.shipment_events(
            [
                (sid, kind, _encode(extra).decode(), previous.get(sid))
                for sid, kind, extra in entries
            ]
        )

    async def announce(
        self, event_type: str, items: Sequence[tuple[dict[str, Any], UUID | None]]
    ) -> None:
        """Events not about one shipment: (data, organisation or None) each; admins' endpoints
        receive every one, an organisation's endpoints those naming it."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown webhook event type {event_type!r}")
        await self.repo.other_events(
            [(event_type, _encode(data).decode(), org) for data, org in items]
        )

    async def incidents_opened(self, incidents: Sequence[Any]) -> None:
        """Incident rows just opened: about a shipment (its owners hear of it too), or not."""
        about = [i for i in incidents if i.shipment_id]
        await self.shipment_events(
            [(i.shipment_id, "incident.opened", _incident(i)) for i in about], lock=True
        )
        await self.announce(
            "incident.opened", [(_incident(i), None) for i in incidents if not i.shipment_id]
        )

    async def incidents_resolved(self, incidents: Sequence[Any]) -> None:
        """Incident rows just resolved, sent to whoever heard them opened."""
        about = [i for i in incidents if i.shipment_id]
        await self.shipment_events(
            [(i.shipment_id, "incident.resolved", _resolved(i)) for i in about], lock=True
        )
        await self.announce(
            "incident.resolved", [(_resolved(i), None) for i in incidents if not i.shipment_id]
        )


def _incident(incident: Any) -> dict[str, Any]:
    data = {
        "incident_id": str(incident.id),
        "kind": incident.kind,
        "incident_occurred_at": incident.occurred_at.isoformat(),
    }
    # A KPI off its target names the hub and the KPI (backend/kpis).
    details = getattr(incident, "data", None) or {}
    return data | {key: details[key] for key in ("hub_id", "kpi") if key in details}


def _resolved(incident: Any) -> dict[str, Any]:
    return _incident(incident) | {"resolved_at": incident.resolved_at.isoformat()}
