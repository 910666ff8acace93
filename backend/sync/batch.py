"""One push's events on their way through the pipeline: the steps that need no database.

`Batch` holds the request, each event's canonical encoding and hash, and the per-event results
and quarantine rows as the steps fill them in; `Pending` is one well-formed event.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from backend.lib.errors import describe_validation
from backend.pod.schemas import Delivery
from backend.sync.repository import Refs
from backend.sync.schemas import (
    DATA_TYPES,
    MAX_SEQ,
    SHIPMENT_TYPES,
    DeliveredData,
    DeviceEvent,
    EventResult,
    PushRequest,
    ShipmentStatus,
    times_problem,
)
from backend.tracking.service import Fix

# A device clock may run this far ahead of ours before its times are treated as suspect.
FUTURE_TOLERANCE = timedelta(minutes=2)
# No handheld holds an event this long before sending it (a shift is a day, the change log keeps
# 14): an earlier time is a reset or wrong clock (1970, year 1), not a fact.
PAST_TOLERANCE = timedelta(days=30)
# PostgreSQL's text and jsonb cannot hold U+0000; msgspec writes it as this escape.
_NUL_ESCAPE = b"\\u0000"


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


class Batch:
    def __init__(self, driver_id: UUID, request: PushRequest) -> None:
        self.driver_id = driver_id
        self.request = request
        # Each event is encoded canonically once: its content hash, stored body and quarantine
        # copy all come from these bytes.
        self.bodies = [msgspec.json.encode(raw, order="sorted") for raw in request.events]
        self.hashes = [hashlib.sha256(body).digest() for body in self.bodies]
        self.results: list[EventResult | None] = [None] * len(request.events)
        self.quarantine: list[tuple[Any, ...]] = []

    @property
    def request_hash(self) -> bytes:
        """The request's identity for replays, from its events' hashes (fixed length), so the
        request is not encoded and hashed a second time."""
        device = self.request.device_id.encode()
        header = len(device).to_bytes(4, "big") + device + self.request.batch_id.bytes
        if self.request.skipped:  # only then, so batches stored before keep their hash
            header += msgspec.json.encode(self.request.skipped)
        return hashlib.sha256(header + b"".join(self.hashes)).digest()

    def reject(self, index: int, reason: str, detail: str | None = None) -> None:
        """Answer the event `rejected` and keep it, raw, in quarantine."""
        event_id, seq = _id_and_seq(self.request.events[index])
        self.results[index] = EventResult(event_id, "rejected", reason=reason, detail=detail)
        request = self.request
        self.quarantine.append(
            (
                self.driver_id,
                request.device_id,
                request.batch_id,
                event_id,
                seq,
                reason,
                detail,
                *_raw_columns(self.bodies[index]),
            )
        )

    def duplicate(self, item: Pending) -> None:
        self.results[item.index] = EventResult(event_id=item.event.event_id, status="duplicate")

    def parse(self) -> list[Pending]:
        """Each event validated alone (with its type's data), twins within the batch settled."""
        pending = []
        for index, raw in enumerate(self.request.events):
            if _NUL_ESCAPE in self.bodies[index] and (where := nul_path(raw)) is not None:
                self.reject(index, "invalid", f"{where}: NUL characters are not allowed")
                continue
            try:
                event = msgspec.convert(raw, DeviceEvent)
            except msgspec.ValidationError as exc:
                self.reject(index, "invalid", _describe(exc))
                continue
            if problem := times_problem(event):
                self.reject(index, "invalid", problem)
                continue
            data_type = DATA_TYPES.get(event.type)
            try:
                data = msgspec.convert(event.data, data_type) if data_type else None
            except msgspec.ValidationError as exc:
                self.reject(index, "invalid", _describe(exc, prefix="data"))
                continue
            if event.type in SHIPMENT_TYPES and not _names_shipment(event):
                self.reject(index, "invalid", "shipment_id, barcode or stop_id is required")
                continue
            pending.append(Pending(index, event, raw, self.bodies[index], self.hashes[index], data))
        return self._drop_twins(pending)

    def _drop_twins(self, pending: list[Pending]) -> list[Pending]:
        """The same event id twice in one batch: the later copy is a duplicate or a conflict.
        Two events with one seq: the later one reuses it."""
        first: dict[UUID, Pending] = {}
        seqs: dict[int, UUID] = {}
        kept = []
        for item in pending:
            event = item.event
            twin = first.get(event.event_id)
            if twin is None and seqs.get(event.seq, event.event_id) != event.event_id:
                self.reject(item.index, "seq_reused", _reused(event.seq, seqs[event.seq]))
            elif twin is None:
                first[event.event_id] = item
                seqs[event.seq] = event.event_id
                kept.append(item)
            elif twin.content_hash == item.content_hash:
                self.duplicate(item)
            else:
                self.reject(item.index, "conflicting_duplicate")
        return kept

    def reused_seqs(self, items: list[Pending], stored: dict[UUID, tuple[int, UUID]]) -> None:
        """Refuse the events whose seq an earlier push of this device stored under another
        event id (`stored`: {event id: (seq, the stored event's id)})."""
        for item in items:
            if found := stored.get(item.event.event_id):
                self.reject(item.index, "seq_reused", _reused(*found))

    def attach_shipments(self, about_shipment: list[Pending], resolved: list[Any]) -> None:
        """Attach each event to the shipment it names (`resolved`: one row per event), or reject
        it when this driver may not speak of it."""
        for item, row in zip(about_shipment, resolved, strict=True):
            reason = _shipment_refusal(row, item.event, self.driver_id)
            if reason:
                self.reject(item.index, reason)
                continue
            item.shipment_id = row["shipment_id"]
            item.custody_conflict = row["holder_id"] != self.driver_id

    def accept(self, pending: list[Pending], now: datetime) -> list[Pending]:
        """Those not refused, with their effective times."""
        accepted = [p for p in pending if self.results[p.index] is None]
        for item in accepted:
            item.effective_at, item.anomalies = effective_time(item.event, now)
            if item.custody_conflict:
                item.anomalies.append("custody_conflict")
        return accepted

    def answer(
        self,
        accepted: list[Pending],
        statuses: dict[UUID, str],
        fold_anomalies: dict[UUID, list[str]],
    ) -> list[EventResult]:
        """The per-event results, accepted ones with their shipment's resulting status and their
        flags (their own and the fold's)."""
        for item in accepted:
            result = self.results[item.index]
            if result is None:
                flags = item.anomalies + fold_anomalies.get(item.event.event_id, [])
                result = EventResult(item.event.event_id, "accepted", flags=flags)
            if result.status != "rejected" and item.shipment_id:
                result.shipment = ShipmentStatus(item.shipment_id, statuses[item.shipment_id])
            self.results[item.index] = result
        return self.results  # type: ignore[return-value]  # every event has its result now


def effective_time(event: DeviceEvent, received_at: datetime) -> tuple[datetime, list[str]]:
    """From the event's own fields only, so arrival order cannot change it.

    With a monotonic anchor from the same boot: anchor.server_time + (mono_ms - anchor.mono_ms);
    otherwise the device wall clock, flagged low-confidence. A time outside the plausible range
    around first receipt (more than FUTURE_TOLERANCE after it, or PAST_TOLERANCE before it:
    a clock that says 9999 or 1970) is clamped to the receipt and flagged `clock_suspect`: the
    receipt is the one time we know the event had happened by, and events clamped together
    still fold in their seq order.
    """
    clock = event.clock
    if clock and clock.anchor and clock.anchor.boot_id == clock.boot_id:
        # Both terms are bounded by the schema, so this stays inside datetime's range.
        at = clock.anchor.server_time + timedelta(milliseconds=clock.mono_ms - clock.anchor.mono_ms)
        anomalies: list[str] = []
    else:
        at, anomalies = event.occurred_at, ["clock_low_confidence"]
    if not received_at - PAST_TOLERANCE <= at <= received_at + FUTURE_TOLERANCE:
        return received_at, [*anomalies, "clock_suspect"]
    return at, anomalies


def about_shipments(pending: list[Pending]) -> tuple[list[Pending], Refs]:
    """The events that name a shipment (route starts aside) and what each names."""
    about = [p for p in pending if p.event.type != "route_started" and _names_shipment(p.event)]
    refs = (
        [p.event.shipment_id for p in about],
        [p.event.barcode for p in about],
        [p.event.stop_id for p in about],
    )
    return about, refs


def event_row(item: Pending) -> tuple[Any, ...]:
    """What `SyncRepository.insert_events` stores of an accepted event in the inbox."""
    event = item.event
    return (
        event.event_id,
        event.seq,
        event.type,
        item.shipment_id,
        item.content_hash,
        item.effective_at,
        item.body,
    )


def log_row(item: Pending, device_id: str, received_at: datetime, data: str) -> dict[str, Any]:
    """An accepted event about a shipment as the row its shipment's log will hold, in the shape
    `ShipmentService.refold` folds and links (`data` and `anomalies` as JSON), so the chain
    hashes what a verifier later reads: `data` as PostgreSQL printed it when the inbox stored
    it, times in UTC."""
    event = item.event
    return {
        "id": event.event_id,
        "shipment_id": item.shipment_id,
        "source": "device",
        "type": event.type,
        "actor_id": None,
        "device_id": device_id,
        "seq": event.seq,
        "occurred_at": event.occurred_at.astimezone(UTC),
        "effective_at": item.effective_at.astimezone(UTC),  # type: ignore[union-attr]  # set
        "received_at": received_at,
        "chain_seq": None,
        "chain_hash": None,
        "data": data,
        "anomalies": msgspec.json.encode(item.anomalies),
    }


def fixes(fresh: list[Pending]) -> list[Fix]:
    """Accepted `location` events as position fixes, at their effective time."""
    found: list[Fix] = []
    for item in fresh:
        where, data = item.event.location, item.event.data
        if item.event.type == "location" and where and item.effective_at:
            speed, heading = _number(data.get("speed_mps")), _number(data.get("heading"))
            found.append(
                (item.effective_at, where.lon, where.lat, where.accuracy_m, speed, heading)
            )
    return found


def delivery(item: Pending, driver_id: UUID, device_id: str) -> Delivery:
    return Delivery(
        event_id=item.event.event_id,
        shipment_id=item.shipment_id,  # type: ignore[arg-type]  # delivered names a shipment
        driver_id=driver_id,
        device_id=device_id,
        effective_at=item.effective_at,  # type: ignore[arg-type]  # set for every accepted event
        location=item.event.location,
        data=item.data  # type: ignore[arg-type]  # parsed as DeliveredData for `delivered`
        if isinstance(item.data, DeliveredData)
        else msgspec.convert(item.event.data, DeliveredData, strict=False),
    )


def _number(value: Any) -> float | None:
    """A finite number PostgreSQL's double precision holds, else nothing (these are extras)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond double's range
        return None
    return number if math.isfinite(number) else None


def nul_path(value: Any, path: str = "") -> str | None:
    """The path (`data.note`, `data[2]`) of the first string or key holding U+0000, if any."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return here.replace("\x00", "\\0")
            if (found := nul_path(item, here)) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (found := nul_path(item, f"{path}[{index}]")) is not None:
                return found
    return None


def _raw_columns(body: bytes) -> tuple[str | None, bytes | None]:
    """A quarantined body as jsonb text, or as bytes when jsonb cannot hold it (U+0000)."""
    if _NUL_ESCAPE in body and nul_path(msgspec.json.decode(body)) is not None:
        return None, body
    return body.decode(), None


def _reused(seq: int, event_id: UUID) -> str:
    return f"seq: {seq} is already event {event_id}"


def _names_shipment(event: DeviceEvent) -> bool:
    return bool(event.shipment_id or event.barcode or event.stop_id)


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
    ) and 0 < seq <= MAX_SEQ else None


def _describe(exc: msgspec.ValidationError, *, prefix: str = "") -> str:
    """`data.reason: Invalid enum value 'x'`: the field, then what is wrong with it."""
    field_name, text = describe_validation(str(exc))
    if prefix:
        field_name = prefix if field_name == "body" else f"{prefix}.{field_name}"
    return f"{field_name}: {text}"
