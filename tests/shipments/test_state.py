"""The fold is pure: same events, same answer, whatever order they came in."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from backend.shipments.state import FoldEvent, fold_events

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def event(n: int, type_: str, source: str = "device", minutes: int | None = None) -> FoldEvent:
    return FoldEvent(
        id=UUID(int=n),
        type=type_,
        source=source,
        effective_at=T0 + timedelta(minutes=n if minutes is None else minutes),
        device_id="d1" if source == "device" else None,
        seq=n if source == "device" else None,
    )


def statuses(*events: FoldEvent) -> tuple[str | None, list[str]]:
    result = fold_events(list(events))
    return result.state.status, [a.code for a in result.anomalies]


def test_happy_path() -> None:
    result = fold_events(
        [
            event(0, "created", "dispatch"),
            event(1, "scan_hub_in"),
            event(2, "scan_loaded"),
            event(3, "arrived"),
            event(4, "delivered"),
        ]
    )
    assert result.state.status == "delivered"
    assert result.state.delivered_at == T0 + timedelta(minutes=4)
    assert result.state.attempts == 1
    assert result.anomalies == []


def test_failed_attempt_then_redelivery_next_day() -> None:
    result = fold_events(
        [
            event(0, "created", "dispatch"),
            event(1, "scan_loaded"),
            event(2, "delivery_failed"),
            event(3, "returned_to_hub"),
            event(4, "scan_loaded"),
            event(5, "delivered"),
        ]
    )
    assert result.state.status == "delivered"
    assert result.state.attempts == 2


def test_dispatch_cannot_cancel_what_a_scan_shows_delivered() -> None:
    assert statuses(
        event(0, "created", "dispatch"), event(1, "delivered"), event(2, "cancelled", "dispatch")
    ) == ("delivered", ["cancelled_after_delivered"])


def test_a_delivery_after_a_cancel_stands_but_is_flagged() -> None:
    assert statuses(
        event(0, "created", "dispatch"), event(1, "cancelled", "dispatch"), event(2, "delivered")
    ) == ("delivered", ["physical_event_after_cancelled"])


def test_at_equal_times_the_physical_fact_folds_last() -> None:
    status, _ = statuses(
        event(0, "created", "dispatch"),
        event(1, "delivered", "device", minutes=5),
        event(2, "cancelled", "dispatch", minutes=5),
    )
    assert status == "delivered"


def test_impossible_sequences_become_anomalies_not_errors() -> None:
    assert statuses(event(1, "delivered"), event(2, "delivered")) == (
        "delivered",
        ["before_created", "repeated_delivery"],
    )
    assert statuses(event(0, "created", "dispatch"), event(1, "created", "dispatch")) == (
        "created",
        ["duplicate_created"],
    )


TYPES = [
    "scan_hub_in",
    "scan_loaded",
    "arrived",
    "delivered",
    "delivery_failed",
    "returned_to_hub",
    "note",
]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(TYPES), st.integers(0, 30), st.sampled_from(["device", "dispatch"])
        ),
        max_size=12,
    ),
    st.randoms(),
)
def test_any_arrival_order_gives_the_same_fold(spec, rnd) -> None:
    events = [event(0, "created", "dispatch")] + [
        event(i + 1, type_, source, minutes) for i, (type_, minutes, source) in enumerate(spec)
    ]
    shuffled = events[:]
    rnd.shuffle(shuffled)
    assert fold_events(events) == fold_events(shuffled)
