"""A shipment's state is the pure fold of its events.

`fold_events` never raises: an impossible sequence becomes an anomaly attached to the event that
caused it (and, upstream, an incident), never an error. Physical facts beat administrative
intent: a scan that shows a parcel delivered stands even after a dispatcher cancelled it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar
from uuid import UUID

STATUSES = (
    "created",
    "at_hub",
    "out_for_delivery",
    "delivered",
    "attempt_failed",
    "with_partner",
    "returned",
    "cancelled",
)
SERVICE_LEVELS = ("standard", "express", "same_day")

# At equal effective time, administrative events fold first so physical facts have the last word.
SOURCE_RANK = {"dispatch": 0, "recipient": 1, "partner": 2, "device": 3}
SOURCES = tuple(SOURCE_RANK)

TERMINAL = frozenset({"delivered", "returned"})
# Event type -> the status it moves a shipment to. Types not listed record facts only.
TARGET_STATUS = {
    "created": "created",
    "scan_hub_in": "at_hub",
    "returned_to_hub": "at_hub",
    "scan_loaded": "out_for_delivery",
    "delivered": "delivered",
    "delivery_failed": "attempt_failed",
    "handed_over": "with_partner",
    "returned": "returned",
    "cancelled": "cancelled",
    "redelivery": "at_hub",
}
# Instructions a recipient gives through the tracking link. They change where or when the parcel
# goes, not where it is, so they move no status; given once the shipment is closed they are
# anomalies (the tracking service refuses them, so only a race or a replay gets here).
RECIPIENT_TYPES = frozenset({"rescheduled", "safe_drop", "redirected_to_pickup_point"})


@dataclass(frozen=True, slots=True)
class FoldEvent:
    id: UUID
    type: str
    source: str
    effective_at: datetime
    device_id: str | None = None
    seq: int | None = None


@dataclass(slots=True)
class ShipmentState:
    status: str | None = None
    attempts: int = 0
    delivered_at: datetime | None = None
    last_event_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Anomaly:
    event_id: UUID
    code: str


@dataclass(slots=True)
class FoldResult:
    state: ShipmentState
    anomalies: list[Anomaly] = field(default_factory=list)


def fold_order(event: FoldEvent) -> tuple[bool, datetime, int, str, int, str]:
    """The total order every replica agrees on, whatever order events arrived in:
    (effective time, source rank, device, seq, event id), after the `created` genesis event,
    which comes first even when a skewed device clock dates a scan before it."""
    return (
        event.type != "created",
        event.effective_at,
        SOURCE_RANK.get(event.source, len(SOURCE_RANK)),
        event.device_id or "",
        event.seq or 0,
        str(event.id),
    )


E = TypeVar("E", bound=FoldEvent)


def sort_events(events: Iterable[E]) -> list[E]:
    return sorted(events, key=fold_order)


def fold_events(events: Sequence[FoldEvent]) -> FoldResult:
    result = FoldResult(ShipmentState())
    for event in sort_events(events):
        code = _apply(result.state, event)
        if code:
            result.anomalies.append(Anomaly(event.id, code))
    return result


def _apply(state: ShipmentState, event: FoldEvent) -> str | None:
    """Apply one event in place; return an anomaly code when the sequence is impossible."""
    state.last_event_at = event.effective_at
    target = TARGET_STATUS.get(event.type)
    current = state.status
    if event.type == "created":
        if current is not None:
            return "duplicate_created"
        state.status = "created"
        return None
    anomaly = "before_created" if current is None else None
    if event.type in RECIPIENT_TYPES and current in (*TERMINAL, "cancelled"):
        return f"{event.type}_after_{current}"
    if target is None:
        return anomaly
    if current in TERMINAL and event.type not in ("returned", "redelivery"):
        if event.type == "delivered":
            return "repeated_delivery"
        return f"{event.type}_after_{current}"
    if current == "cancelled" and event.source == "dispatch" and target != "cancelled":
        return f"{event.type}_after_cancelled"
    if current == "cancelled" and event.source != "dispatch":
        anomaly = "physical_event_after_cancelled"
    if event.type == "redelivery" and current != "delivered":
        return "redelivery_without_delivery"
    state.status = target
    if event.type == "delivery_failed":
        state.attempts += 1
    if event.type == "delivered":
        state.attempts += 1
        state.delivered_at = event.effective_at
    elif event.type == "redelivery":
        state.delivered_at = None
    return anomaly
