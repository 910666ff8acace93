from tests.couriers.support import active_courier, sign_in_courier


async def test_flow_to_active(api, db) -> None:
    hub = await api.hub()
    applicant, read = await active_courier(api, db, hub["id"])
    courier = await sign_in_courier(api, applicant)
    me = await courier.get("/v1/couriers/me")
    assert me.status_code == 200, me.text
