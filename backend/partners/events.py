"""Inbound partner events: the device event schema, fold, per-event results, quarantine and
idempotency (by `event_id`) of push, for shipments handed over to the calling carrier only.

The partner's own clock (`occurred_at`) and our receipt time are both kept in
`partner_events` and the shipment log: on-time rate, failed attempts and time from event to
report are computable from them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.lib.clock import utcnow
from backend.lib.errors import describe_validation
from backend.partners.repository import PartnerEventRepository
from backend.pod.schemas import Delivery
from backend.pod.service import PodService
from backend.shipments.service import ShipmentService
from backend.sync.batch import effective_time
from backend.sync.schemas import (
    DATA_TYPES,
    SHIPMENT_TYPES,
    DeliveredData,
    DeviceEvent,
    EventResult,
    ShipmentStatus,
)

PARTNER_TYPES = SHIPMENT_TYPES | {"note"}
Reject = Callable[[int, str, str | None], None]


class PartnerPushResponse(msgspec.Struct):
    results: list[EventResult]
    server_time: datetime


class _Event(msgspec.Struct):
    index: int
    event: DeviceEvent
    body: bytes
    content_hash: bytes
    data: Any = None
    shipment_id: UUID | None = None
    effective_at: datetime | None = None
    anomalies: list[str] = []


class PartnerEventService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = PartnerEventRepository(session)

    async def push(self, organization_id: UUID, raws: list[Any]) -> PartnerPushResponse:
        now = utcnow()
        results: list[EventResult | None] = [None] * len(raws)
        quarantine: list[tuple[Any, ...]] = []

        def reject(index: int, reason: str, detail: str | None = None) -> None:
            """Answer the event `rejected` and keep it, raw, in quarantine."""
            event_id = _event_id(raws[index])
            results[index] = EventResult(event_id, "rejected", reason=reason, detail=detail)
            body = msgspec.json.encode(raws[index], order="sorted").decode()
            quarantine.append((organization_id, event_id, reason, detail, body))

        parsed = _parse(raws, reject, results)
        refs = await self.repo.resolve(
            organization_id,
            [p.event.shipment_id for p in parsed],
            [p.event.barcode for p in parsed],
        )
        accepted = []
        for item, shipment_id in zip(parsed, refs, strict=True):
            if shipment_id is None:
                reject(item.index, "unknown_shipment")  # or not handed over to this carrier
                continue
            item.shipment_id = shipment_id
            item.effective_at, item.anomalies = effective_time(item.event, now)
            accepted.append(item)
        statuses = await self._store(organization_id, accepted, results, reject, now)
        await self.repo.quarantine(quarantine)
        for item in accepted:
            result = results[item.index] or EventResult(item.event.event_id, "accepted")
            if result.status != "rejected":
                result.shipment = ShipmentStatus(item.shipment_id, statuses[item.shipment_id])
            results[item.index] = result
        return PartnerPushResponse(results=results, server_time=now)  # type: ignore[arg-type]

    async def _store(
        self,
        organization_id: UUID,
        accepted: list[_Event],
        results: list[EventResult | None],
        reject: Reject,
        now: datetime,
    ) -> dict[UUID, str]:
        """Insert the new ones, settle the replayed ones, fold and record PODs; returns the
        statuses of the shipments touched."""
        if not accepted:
            return {}
        new, locked = await self.repo.insert(
            organization_id, [_inbox_row(item) for item in accepted], now
        )
        old = [item for item in accepted if item.event.event_id not in new]
        stored = await self.repo.stored([item.event.event_id for item in old]) if old else {}
        for item in old:
            owner, content_hash = stored[item.event.event_id]
            if owner == organization_id and content_hash == item.content_hash:
                results[item.index] = EventResult(item.event.event_id, "duplicate")
            else:
                reject(item.index, "conflicting_duplicate")
        fresh = [item for item in accepted if item.event.event_id in new]
        logged = [_log_row(item, now, new[item.event.event_id]) for item in fresh]
        folds = await ShipmentService(self.session).refold(
            sorted({row["shipment_id"] for row in logged}), locked=locked, appended=logged
        )
        await PodService(self.session).record_deliveries(
            [_delivery(item, organization_id) for item in fresh if item.event.type == "delivered"]
        )
        return locked | {sid: after for sid, (_, after) in folds.items()}


def _parse(raws: list[Any], reject: Reject, results: list[EventResult | None]) -> list[_Event]:
    """Each event checked alone; the same event id twice in one call settled as push does."""
    parsed: list[_Event] = []
    first: dict[UUID, _Event] = {}
    for index, raw in enumerate(raws):
        try:
            event = msgspec.convert(raw, DeviceEvent, strict=False)
            data_type = DATA_TYPES.get(event.type)
            data = msgspec.convert(event.data, data_type, strict=False) if data_type else None
        except msgspec.ValidationError as exc:
            field, text = describe_validation(str(exc))
            reject(index, "invalid", f"{field}: {text}")
            continue
        if event.type not in PARTNER_TYPES:
            reject(index, "type_not_allowed", f"partners report {', '.join(sorted(PARTNER_TYPES))}")
            continue
        if event.stop_id or not (event.shipment_id or event.barcode):
            reject(index, "invalid", "shipment_id or barcode is required (stops are not shared)")
            continue
        body = msgspec.json.encode(raw, order="sorted")
        item = _Event(index, event, body, hashlib.sha256(body).digest(), data)
        twin = first.get(event.event_id)
        if twin is None:
            first[event.event_id] = item
            parsed.append(item)
        elif twin.content_hash == item.content_hash:
            results[index] = EventResult(event.event_id, "duplicate")
        else:
            reject(index, "conflicting_duplicate")
    return parsed


def _inbox_row(item: _Event) -> tuple[Any, ...]:
    event = item.event
    return (
        event.event_id,
        event.seq,
        event.type,
        item.shipment_id,
        item.content_hash,
        event.occurred_at,
        item.effective_at,
        item.body,
    )


def _log_row(item: _Event, received_at: datetime, data: str) -> dict[str, Any]:
    """The shipment-log row (the shape `ShipmentService.refold` folds and links)."""
    event = item.event
    return {
        "id": event.event_id,
        "shipment_id": item.shipment_id,
        "source": "partner",
        "type": event.type,
        "actor_id": None,
        "device_id": None,
        "seq": event.seq,
        "occurred_at": event.occurred_at.astimezone(UTC),
        "effective_at": item.effective_at.astimezone(UTC),  # type: ignore[union-attr]
        "received_at": received_at,
        "chain_seq": None,
        "chain_hash": None,
        "data": data,
        "anomalies": msgspec.json.encode(item.anomalies),
    }


def _delivery(item: _Event, organization_id: UUID) -> Delivery:
    """A partner's delivery: its POD names blobs uploaded through the same blob endpoint."""
    return Delivery(
        event_id=item.event.event_id,
        shipment_id=item.shipment_id,  # type: ignore[arg-type]
        driver_id=None,
        device_id=f"partner:{organization_id}",
        effective_at=item.effective_at,  # type: ignore[arg-type]
        location=item.event.location,
        data=item.data if isinstance(item.data, DeliveredData) else DeliveredData("recipient"),
    )


def _event_id(raw: Any) -> UUID | None:
    try:
        return UUID(str(raw.get("event_id"))) if isinstance(raw, dict) else None
    except ValueError:
        return None
