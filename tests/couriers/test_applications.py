"""Applying: the public start, the applicant token's reach, duplicates, limits, bad input."""

import asyncio
from uuid import UUID

import pytest

from backend.app import create_app
from backend.couriers.tokens import issue_applicant_token
from tests.conftest import make_settings
from tests.couriers.support import Applicant, application_body, apply, staff_post, submitted


async def test_applying_answers_a_draft_and_the_token_that_reads_it(client) -> None:
    applicant = await apply(client)
    assert applicant.token.startswith("lma_")
    response = await applicant.get(applicant.path)
    assert response.status_code == 200, response.text
    read = response.json()
    assert read["status"] == "draft"
    assert read["email_verified"] is False
    assert read["vehicle"] == {
        "kind": "bike",
        "plate": None,
        "capacity_parcels": 20,
        "capacity_kg": 30.0,
    }
    assert read["missing_documents"] == ["id_card", "right_to_work"]
    assert "password" not in response.text and "password_hash" not in response.text


async def test_the_applicant_token_reaches_its_own_application_only(api, client) -> None:
    mine, other = await apply(client), await apply(client)
    assert (await mine.get(other.path)).status_code == 404
    assert (await mine.post(f"{other.path}/submit")).status_code == 404
    assert (await mine.post(f"{other.path}/verify-email", {"code": "123456"})).status_code == 404
    assert (await mine.patch(other.path, {"city": "Hamburg"})).status_code == 404
    hub = await api.hub()
    outside = [
        await mine.get("/v1/shipments"),
        await mine.get(f"/v1/hubs/{hub['id']}"),
        await mine.get("/v1/sync/pull"),
        await mine.get("/v1/offers/mine"),
        await mine.get("/v1/couriers/me"),
    ]
    assert [r.status_code for r in outside] == [401] * len(outside)
    # Staff decisions are not the applicant's to make.
    assert (await mine.post(f"{mine.path}/start-review")).status_code == 403
    # The review queue is not a path an applicant token opens at all.
    assert (await mine.get("/v1/courier-applications")).status_code == 401


async def test_forged_and_foreign_tokens_are_refused(client, settings) -> None:
    applicant = await apply(client)
    other_secret = issue_applicant_token(
        UUID(applicant.id), "another-secret-key-0123456789-abcdefghij"
    )
    tampered = applicant.token[:-2] + ("AA" if not applicant.token.endswith("AA") else "BB")
    for token in (other_secret, tampered, "lma_nothex.abc", "lma_", applicant.token + "x"):
        forged = Applicant(client, token, applicant.id, applicant.body)
        assert (await forged.get(applicant.path)).status_code == 401, token


async def test_staff_read_every_application_and_drivers_none(api, client) -> None:
    applicant = await apply(client)
    dispatcher = await api.user("dispatcher")
    assert (await dispatcher.get(applicant.path)).status_code == 200
    hub = await api.hub()
    driver = await api.as_driver(await api.driver(hub["id"]))
    assert (await driver.get(applicant.path)).status_code == 403
    partner = await api.user("partner")
    assert (await partner.get(applicant.path)).status_code == 403
    listed = await dispatcher.get("/v1/courier-applications", params={"status": "draft"})
    assert [a["id"] for a in listed.json()["items"]] == [applicant.id]
    by_city = await api.get("/v1/courier-applications", params={"city": "hamburg"})
    assert by_city.json()["items"] == []


async def test_a_second_open_application_with_the_same_email_is_409(api, client, db) -> None:
    first = await submitted(client, db, email="Same@Test.Lastmile")
    again = await client.post(
        "/v1/courier-applications", json=application_body(email="same@test.lastmile")
    )
    assert again.status_code == 409
    assert again.json()["code"] == "application_exists"
    assert again.json()["errors"][0]["field"] == "email"
    # Once the first is closed, the person may apply again.
    await staff_post(api, f"{first.path}/reject", {"reason": "incomplete"})
    second = await client.post(
        "/v1/courier-applications", json=application_body(email="same@test.lastmile")
    )
    assert second.status_code == 201, second.text


