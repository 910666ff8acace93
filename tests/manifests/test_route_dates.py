"""Routes dated in year 1 or 9999 are refused; dates near today are not."""

import datetime as dt

import pytest

from tests.factories import Api


@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31", "1970-01-01", "2126-12-01"])
async def test_an_implausible_route_date_is_refused(api: Api, date: str) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    body = {"driver_id": driver["id"], "hub_id": hub["id"], "date": date, "stops": []}
    response = await api.post("/v1/routes", body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "date"
    assert response.json()["code"] == "implausible_date"


async def test_routes_for_yesterday_and_next_month_are_fine(api: Api) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    today = dt.datetime.now(dt.UTC).date()
    for offset in (-1, 30):
        date = (today + dt.timedelta(days=offset)).isoformat()
        await api.route(driver["id"], hub["id"], date=date)
