"""Push: a batch of events captured offline, applied in one transaction, answered per event.

The steps, each one statement for the whole batch:
  claim the batch id → validate each event alone → resolve what it refers to → compute its
  effective time → insert the accepted ones (inbox + shipment log) → re-fold touched shipments →
  record incidents and manifest changes → quarantine the rejected → advance the ack → store the
  response for replays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.schemas import Principal
from backend.incidents.service import IncidentService
from backend.lib.clock import utcnow
from backend.lib.errors import Forbidden, Invalid, describe_validation
from backend.pod.schemas import Delivery
from backend.pod.service import DEFAULT_GEOFENCE_M, PodService
from backend.shipments.service import ShipmentService
from backend.sync.changes import ManifestChangeLog
from backend.sync.repository import SyncRepository
from backend.sync.schemas import (
    DATA_TYPES,
    SHIPMENT_TYPES,
    DeliveredData,
    DeviceEvent,
    EventResult,
    PushRequest,
    PushResponse,
    ShipmentStatus,
)
from backend.tracking.service import Fix, TrackingService

Reject = Callable[..., None]
# A device clock may run this far ahead of ours before its times are treated as suspect.
FUTURE_TOLERANCE = timedelta(minutes=2)


@dataclass(slots=True)
class Pending:
    """One well-formed event on its way through the pipeline."""

    index: int
    event: DeviceEvent
    raw: Any
    body: bytes  # the canonical encoding (sorted keys) that `content_hash` hashes
    content_hash: bytes
    data: msgspec.Struct | None = None  # `event.data` as its type's Struct, where it has one
    shipment_id: UUID | None = None
    route_id: UUID | None = None
    custody_conflict: bool = False
    effective_at: datetime | None = None
    anomalies: list[str] = field(default_factory=list)


def batch_hash(device_id: str, batch_id: UUID, event_hashes: list[bytes]) -> bytes:
    """The request's identity for replays, from its events' canonical hashes (fixed length), so
    the request is not encoded and hashed a second time."""
    device = device_id.encode()
    header = len(device).to_bytes(4, "big") + device + batch_id.bytes
    return hashlib.sha256(header + b"".join(event_hashes)).digest()


def effective_time(event: DeviceEvent, received_at: datetime) -> tuple[datetime, list[str]]:
    """From the event's own fields only, so arrival order cannot change it.

    With a monotonic anchor from the same boot: anchor.server_time + (mono_ms - anchor.mono_ms);
    otherwise the device wall clock, flagged low-confidence. Never after first receipt (plus a
    tolerance): such times are clamped to the receipt and flagged `clock_suspect`.
    """
    clock = event.clock
    if clock and clock.anchor and clock.anchor.boot_id == clock.boot_id:
        at = clock.anchor.server_time + timedelta(milliseconds=clock.mono_ms - clock.anchor.mono_ms)
        anomalies: list[str] = []
    else:
        at, anomalies = event.occurred_at, ["clock_low_confidence"]
    if at > received_at + FUTURE_TOLERANCE:
        return received_at, [*anomalies, "clock_suspect"]
    return at, anomalies


class PushService:
    def __init__(
        self, session: AsyncSession, *, max_events: int, geofence_m: float = DEFAULT_GEOFENCE_M
    ) -> None:
        self.session = session
        self.repo = SyncRepository(session)
        self.max_events = max_events
        self.geofence_m = geofence_m

    async def push(self, principal: Principal, request: PushRequest) -> PushResponse | bytes:
        """The response, or the stored bytes of an earlier identical push of this batch."""
        driver_id = _driver_bound_to(principal, request.device_id)
        if len(request.events) > self.max_events:
            raise Invalid(
                f"At most {self.max_events} events per push", field="events", code="too_many_events"
            )
        bodies = [msgspec.json.encode(raw, order="sorted") for raw in request.events]
        hashes = [hashlib.sha256(body).digest() for body in bodies]
        request_hash = batch_hash(request.device_id, request.batch_id, hashes)
        if not await self.repo.claim_batch(
            request.batch_id, driver_id, request.device_id, request_hash
        ):
            return await self._replay(request.batch_id, driver_id, request_hash)

        now = utcnow()
        results: list[EventResult | None] = [None] * len(request.events)
        quarantine: list[tuple[Any, ...]] = []

        def reject(index: int, raw: Any, reason: str, detail: str | None = None) -> None:
            event_id, seq = _id_and_seq(raw)
            results[index] = EventResult(event_id, "rejected", reason=reason, detail=detail)
            quarantine.append(
                (
                    driver_id,
                    request.device_id,
                    request.batch_id,
                    event_id,
                    seq,
                    reason,
                    detail,
                    bodies[index].decode(),
                )
            )

        pending = self._parse(request.events, bodies, hashes, reject)
        pending = self._drop_batch_twins(pending, results, reject)
        await self._resolve(driver_id, pending, reject)
        accepted = [p for p in pending if results[p.index] is None]
        for item in accepted:
            item.effective_at, item.anomalies = effective_time(item.event, now)
            if item.custody_conflict:
                item.anomalies.append("custody_conflict")

        # Routes before shipments (the inserts below key-share-lock them): dispatch edits lock a
        # route before its shipments, and the same order on both sides cannot deadlock.
        route_ids = sorted({p.route_id for p in accepted if p.route_id})
        started = await self.repo.start_routes(route_ids, now) if route_ids else []
        new_ids, locked = await self.repo.insert_events(
            [_event_row(item) for item in accepted],
            driver_id=driver_id,
            device_id=request.device_id,
            batch_id=request.batch_id,
            received_at=now,
        )
        await self._settle_existing(
            [p for p in accepted if p.event.event_id not in new_ids], results, reject
        )
        fresh = [p for p in accepted if p.event.event_id in new_ids]
        # Shipments that are not re-folded keep the status they were locked with.
        statuses = locked | await self._apply(driver_id, request.device_id, fresh, started, locked)
        await TrackingService(self.session).record_fixes(
            driver_id, request.device_id, _fixes(fresh)
        )
        for item in accepted:
            result = results[item.index] or EventResult(item.event.event_id, "accepted")
            if result.status != "rejected" and item.shipment_id:
                result.shipment = ShipmentStatus(item.shipment_id, statuses[item.shipment_id])
            results[item.index] = result
        await self.repo.quarantine(quarantine)
        ack = await self.repo.advance_ack(request.device_id)
        response = PushResponse(results=results, ack_seq=ack, server_time=now)  # type: ignore[arg-type]
        await self.repo.save_response(request.batch_id, msgspec.json.encode(response))
        return response

    async def _replay(self, batch_id: UUID, driver_id: UUID, request_hash: bytes) -> bytes:
        stored = await self.repo.stored_batch(batch_id)
        if (
            stored is None
            or stored["driver_id"] != driver_id
            or stored["request_hash"] != request_hash
        ):
            raise Invalid(
                "This batch_id was already used with a different body",
                field="batch_id",
                code="batch_id_reused",
            )
        return stored["response"].encode()

    def _parse(
        self, raw_events: list[Any], bodies: list[bytes], hashes: list[bytes], reject: Reject
    ) -> list[Pending]:
        pending = []
        for index, raw in enumerate(raw_events):
            try:
                event = msgspec.convert(raw, DeviceEvent, strict=False)
            except msgspec.ValidationError as exc:
                reject(index, raw, "invalid", _describe(exc))
                continue
            data_type = DATA_TYPES.get(event.type)
            try:
                data = msgspec.convert(event.data, data_type, strict=False) if data_type else None
            except msgspec.ValidationError as exc:
                reject(index, raw, "invalid", _describe(exc, prefix="data"))
                continue
            if event.type in SHIPMENT_TYPES and not (
                event.shipment_id or event.barcode or event.stop_id
            ):
                reject(index, raw, "invalid", "shipment_id, barcode or stop_id is required")
                continue
            pending.append(Pending(index, event, raw, bodies[index], hashes[index], data))
        return pending

    def _drop_batch_twins(
        self, pending: list[Pending], results: list[EventResult | None], reject: Reject
    ) -> list[Pending]:
        """The same event id twice in one batch: the later copy is a duplicate or a conflict."""
        first: dict[UUID, Pending] = {}
        kept = []
        for item in pending:
            twin = first.get(item.event.event_id)
            if twin is None:
                first[item.event.event_id] = item
                kept.append(item)
            elif twin.content_hash == item.content_hash:
                results[item.index] = EventResult(event_id=item.event.event_id, status="duplicate")
            else:
                reject(item.index, item.raw, "conflicting_duplicate")
        return kept

    async def _resolve(self, driver_id: UUID, pending: list[Pending], reject: Reject) -> None:
        """Attach each event to its shipment (or route) and check this driver may speak of it."""
        about_shipment = [
            p for p in pending if p.event.type != "route_started" and _names_shipment(p.event)
        ]
        if about_shipment:
            rows = await self.repo.resolve_shipments(
                driver_id,
                [p.event.shipment_id for p in about_shipment],
                [p.event.barcode for p in about_shipment],
                [p.event.stop_id for p in about_shipment],
            )
            for item, row in zip(about_shipment, rows, strict=True):
                reason = _shipment_refusal(row, item.event, driver_id)
                if reason:
                    reject(item.index, item.raw, reason)
                    continue
                item.shipment_id = row["shipment_id"]
                item.custody_conflict = row["holder_id"] != driver_id
        starts = [p for p in pending if p.event.type == "route_started"]
        if starts:
            await self._resolve_routes(driver_id, starts, reject)

    async def _resolve_routes(self, driver_id: UUID, starts: list[Pending], reject: Reject) -> None:
        by_stop = await self.repo.routes_of_stops(
            driver_id, [p.event.stop_id for p in starts if p.event.stop_id]
        )
        for item in starts:
            route_id = item.event.data.get("route_id")
            item.route_id = UUID(route_id) if route_id else by_stop.get(item.event.stop_id)  # type: ignore[arg-type]
        mine = await self.repo.driver_routes(driver_id, [p.route_id for p in starts if p.route_id])
        for item in starts:
            if item.route_id not in mine:
                reject(item.index, item.raw, "not_your_route")

    async def _settle_existing(
        self, existing: list[Pending], results: list[EventResult | None], reject: Reject
    ) -> None:
        """Events already stored by an earlier push: same content is a duplicate, else a conflict."""
        if not existing:
            return
        hashes = await self.repo.stored_hashes([p.event.event_id for p in existing])
        for item in existing:
            if hashes.get(item.event.event_id) == item.content_hash:
                results[item.index] = EventResult(event_id=item.event.event_id, status="duplicate")
            else:
                reject(item.index, item.raw, "conflicting_duplicate")

    async def _apply(
        self,
        driver_id: UUID,
        device_id: str,
        fresh: list[Pending],
        started: list[UUID],
        locked: dict[UUID, str],
    ) -> dict[UUID, str]:
        """Fold what changed, record proofs of delivery, open incidents, tell affected drivers
        (of changed shipments and of the routes this push started)."""
        shipments = ShipmentService(self.session)
        touched = sorted({p.shipment_id for p in fresh if p.shipment_id})
        folds = await shipments.refold(touched, locked=locked) if touched else {}
        await PodService(self.session, geofence_m=self.geofence_m).record_deliveries(
            [_delivery(p, driver_id, device_id) for p in fresh if p.event.type == "delivered"]
        )
        changes = ManifestChangeLog(self.session)
        moved = [sid for sid, (before, after) in folds.items() if before != after]
        if moved:
            await changes.shipments_changed(moved)
        if started:
            await changes.record(driver_id, [("route", route_id, "upsert") for route_id in started])
        conflicts = [p for p in fresh if p.custody_conflict]
        if conflicts:
            await IncidentService(self.session).custody_conflicts(
                [
                    (p.shipment_id, driver_id, p.event.event_id, p.effective_at, p.event.type)
                    for p in conflicts
                ]
            )
        return {sid: after for sid, (_, after) in folds.items()}


def _fixes(fresh: list[Pending]) -> list[Fix]:
    """Accepted `location` events as position fixes, at their effective time."""
    fixes: list[Fix] = []
    for item in fresh:
        where, data = item.event.location, item.event.data
        if item.event.type == "location" and where and item.effective_at:
            speed, heading = _number(data.get("speed_mps")), _number(data.get("heading"))
            fixes.append(
                (item.effective_at, where.lon, where.lat, where.accuracy_m, speed, heading)
            )
    return fixes


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _delivery(item: Pending, driver_id: UUID, device_id: str) -> Delivery:
    return Delivery(
        event_id=item.event.event_id,
        shipment_id=item.shipment_id,  # type: ignore[arg-type]  # delivered names a shipment
        driver_id=driver_id,
        device_id=device_id,
        effective_at=item.effective_at,  # type: ignore[arg-type]  # set for every accepted event
        location=item.event.location,
        data=item.data  # type: ignore[arg-type]  # a delivered event's data is DeliveredData
        if isinstance(item.data, DeliveredData)
        else msgspec.convert(item.event.data, DeliveredData, strict=False),
    )


def _names_shipment(event: DeviceEvent) -> bool:
    return bool(event.shipment_id or event.barcode or event.stop_id)


def _driver_bound_to(principal: Principal, device_id: str) -> UUID:
    if principal.driver_id is None:
        raise Forbidden("Only drivers push events")
    if principal.device_id is None:
        raise Forbidden("Sign in with a device_id to push", code="token_without_device")
    if principal.device_id != device_id:
        raise Invalid(
            "device_id differs from the device this token is bound to",
            field="device_id",
            code="device_mismatch",
        )
    return principal.driver_id


def _shipment_refusal(row: Any, event: DeviceEvent, driver_id: UUID) -> str | None:
    if row["shipment_id"] is None:
        if event.shipment_id:
            return "unknown_shipment"
        return "unknown_barcode" if event.barcode else "unknown_stop"
    targets = {t for t in (row["sid"], row["by_barcode"], row["by_stop"]) if t is not None}
    if len(targets) > 1:
        return "reference_mismatch"
    if row["holder_id"] != driver_id and not row["ever_mine"]:
        return "not_on_your_route"
    return None


def _event_row(item: Pending) -> tuple[Any, ...]:
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
        item.anomalies,
    )


def _id_and_seq(raw: Any) -> tuple[UUID | None, int | None]:
    if not isinstance(raw, dict):
        return None, None
    try:
        event_id = UUID(str(raw.get("event_id")))
    except ValueError:
        event_id = None
    seq = raw.get("seq")
    return event_id, seq if isinstance(seq, int) and not isinstance(
        seq, bool
    ) and 0 < seq < 2**62 else None


def _describe(exc: msgspec.ValidationError, *, prefix: str = "") -> str:
    """`data.reason: Invalid enum value 'x'`: the field, then what is wrong with it."""
    field_name, text = describe_validation(str(exc))
    if prefix:
        field_name = prefix if field_name == "body" else f"{prefix}.{field_name}"
    return f"{field_name}: {text}"