async def test_concurrent_applications_with_one_email_make_exactly_one(client) -> None:
    body = application_body()
    responses = await asyncio.gather(
        *(client.post("/v1/courier-applications", json=body) for _ in range(8))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 7


@pytest.fixture
async def limited_client(db):
    from litestar.testing import AsyncTestClient

    from tests.conftest import _truncate

    await _truncate(db)
    app = create_app(make_settings(courier_applications_per_hour=3))
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_applications_are_rate_limited_per_address_and_email(limited_client) -> None:
    codes = [
        (await limited_client.post("/v1/courier-applications", json=application_body())).status_code
        for _ in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    response = await limited_client.post("/v1/courier-applications", json=application_body())
    assert response.json()["code"] == "rate_limited"
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"vehicle": {"kind": "rocket"}}, "vehicle.kind"),
        ({"vehicle": {"kind": "van", "capacity_parcels": 10**12}}, "vehicle.capacity_parcels"),
        ({"vehicle": {"kind": "van", "capacity_kg": -1}}, "vehicle.capacity_kg"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"phone": "call me\u0000maybe"}, "phone"),
        ({"name": ""}, "name"),
        ({"name": "Ada\u0000Lovelace"}, "name"),
        ({"city": "Berlin\u0007"}, "city"),
        (
            {"availability": [{"weekday": 8, "start": "09:00", "end": "17:00"}]},
            "availability[0].weekday",
        ),
        (
            {"availability": [{"weekday": 1, "start": "25:00", "end": "26:00"}]},
            "availability[0].start",
        ),
        ({"availability": [{"weekday": 1, "start": "17:00", "end": "09:00"}]}, "availability[0]"),
        ({"preferred_zone_ids": ["not-a-uuid"]}, "preferred_zone_ids[0]"),
        ({"preferred_zone_ids": ["0190e4c2-0000-7000-8000-000000000000"]}, "preferred_zone_ids[0]"),
    ],
)
async def test_bad_applications_are_422_naming_the_field(client, change, field) -> None:
    response = await client.post("/v1/courier-applications", json=application_body(**change))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in response.json().get("errors", [])]
    assert any(f.startswith(field) or field.startswith(f) for f in fields), fields


async def test_unknown_fields_are_refused(client) -> None:
    response = await client.post("/v1/courier-applications", json=application_body(surprise=1))
    assert response.status_code == 422
    assert "surprise" in response.json()["detail"]


async def test_non_json_deeply_nested_and_oversized_bodies_are_4xx(client) -> None:
    garbage = await client.post(
        "/v1/courier-applications", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert 400 <= garbage.status_code < 500
    deep = b'{"availability": ' + b'{"x": ' * 5000 + b"1" + b"}" * 5000 + b"}"
    response = await client.post(
        "/v1/courier-applications", content=deep, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    long_name = application_body(name="x" * 1_000)
    assert (await client.post("/v1/courier-applications", json=long_name)).status_code == 422
    huge = application_body(name="x" * 100_000)
    assert (await client.post("/v1/courier-applications", json=huge)).status_code == 413


async def test_a_draft_is_edited_by_its_applicant_and_then_frozen(api, client, db) -> None:
    applicant = await apply(client)
    zone = await api.zone((await api.hub())["id"])
    response = await applicant.patch(
        applicant.path,
        {"city": "Potsdam", "vehicle": {"kind": "van"}, "preferred_zone_ids": [zone["id"]]},
    )
    assert response.status_code == 200, response.text
    read = response.json()
    assert (read["city"], read["vehicle"]["kind"]) == ("Potsdam", "van")
    assert read["preferred_zone_ids"] == [zone["id"]]
    assert "drivers_license" in read["missing_documents"]
    dispatcher = await api.user("dispatcher")
    assert (await dispatcher.patch(applicant.path, {"city": "Bonn"})).status_code == 403
    await applicant.patch(applicant.path, {"vehicle": {"kind": "bike"}})
    await applicant.verify(db)
    await applicant.all_documents()
    await applicant.submit()
    frozen = await applicant.patch(applicant.path, {"city": "Bonn"})
    assert frozen.status_code == 409
    assert frozen.json()["errors"] == [{"field": "status", "message": "submitted"}]
