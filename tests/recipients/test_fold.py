"""Recipient instructions in the pure fold: facts that move no status, anomalies once closed."""

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from backend.shipments.state import RECIPIENT_TYPES, TARGET_STATUS, FoldEvent, fold_events

T0 = datetime(2026, 11, 24, 8, tzinfo=UTC)


def _event(kind: str, minute: int, source: str = "dispatch") -> FoldEvent:
    return FoldEvent(uuid.uuid4(), kind, source, T0 + timedelta(minutes=minute))


def test_instructions_keep_the_status() -> None:
    for kind in RECIPIENT_TYPES:
        result = fold_events(
            [_event("created", 0), _event("scan_hub_in", 1, "device"), _event(kind, 2, "recipient")]
        )
        assert result.state.status == "at_hub"
        assert result.anomalies == []


def test_an_instruction_after_delivery_is_an_anomaly_not_an_error() -> None:
    late = _event("safe_drop", 9, "recipient")
    result = fold_events([_event("created", 0), _event("delivered", 5, "device"), late])
    assert result.state.status == "delivered"
    assert [(a.event_id, a.code) for a in result.anomalies] == [
        (late.id, "safe_drop_after_delivered")
    ]


KINDS = sorted(RECIPIENT_TYPES | set(TARGET_STATUS))


@given(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 100)), max_size=12))
def test_instructions_anywhere_never_change_the_state(events) -> None:
    """The fold never raises, and dropping every instruction leaves the same state."""
    folded = [
        _event(kind, minute, "recipient" if kind in RECIPIENT_TYPES else "device")
        for kind, minute in events
    ]
    with_instructions = fold_events(folded).state
    without = fold_events([e for e in folded if e.type not in RECIPIENT_TYPES]).state
    assert (with_instructions.status, with_instructions.attempts) == (
        without.status,
        without.attempts,
    )
