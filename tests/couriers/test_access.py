"""Who may call what: every courier and offer operation, for every role and for other owners'
ids (a forbidden object is 404; a role that may never call an operation gets 403; a token that
cannot be used on a path at all, 401)."""

from dataclasses import dataclass
from typing import Any

from tests.couriers.support import Applicant, active_courier, apply, sign_in_courier
from tests.factories import CENTER, Api, point
from tests.offers.support import make_offer, shipments


@dataclass
class Callers:
    anonymous: Api
    applicant: Applicant
    other_applicant: Applicant
    courier: Api
    other_courier: Api
    employee: Api
    partner: Api
    dispatcher: Api
    admin: Api


async def callers(api, client, db) -> tuple[Callers, dict[str, Any]]:
    hub = await api.hub()
    applicant, other = await apply(client), await apply(client)
    document = await applicant.document("id_card")
    courier_app, _ = await active_courier(api, db, hub["id"])
    other_app, _ = await active_courier(api, db, hub["id"])
    courier = await sign_in_courier(api, courier_app, "phone-a")
    other_courier = await sign_in_courier(api, other_app, "phone-b")
    await courier.post("/v1/couriers/me/online", {"position": point(*CENTER)})
    offer = await make_offer(
        api,
        shipment_ids=await shipments(api, hub["id"]),
        courier_ids=[(await courier.get("/v1/couriers/me")).json()["driver_id"]],
    )
    who = Callers(
        anonymous=Api(client, "", "anonymous"),
        applicant=applicant,
        other_applicant=other,
        courier=courier,
        other_courier=other_courier,
        employee=await api.as_driver(await api.driver(hub["id"])),
        partner=await api.user("partner"),
        dispatcher=await api.user("dispatcher"),
        admin=api,
    )
    who.anonymous.headers = {}
    return who, {"app": applicant.path, "doc": document["id"], "offer": offer["id"]}


# (method, path, body, {caller: status}); callers left out are checked by DEFAULTS.
def table(ids: dict[str, Any]) -> list[tuple[str, str, Any, dict[str, int]]]:
    app, doc, offer = ids["app"], ids["doc"], ids["offer"]
    staff_only = {
        "admin": 200,
        "dispatcher": 200,
        "applicant": 403,
        "other_applicant": 401,
        "courier": 403,
        "employee": 403,
        "partner": 403,
        "anonymous": 401,
    }
    owner_only = {
        "applicant": 200,
        "other_applicant": 404,
        "admin": 403,
        "dispatcher": 403,
        "courier": 403,
        "employee": 403,
        "partner": 403,
        "anonymous": 401,
    }
    return [
        ("GET", app, None, {**owner_only, "admin": 200, "dispatcher": 200}),
        ("PATCH", app, {"city": "Köln"}, owner_only),
        ("POST", f"{app}/email-code", None, {**owner_only, "applicant": 202}),
        ("POST", f"{app}/verify-email", {"code": "000000"}, {**owner_only, "applicant": 422}),
        (
            "GET",
            f"{app}/documents/{doc}/content",
            None,
            {**owner_only, "admin": 200, "dispatcher": 200},
        ),
        ("POST", f"{app}/submit", None, {**owner_only, "applicant": 422}),
        ("GET", f"{app}/document-reads", None, {**staff_only, "other_applicant": 403}),
        ("GET", "/v1/courier-applications", None, {**staff_only, "applicant": 401}),
        (
            "POST",
            f"{app}/start-review",
            None,
            {**staff_only, "admin": 409, "dispatcher": 409, "other_applicant": 403},
        ),
        ("POST", f"{app}/documents/{doc}/verify", None, {**staff_only, "other_applicant": 403}),
        (
            "GET",
            "/v1/couriers/me",
            None,
            {
                "courier": 200,
                "other_courier": 200,
                "employee": 404,
                "admin": 403,
                "dispatcher": 403,
                "partner": 403,
                "applicant": 401,
                "anonymous": 401,
            },
        ),
        ("GET", "/v1/offers", None, {**staff_only, "applicant": 401, "other_applicant": 401}),
        (
            "GET",
            f"/v1/offers/{offer}",
            None,
            {**staff_only, "applicant": 401, "other_applicant": 401},
        ),
        (
            "GET",
            "/v1/offers/mine",
            None,
            {
                "courier": 200,
                "employee": 200,
                "admin": 403,
                "dispatcher": 403,
                "partner": 403,
                "applicant": 401,
                "anonymous": 401,
            },
        ),
        (
            "POST",
            f"/v1/offers/{offer}/decline",
            None,
            {
                "courier": 200,
                "other_courier": 404,
                "employee": 404,
                "admin": 403,
                "dispatcher": 403,
                "partner": 403,
                "applicant": 401,
                "anonymous": 401,
            },
        ),
        (
            "POST",
            "/v1/offers",
            {},
            {**staff_only, "admin": 422, "dispatcher": 422, "applicant": 401},
        ),
    ]


async def test_every_role_and_other_owners_ids(api, client, db) -> None:
    who, ids = await callers(api, client, db)
    wrong = []
    for method, path, body, expected in table(ids):
        for name, status in expected.items():
            caller: Api = getattr(who, name)
            response = await caller.client.request(method, path, json=body, headers=caller.headers)
            if response.status_code != status:
                wrong.append((method, path, name, status, response.status_code))
            if response.status_code >= 400:
                assert response.headers["content-type"].startswith("application/problem+json")
    assert wrong == []


async def test_staff_actions_on_an_unknown_application_are_404(api) -> None:
    unknown = "/v1/courier-applications/0190e4c2-0000-7000-8000-000000000000"
    for action in ("start-review", "checks", "reactivate"):
        assert (await api.post(f"{unknown}/{action}")).status_code == 404
    assert (await api.get(unknown)).status_code == 404
