"""Background checks: the signed callback (Standard Webhooks), and the local provider answering
through it over real HTTP."""

from datetime import UTC, datetime, timedelta

import msgspec

from backend.config import DEV_CHECKS_SECRET
from backend.couriers.checks import signed_headers
from tests.couriers.conftest import drain, point_checks_at
from tests.couriers.support import post_result, staff_post, submitted
from tests.live.servers import api_worker


async def started_check(api, client, db, **overrides) -> tuple[object, str]:
    applicant = await submitted(client, db, **overrides)
    await staff_post(api, f"{applicant.path}/start-review")
    read = await staff_post(api, f"{applicant.path}/checks")
    assert read["status"] == "checks_pending"
    return applicant, read["checks"][-1]["id"]


async def check_status(api, applicant) -> str:
    return (await api.get(applicant.path)).json()["checks"][-1]["status"]


async def test_a_signed_result_is_recorded_once(api, client, db) -> None:
    applicant, check_id = await started_check(api, client, db)
    body = msgspec.json.encode({"check_id": check_id, "status": "clear"})
    headers = signed_headers(DEV_CHECKS_SECRET, body) | {"content-type": "application/json"}
    url = f"/v1/courier-checks/{check_id}/result"
    first = await client.post(url, content=body, headers=headers)
    assert first.status_code == 200 and first.json() == {"result": "recorded"}
    # The same message again (a replay), or a later contradicting one, changes nothing.
    replay = await client.post(url, content=body, headers=headers)
    assert replay.status_code == 200 and replay.json() == {"result": "duplicate"}
    contradiction = await post_result(client, check_id, "failed")
    assert contradiction.json() == {"result": "duplicate"}
    assert await check_status(api, applicant) == "clear"


async def test_bad_signatures_are_401_and_change_nothing(api, client, db) -> None:
    applicant, check_id = await started_check(api, client, db)
    url = f"/v1/courier-checks/{check_id}/result"
    body = msgspec.json.encode({"check_id": check_id, "status": "clear"})
    good = signed_headers(DEV_CHECKS_SECRET, body) | {"content-type": "application/json"}
    other_secret = "whsec_" + "b3RoZXItc2VjcmV0LW9mLWF0LWxlYXN0LTI0LWJ5dGVz"
    stale = signed_headers(DEV_CHECKS_SECRET, body, at=datetime.now(UTC) - timedelta(hours=1))
    future = signed_headers(DEV_CHECKS_SECRET, body, at=datetime.now(UTC) + timedelta(hours=1))
    tampered_body = msgspec.json.encode({"check_id": check_id, "status": "failed"})
    attempts = [
        (body, {}),  # unsigned
        (body, signed_headers(other_secret, body)),
        (body, stale),
        (body, future),
        (tampered_body, good),
        (body, good | {"webhook-signature": "v1,not-base64!!"}),
        (body, good | {"webhook-signature": "garbage"}),
        (body, good | {"webhook-timestamp": "yesterday"}),
        (body, good | {"webhook-timestamp": "1" * 400}),
        (body, good | {"webhook-id": ""}),
    ]
    for content, headers in attempts:
        response = await client.post(
            url, content=content, headers={"content-type": "application/json"} | headers
        )
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["code"] == "bad_signature"
    assert await check_status(api, applicant) == "requested"


async def test_a_signed_but_malformed_or_foreign_result_is_4xx(api, client, db) -> None:
    _, check_id = await started_check(api, client, db)
    unknown = "0190e4c2-0000-7000-8000-000000000000"
    disagreeing = msgspec.json.encode({"check_id": unknown, "status": "clear"})
    response = await client.post(
        f"/v1/courier-checks/{check_id}/result",
        content=disagreeing,
        headers=signed_headers(DEV_CHECKS_SECRET, disagreeing),
    )
    assert response.status_code == 422  # the body names another check than the path
    assert response.json()["errors"][0]["field"] == "check_id"
    for body in (b"{", b'{"check_id": "x", "status": "clear"}', b"[]"):
        headers = signed_headers(DEV_CHECKS_SECRET, body)
        response = await client.post(
            f"/v1/courier-checks/{check_id}/result", content=body, headers=headers
        )
        assert 400 <= response.status_code < 500
    body = msgspec.json.encode({"check_id": unknown, "status": "clear"})
    response = await client.post(
        f"/v1/courier-checks/{unknown}/result",
        content=body,
        headers=signed_headers(DEV_CHECKS_SECRET, body),
    )
    assert response.status_code == 404
    oversized = b" " * 20_000 + b"{}"
    response = await client.post(
        f"/v1/courier-checks/{check_id}/result",
        content=oversized,
        headers=signed_headers(DEV_CHECKS_SECRET, oversized),
    )
    assert response.status_code == 413


async def test_the_local_provider_answers_through_the_signed_callback_over_http(
    api, client, db, outbox
) -> None:
    clear, clear_check = await started_check(api, client, db)
    failing, failing_check = await started_check(
        api, client, db, email="someone+check-failed@test.lastmile"
    )
    with api_worker() as server:
        point_checks_at(outbox, server.base_url)
        await drain(outbox)
    assert await check_status(api, clear) == "clear"
    assert await check_status(api, failing) == "failed"
    recorded = await db.fetchval(
        "SELECT result_message_id FROM courier_checks WHERE id = $1", clear_check
    )
    assert recorded.startswith("msg_")
    pending = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE topic = 'courier.check_requested'"
        " AND processed_at IS NULL"
    )
    assert pending == 0
    assert failing_check != clear_check


async def test_a_provider_that_cannot_answer_is_retried_by_the_outbox(api, client, db, outbox):
    applicant, _ = await started_check(api, client, db)
    point_checks_at(outbox, "http://127.0.0.1:9")  # nothing listens there
    await outbox.run_once()
    row = await db.fetchrow(
        "SELECT attempts, last_error, processed_at FROM outbox"
        " WHERE topic = 'courier.check_requested'"
    )
    assert row["attempts"] == 1 and row["processed_at"] is None
    assert row["last_error"]
    assert await check_status(api, applicant) == "requested"
