"""Windows no delivery has: in year 1 or 9999, thousands of years long (single, bulk, PATCH)."""

import datetime as dt

import pytest

from tests.factories import Api, shipment_body


def window(start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end}


def soon(hours: int = 0) -> str:
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=hours)
    return moment.isoformat()


NONSENSE = [
    window("0001-01-01T08:00:00Z", "0001-01-01T10:00:00Z"),
    window("9999-12-31T08:00:00Z", "9999-12-31T10:00:00Z"),
    window("2026-01-01T00:00:00Z", "7026-01-01T00:00:00Z"),
    window(soon(1), soon(24 * 8)),  # eight days: past the default 7
    window("9999-12-31T20:00:00-12:00", "9999-12-31T21:00:00-12:00"),  # past year 9999 in UTC
    window("0001-01-01T01:00:00+14:00", "0001-01-01T02:00:00+14:00"),  # before year 1 in UTC
]


@pytest.mark.parametrize("bad", NONSENSE)
async def test_implausible_windows_are_refused_naming_the_window(api: Api, bad: dict) -> None:
    hub = await api.hub()
    response = await api.post("/v1/shipments", shipment_body(hub["id"], window=bad))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "window"


async def test_bulk_refuses_the_nonsense_rows_and_keeps_the_others(api: Api) -> None:
    hub = await api.hub()
    good = shipment_body(hub["id"], window=window(soon(2), soon(4)))
    rows = [good] + [shipment_body(hub["id"], window=bad) for bad in NONSENSE]
    result = (await api.post("/v1/shipments/bulk", {"shipments": rows})).json()
    assert [c["index"] for c in result["created"]] == [0]
    assert [(e["index"], e["errors"][0]["field"]) for e in result["errors"]] == [
        (n, "window") for n in range(1, len(rows))
    ]


async def test_a_patch_to_an_implausible_window_changes_nothing(api: Api) -> None:
    hub = await api.hub()
    shipment = await api.shipment(hub["id"], window=window(soon(2), soon(4)))
    for bad in NONSENSE:
        response = await api.patch(f"/v1/shipments/{shipment['id']}", {"window": bad})
        assert response.status_code == 422
        assert response.json()["code"] == "implausible_window"
    after = (await api.get(f"/v1/shipments/{shipment['id']}")).json()
    assert after["window"] == shipment["window"]
    cleared = await api.patch(f"/v1/shipments/{shipment['id']}", {"window": None})
    assert cleared.status_code == 200


async def test_window_times_in_any_offset_are_compared_in_utc(api: Api) -> None:
    hub = await api.hub()
    today = dt.datetime.now(dt.UTC).date()
    start = f"{today}T08:00:00+14:00"
    end = f"{today}T10:00:00-12:00"  # 24 hours later, well within a week
    created = await api.post("/v1/shipments", shipment_body(hub["id"], window=window(start, end)))
    assert created.status_code == 201, created.text
