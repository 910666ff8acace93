"""Who may read KPIs and targets, who may set targets; bad parameters are clear 4xx."""

import asyncio

import pytest

from tests.factories import Api

RANGE = {"from": "2026-11-01", "to": "2026-11-30"}


async def _roles(api: Api) -> dict[str, Api | None]:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    return {
        "admin": api,
        "dispatcher": await api.user("dispatcher"),
        "driver": await api.as_driver(driver),
        "partner": await api.user("partner"),
        "anonymous": None,
    }


async def _get(who: Api | None, api: Api, path: str, **params: str) -> int:
    if who is None:
        return (await api.client.get(path, params=params)).status_code
    return (await who.get(path, params=params)).status_code


async def test_only_staff_read_kpis_and_targets(api: Api) -> None:
    roles = await _roles(api)
    expected = {"admin": 200, "dispatcher": 200, "driver": 403, "partner": 403, "anonymous": 401}
    for path, params in (("/v1/kpis", RANGE), ("/v1/kpis/targets", {})):
        seen = {name: await _get(who, api, path, **params) for name, who in roles.items()}
        assert seen == expected, path


async def test_only_admins_set_and_delete_targets(api: Api) -> None:
    roles = await _roles(api)
    hub = await api.hub()
    path = f"/v1/kpis/targets/{hub['id']}/on_time_rate"
    for name in ("dispatcher", "driver", "partner"):
        who = roles[name]
        assert (await who.put(path, {"min": 0.9})).status_code == 403, name
        assert (await who.client.delete(path, headers=who.headers)).status_code == 403, name
    assert (await api.client.put(path, json={"min": 0.9})).status_code == 401
    response = await api.put(path, {"min": 0.9})
    assert response.status_code == 200, response.text
    assert response.json()["min"] == 0.9 and response.json()["max"] is None
    dispatcher = roles["dispatcher"]
    listed = (await dispatcher.get("/v1/kpis/targets", params={"hub_id": hub["id"]})).json()
    assert [(t["kpi"], t["min"]) for t in listed["items"]] == [("on_time_rate", 0.9)]
    assert (await api.client.delete(path, headers=api.headers)).status_code == 204
    assert (await api.client.delete(path, headers=api.headers)).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-30", "to": "2026-11-01"}, "from"),
        ({"from": "2026-01-01", "to": "2026-12-31"}, "to"),
        ({"from": "0001-01-01", "to": "9999-12-31"}, "to"),
        ({"from": "2026-11-01", "to": "2026-11-30", "group_by": "week"}, "group_by"),
        ({"from": "2026-11-01", "to": "2026-11-30", "group_by": "day\x00"}, "group_by"),
        ({"from": "2026-11-01\x00", "to": "2026-11-30"}, "from"),
        ({"from": "2026-11-01T00:00:00+02:00", "to": "2026-11-30"}, "from"),
        ({"from": "2026-11-01", "to": "2026-13-01"}, "to"),
        ({"from": "99999999999-01-01", "to": "2026-11-30"}, "from"),
        ({"to": "2026-11-30"}, "from"),
        ({"from": "2026-11-01", "to": "2026-11-30", "hub_id": "not-a-uuid"}, "hub_id"),
    ],
)
async def test_bad_parameters_are_4xx_naming_the_field(api: Api, params, field) -> None:
    response = await api.get("/v1/kpis", params=params)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text


async def test_another_hub_id_that_does_not_exist_is_404(api: Api) -> None:
    params = RANGE | {"hub_id": "0190a000-0000-7000-8000-000000000000"}
    assert (await api.get("/v1/kpis", params=params)).status_code == 404
    path = "/v1/kpis/targets/0190a000-0000-7000-8000-000000000000/on_time_rate"
    assert (await api.put(path, {"min": 0.5})).status_code == 404


@pytest.mark.parametrize(
    ("kpi", "body"),
    [
        ("on_time_rate", {}),
        ("on_time_rate", {"min": 0.9, "max": 0.1}),
        ("on_time_rate", {"min": "0.9"}),
        ("on_time_rate", {"min": 0.9, "extra": 1}),
        ("on_time_rate", [[[[[[[[[[[[[[[[[[[[{"min": 1}]]]]]]]]]]]]]]]]]]]]),
        ("no_such_kpi", {"min": 0.9}),
        ("on_time_rate%00", {"min": 0.9}),
    ],
)
async def test_bad_targets_are_4xx(api: Api, kpi, body) -> None:
    hub = await api.hub()
    response = await api.put(f"/v1/kpis/targets/{hub['id']}/{kpi}", body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_huge_numbers_are_refused(api: Api) -> None:
    hub = await api.hub()
    for raw in (
        b'{"min": 1e400}',
        b'{"max": -1e13}',
        b'{"min": NaN}',
        b'{"min": 1' + b"0" * 5000 + b"}",
    ):
        response = await api.client.put(
            f"/v1/kpis/targets/{hub['id']}/cost_per_parcel",
            content=raw,
            headers=api.headers | {"content-type": "application/json"},
        )
        assert 400 <= response.status_code < 500, (raw[:20], response.text)


async def test_concurrent_target_writes_leave_one_row(api: Api, db) -> None:
    hub = await api.hub()
    path = f"/v1/kpis/targets/{hub['id']}/dwell_p90_seconds"
    responses = await asyncio.gather(*(api.put(path, {"max": 600 + i}) for i in range(8)))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    assert await db.fetchval("SELECT count(*) FROM kpi_targets") == 1


async def test_the_csv_is_refused_to_a_driver_too(api: Api) -> None:
    roles = await _roles(api)
    driver = roles["driver"]
    response = await driver.client.get(
        "/v1/kpis", params=RANGE, headers=driver.headers | {"Accept": "text/csv"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "days",
    [("0001-01-01", "0001-01-03"), ("9999-12-29", "9999-12-31"), ("2026-11-01", "2026-11-01")],
)
async def test_edges_of_the_calendar_answer_empty(api: Api, days) -> None:
    for group_by in ("day", "hub", "zone", "route", "driver", "partner"):
        params = {"from": days[0], "to": days[1], "group_by": group_by}
        response = await api.get("/v1/kpis", params=params)
        assert response.status_code == 200, response.text
        assert response.json()["rows"] == []
