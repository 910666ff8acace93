"""Email verification with a one-time code; documents and what each vehicle kind requires."""

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.app import create_app
from tests.conftest import _truncate, make_settings
from tests.couriers.conftest import drain
from tests.couriers.support import NEXT_YEAR, apply, staff_post
from tests.pod.support import blob_bytes, sha, upload


async def test_the_code_is_sent_through_the_provider_and_verifies_the_email(
    client, db, outbox
) -> None:
    applicant = await apply(client)
    await drain(outbox)
    sent = await db.fetchrow(
        "SELECT channel, recipient, status, provider, provider_ref FROM courier_messages"
        " WHERE application_id = $1 AND kind = 'email_code'",
        applicant.id,
    )
    assert (sent["channel"], sent["recipient"], sent["status"]) == (
        "email",
        applicant.body["email"],
        "sent",
    )
    assert sent["provider"] == "record" and sent["provider_ref"].startswith("record-")
    await applicant.verify(db)
    assert (await applicant.get(applicant.path)).json()["email_verified"] is True


async def test_a_wrong_code_is_422_and_five_wrong_codes_lock_it(client, db) -> None:
    applicant = await apply(client)
    right = await applicant.code(db)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = await applicant.post(f"{applicant.path}/verify-email", {"code": wrong})
        assert response.status_code == 422
        assert response.json()["code"] == "wrong_code"
        assert response.json()["errors"][0]["field"] == "code"
    locked = await applicant.post(f"{applicant.path}/verify-email", {"code": right})
    assert locked.status_code == 422
    assert locked.json()["code"] == "code_expired"
    # A new code works.
    assert (await applicant.post(f"{applicant.path}/email-code")).status_code == 202
    await applicant.verify(db)


async def test_an_expired_code_is_refused(client, db, monkeypatch) -> None:
    applicant = await apply(client)
    code = await applicant.code(db)
    later = datetime.now(UTC) + timedelta(hours=1)
    monkeypatch.setattr("backend.couriers.service.utcnow", lambda: later)
    response = await applicant.post(f"{applicant.path}/verify-email", {"code": code})
    assert response.status_code == 422
    assert response.json()["code"] == "code_expired"


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "12345\u0000", ""])
async def test_malformed_codes_are_422(client, code) -> None:
    applicant = await apply(client)
    response = await applicant.post(f"{applicant.path}/verify-email", {"code": code})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "code"


async def test_codes_cannot_be_requested_without_end(client) -> None:
    applicant = await apply(client)  # the first code is sent on applying
    codes = [(await applicant.post(f"{applicant.path}/email-code")).status_code for _ in range(5)]
    assert codes == [202, 202, 202, 202, 429]


# requirements -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "required"),
    [
        ("bike", ["id_card", "right_to_work"]),
        ("cargo_bike", ["id_card", "right_to_work"]),
        ("scooter", ["id_card", "right_to_work", "drivers_license", "insurance"]),
        (
            "van",
            ["id_card", "right_to_work", "drivers_license", "insurance", "vehicle_registration"],
        ),
    ],
)
async def test_requirements_are_listed_per_vehicle_kind(client, kind, required) -> None:
    response = await client.get(
        "/v1/courier-applications/requirements", params={"vehicle_kind": kind}
    )
    assert response.status_code == 200
    assert response.json() == {"vehicle_kind": kind, "required_documents": required}


async def test_an_unknown_vehicle_kind_is_422(client) -> None:
    response = await client.get(
        "/v1/courier-applications/requirements", params={"vehicle_kind": "unicycle"}
    )
    assert response.status_code in (400, 422)


