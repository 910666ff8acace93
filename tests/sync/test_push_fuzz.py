"""The push under arbitrary JSON per event (Hypothesis): never a 5xx, every event answered, every
rejected event kept, and a resent batch answered the same.

Events are drawn three ways: any JSON value at all; a valid event with some fields replaced by
any JSON value (which reaches the later steps: references, times, the fold); and a valid event
with extreme but well-typed values (NUL characters, huge numbers, dates at the ends of the range).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.sync.factories import Fleet, Handheld, fleet

FUZZ = settings(
    max_examples=60,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failure prints its example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
TYPES = [
    "scan_hub_in",
    "scan_loaded",
    "route_started",
    "arrived",
    "delivered",
    "delivery_failed",
    "returned_to_hub",
    "location",
    "note",
]
EXTREME_TIMES = st.sampled_from(
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-14:00",
        "2026-11-24T09:00:00",
        "2026-11-24T09:00:00+05:30",
    ]
)
EXTREME = {
    "seq": st.sampled_from([0, -1, 1, 2**31, 2**63 - 1, 2**63, 10**40]),
    "occurred_at": EXTREME_TIMES,
    "barcode": st.text(max_size=70),
    "clock": st.fixed_dictionaries(
        {
            "boot_id": st.sampled_from(["b1", "b\x00", ""]),
            "mono_ms": st.sampled_from([0, 10**12, 10**12 + 1, 10**18, 1e18]),
        },
        optional={
            "anchor": st.fixed_dictionaries(
                {
                    "boot_id": st.sampled_from(["b1", "b2"]),
                    "mono_ms": st.sampled_from([0, 5, 10**12, 10**19]),
                    "server_time": EXTREME_TIMES,
                }
            )
        },
    ),
    "location": st.sampled_from(
        [
            {"lon": 13.4, "lat": 52.5, "accuracy_m": 5},
            {"type": "Point", "coordinates": [13.4, 52.5]},
            {"type": "Point", "coordinates": [13.4, 52.5, 30.0]},
            {"type": "Point", "coordinates": [200, 52.5]},
            {"lon": 13.4, "lat": 52.5, "type": "Point", "coordinates": [13.4, 52.5]},
            {"lon": 1e308, "lat": -1e308},
        ]
    ),
    "data": st.dictionaries(st.text(max_size=12), JSON, max_size=4)
    | st.fixed_dictionaries({"handoff": st.text(max_size=12), "recipient_name": st.text()})
    | st.fixed_dictionaries({"reason": st.just("other"), "note": st.text()})
    | st.fixed_dictionaries({"text": st.text(max_size=30)})
    | st.fixed_dictionaries({"speed_mps": JSON, "heading": JSON}),
}


def _valid(device: Handheld, shipment: dict[str, Any], type_: str) -> dict[str, Any]:
    return device.event(
        type_,
        shipment_id=shipment["id"],
        data={
            "delivered": {"handoff": "recipient"},
            "delivery_failed": {"reason": "refused"},
            "note": {"text": "n"},
        }.get(type_, {}),
    )


@st.composite
def events(draw: st.DrawFn, device: Handheld, shipment: dict[str, Any]) -> Any:
    kind = draw(st.sampled_from(["any", "fields", "extreme"]))
    if kind == "any":
        return draw(JSON)
    event = _valid(device, shipment, draw(st.sampled_from(TYPES)))
    keys = draw(st.sets(st.sampled_from([*event, *EXTREME, "extra"]), min_size=1, max_size=3))
    for key in keys:
        if kind == "extreme" and key in EXTREME:
            event[key] = draw(EXTREME[key])
        elif draw(st.booleans()):
            event.pop(key, None)
        else:
            event[key] = draw(JSON)
    return event


@pytest.fixture
async def world(api) -> Fleet:
    """One driver with a published route of one shipment, shared by every example."""
    return await fleet(api, per_route=1)


@FUZZ
@given(data=st.data())
async def test_any_json_per_event_is_answered_never_a_5xx(world: Fleet, db, data) -> None:
    device, shipment = world.handhelds[0], world.shipments[0][0]
    batch = data.draw(st.lists(events(device, shipment), min_size=1, max_size=8))
    batch_id = str(uuid.uuid4())
    response = await device.push_raw(batch, batch_id)
    assert response.status_code == 200, response.text
    answer = response.json()
    results = answer["results"]
    assert len(results) == len(batch)
    assert all(r["status"] in ("accepted", "duplicate", "rejected") for r in results)
    assert all(r.get("reason") for r in results if r["status"] == "rejected")
    rejected = sum(r["status"] == "rejected" for r in results)
    kept = await db.fetchval(
        "SELECT count(*) FROM quarantined_events WHERE batch_id = $1", uuid.UUID(batch_id)
    )
    assert kept == rejected  # nothing a device sends is dropped
    again = await device.push_raw(batch, batch_id)
    assert again.status_code == 200, again.text
    assert again.json()["results"] == results