async def test_requirements_are_configurable(db, blob_dir) -> None:
    from litestar.testing import AsyncTestClient

    await _truncate(db)
    settings = make_settings(
        blob_dir=str(blob_dir), courier_required_documents='{"bike": ["id_card"]}'
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get(
            "/v1/courier-applications/requirements", params={"vehicle_kind": "bike"}
        )
        assert response.json()["required_documents"] == ["id_card"]
        applicant = await apply(client)
        await applicant.verify(db)
        await applicant.document("id_card")
        assert (await applicant.submit())["status"] == "submitted"


def test_bad_configured_requirements_stop_the_start() -> None:
    from backend.couriers.requirements import load_requirements

    for raw in ('{"bike": ["passport"]}', '{"rocket": []}', "[1]", "{"):
        with pytest.raises(ValueError, match="courier required documents"):
            load_requirements(raw)


# submission -------------------------------------------------------------------------------------


async def test_submit_lists_exactly_what_is_missing(client, db) -> None:
    applicant = await apply(client, vehicle={"kind": "van"})
    await applicant.document("id_card")
    response = await applicant.post(f"{applicant.path}/submit")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "incomplete_application"
    assert body["errors"] == [
        {"field": "email", "message": "not verified"},
        {"field": "documents.right_to_work", "message": "missing"},
        {"field": "documents.drivers_license", "message": "missing"},
        {"field": "documents.insurance", "message": "missing"},
        {"field": "documents.vehicle_registration", "message": "missing"},
    ]
    await applicant.verify(db)
    for kind in ("right_to_work", "drivers_license", "insurance", "vehicle_registration"):
        await applicant.document(kind)
    assert (await applicant.submit())["status"] == "submitted"


async def test_a_bike_needs_no_licence(client, db) -> None:
    applicant = await apply(client, vehicle={"kind": "bike"})
    await applicant.verify(db)
    await applicant.document("id_card")
    await applicant.document("right_to_work", expires_on=None)
    assert (await applicant.submit())["status"] == "submitted"


async def test_a_document_that_expired_before_submission_blocks_it(client, db, monkeypatch) -> None:
    applicant = await apply(client)
    await applicant.verify(db)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    await applicant.document("id_card", expires_on=tomorrow)
    await applicant.document("right_to_work")
    later = datetime.now(UTC) + timedelta(days=3)
    monkeypatch.setattr("backend.couriers.service.utcnow", lambda: later)
    response = await applicant.post(f"{applicant.path}/submit")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "documents.id_card", "message": f"expired on {tomorrow}"}
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expires_on": "2020-01-01"}, "expires_on"),
        ({"expires_on": "9999-12-31"}, "expires_on"),
        ({"expires_on": "2027-02-30"}, "expires_on"),
        ({"kind": "passport"}, "kind"),
        ({"blob_sha256": "A" * 64}, "blob_sha256"),
        ({"blob_sha256": "0" * 64}, "blob_sha256"),
    ],
)
async def test_bad_documents_are_422_naming_the_field(client, change, field) -> None:
    applicant = await apply(client)
    data = blob_bytes("application/pdf")
    await upload(applicant, data, "application/pdf")
    body = {"kind": "id_card", "blob_sha256": sha(data), "expires_on": NEXT_YEAR} | change
    response = await applicant.post(f"{applicant.path}/documents", body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_a_rejected_document_is_uploaded_again(api, client, db) -> None:
    applicant = await apply(client)
    await applicant.verify(db)
    first = await applicant.document("id_card")
    await applicant.document("right_to_work")
    await applicant.submit()
    rejected = await staff_post(
        api,
        f"{applicant.path}/documents/{first['id']}/reject",
        {"reason": "the photo is blurred"},
    )
    assert (rejected["status"], rejected["review_reason"]) == ("rejected", "the photo is blurred")
    read = (await applicant.get(applicant.path)).json()
    assert read["missing_documents"] == ["id_card"]
    second = await applicant.document("id_card")
    read = (await applicant.get(applicant.path)).json()
    assert read["missing_documents"] == []
    statuses = {d["id"]: d["status"] for d in read["documents"]}
    assert statuses == {
        first["id"]: "superseded",
        second["id"]: "pending",
        read["documents"][1]["id"]: "pending",
    }
    verified = await staff_post(api, f"{applicant.path}/documents/{second['id']}/verify")
    assert verified["status"] == "verified"
    stale = await api.post(f"{applicant.path}/documents/{first['id']}/verify")
    assert stale.status_code == 409


async def test_documents_are_read_by_the_applicant_and_reviewers_only_and_logged(
    api, client, db
) -> None:
    applicant, other = await apply(client), await apply(client)
    document = await applicant.document("id_card")
    content = f"{applicant.path}/documents/{document['id']}/content"
    mine = await applicant.get(content)
    assert mine.status_code == 200
    assert mine.headers["content-type"] == "application/pdf"
    assert sha(mine.content) == document["blob_sha256"]
    dispatcher = await api.user("dispatcher")
    assert (await dispatcher.get(content)).status_code == 200
    assert (await other.get(content)).status_code == 404
    foreign = f"{other.path}/documents/{document['id']}/content"
    assert (await other.get(foreign)).status_code == 404  # not a document of that application
    hub = await api.hub()
    driver = await api.as_driver(await api.driver(hub["id"]))
    assert (await driver.get(content)).status_code == 403
    assert (await driver.get(f"/v1/blobs/{document['blob_sha256']}")).status_code == 404
    assert (await applicant.get(f"/v1/blobs/{document['blob_sha256']}")).status_code == 404
    # Not even staff read it past the log.
    assert (await dispatcher.get(f"/v1/blobs/{document['blob_sha256']}")).status_code == 404
    log = (await api.get(f"{applicant.path}/document-reads")).json()
    assert [(r["reader_kind"], r["document_id"]) for r in log] == [
        ("applicant", document["id"]),
        ("staff", document["id"]),
    ]
    assert (await applicant.get(f"{applicant.path}/document-reads")).status_code == 403
