"""Short-lived access tokens, rotating refresh tokens, logout, and revocation that bites at once."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient

from backend.auth.schemas import Principal
from backend.auth.tokens import issue_token, refresh_token_hash
from tests.auth.support import bearer, refresh, tokens_for
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.factories import Api
from tests.sync.factories import fleet
from tests.tracking.support import ping


async def test_sign_in_answers_a_short_lived_access_token_and_a_refresh_token(
    client: AsyncTestClient, settings
) -> None:
    body = await tokens_for(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.token_ttl_seconds == 15 * 60
    assert body["refresh_token"].startswith("rt_")
    assert body["refresh_expires_in"] == settings.refresh_token_ttl_seconds
    assert (await bearer(client, body).get("/v1/hubs")).status_code == 200


async def test_refresh_rotates_and_the_old_refresh_token_stops_working(
    client: AsyncTestClient,
) -> None:
    first = await tokens_for(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    response = await refresh(client, first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await bearer(client, second).get("/v1/hubs")).status_code == 200
    # The third in the family works; the first, presented again, is a reuse.
    third = (await refresh(client, second["refresh_token"])).json()
    reused = await refresh(client, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.json()["code"] == "refresh_token_reused"
    assert reused.headers["content-type"].startswith("application/problem+json")
    # Reuse ended the whole family: the newest refresh and access tokens are dead too.
    assert (await refresh(client, third["refresh_token"])).json()["code"] == "token_revoked"
    for tokens in (first, second, third):
        response = await bearer(client, tokens).get("/v1/hubs")
        assert response.status_code == 401
        assert response.json()["code"] == "token_revoked"


async def test_concurrent_refreshes_of_one_token_let_one_win_and_end_the_session(
    client: AsyncTestClient,
) -> None:
    first = await tokens_for(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    answers = await asyncio.gather(*(refresh(client, first["refresh_token"]) for _ in range(4)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(200) <= 1 and all(s in (200, 401) for s in statuses)
    assert any(a.json().get("code") == "refresh_token_reused" for a in answers)


async def test_unknown_malformed_and_oversized_refresh_tokens_are_refused(
    client: AsyncTestClient,
) -> None:
    unknown = await refresh(client, "rt_" + "x" * 43)
    assert unknown.status_code == 401
    assert unknown.json()["code"] == "invalid_refresh_token"
    for body in ({"refresh_token": ""}, {"refresh_token": "x" * 5000}, {}, {"refresh_token": 1}):
        response = await client.post("/v1/auth/refresh", json=body)
        assert response.status_code in (400, 422), body
        assert response.headers["content-type"].startswith("application/problem+json")
    nul = await refresh(client, "rt_\x00")
    assert nul.status_code in (400, 401, 422)


async def test_logout_ends_the_session_only(client: AsyncTestClient) -> None:
    phone = await tokens_for(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    laptop = await tokens_for(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert (await bearer(client, phone).post("/v1/auth/logout")).status_code == 204
    gone = await bearer(client, phone).get("/v1/hubs")
    assert gone.status_code == 401 and gone.json()["code"] == "token_revoked"
    assert (await refresh(client, phone["refresh_token"])).status_code == 401
    assert (await bearer(client, laptop).get("/v1/hubs")).status_code == 200
    assert (await client.post("/v1/auth/logout")).status_code == 401


async def test_a_validly_signed_token_of_an_unknown_subject_or_session_is_refused(
    client: AsyncTestClient, settings
) -> None:
    ghost = Principal(user_id=uuid.uuid4(), role="admin", session_id=uuid.uuid4())
    token = issue_token(ghost, settings.secret_key, 60)
    response = await client.get("/v1/hubs", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json()["code"] == "invalid_token"
    # A real admin with an invented session: revoked as far as we know.
    admin = await tokens_for(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    real = bearer(client, admin)
    me = await _user_id(client, admin)
    forged = issue_token(
        Principal(user_id=me, role="admin", session_id=uuid.uuid4()), settings.secret_key, 60
    )
    response = await client.get("/v1/hubs", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and response.json()["code"] == "token_revoked"
    # A token without a session claim (as issued before sessions) does not verify at all.
    old = issue_token(Principal(user_id=me, role="admin"), settings.secret_key, 60)
    assert (await client.get("/v1/hubs", headers={"Authorization": f"Bearer {old}"})).json()[
        "code"
    ] == "invalid_token"
    assert (await real.get("/v1/hubs")).status_code == 200


async def _user_id(client: AsyncTestClient, tokens: dict) -> uuid.UUID:
    import jwt

    return uuid.UUID(jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"])


async def test_deactivating_a_driver_stops_every_use_of_their_tokens_at_once(api: Api) -> None:
    f = await fleet(api, drivers=1, per_route=1)
    handheld, shipment = f.handhelds[0], f.shipments[0][0]
    await handheld.pull()
    assert (await handheld.api.get(f"/v1/shipments/{shipment['id']}")).status_code == 200

    response = await api.post(f"/v1/drivers/{f.drivers[0]['id']}/deactivate")
    assert response.status_code == 200
    uses = [
        await handheld.api.get("/v1/sync/pull"),
        await handheld.push_raw([handheld.event("scanned_out", shipment_id=shipment["id"])]),
        await handheld.api.post(
            "/v1/tracking/pings", {"device_id": handheld.device_id, "pings": [ping(5)]}
        ),
        await handheld.api.get(f"/v1/shipments/{shipment['id']}"),
    ]
    for response in uses:
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "account_inactive"

    # Reactivated: the old session stays ended; signing in again works.
    assert (await api.post(f"/v1/drivers/{f.drivers[0]['id']}/activate")).status_code == 200
    assert (await handheld.api.get("/v1/sync/pull")).json()["code"] == "token_revoked"
    again = await api.as_driver(f.drivers[0], handheld.device_id)
    assert (await again.get("/v1/sync/pull")).status_code == 200


async def test_an_admin_deactivates_and_reactivates_any_account(
    api: Api, client: AsyncTestClient
) -> None:
    hub = await api.hub()
    dispatcher = await api.user("dispatcher")
    partner = await api.user("partner")
    driver = await api.driver(hub["id"])
    handheld = await api.as_driver(driver)
    users = {
        "dispatcher": (dispatcher, await _id_of(dispatcher)),
        "partner": (partner, await _id_of(partner)),
        "driver": (handheld, driver["user_id"]),
    }
    for role, (caller, user_id) in users.items():
        response = await api.post(f"/v1/users/{user_id}/deactivate")
        assert response.status_code == 200, (role, response.text)
        assert response.json()["active"] is False
        assert (await caller.get("/v1/hubs")).json()["code"] == "account_inactive", role
    # A driver deactivated as an account is a deactivated driver too.
    assert (await api.get(f"/v1/drivers/{driver['id']}")).json()["active"] is False
    assert (await api.post(f"/v1/users/{users['driver'][1]}/activate")).json()["active"] is True
    assert (await api.get(f"/v1/drivers/{driver['id']}")).json()["active"] is True
    assert (await api.as_driver(driver)).role == "driver"


async def test_account_activation_is_for_admins_only_and_never_oneself(
    api: Api, client: AsyncTestClient
) -> None:
    hub = await api.hub()
    dispatcher = await api.user("dispatcher")
    partner = await api.user("partner")
    handheld = await api.as_driver(await api.driver(hub["id"]))
    target = await _id_of(partner)
    for caller in (dispatcher, partner, handheld):
        for action in ("deactivate", "activate"):
            response = await caller.post(f"/v1/users/{target}/{action}")
            assert response.status_code == 403, (caller.role, action)
    assert (await api.post(f"/v1/users/{uuid.uuid4()}/deactivate")).status_code == 404
    assert (await api.post("/v1/users/not-a-uuid/deactivate")).status_code in (400, 404)
    me = await _id_of(api)
    response = await api.post(f"/v1/users/{me}/deactivate")
    assert response.status_code == 409 and response.json()["code"] == "cannot_deactivate_self"


async def _id_of(caller: Api) -> str:
    import jwt

    token = caller.headers["Authorization"].split()[1]
    return jwt.decode(token, options={"verify_signature": False})["sub"]


async def test_changing_the_password_ends_the_other_sessions(
    api: Api, client: AsyncTestClient
) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    here = await tokens_for(client, driver["email"], "driver-password", "device-1")
    there = await tokens_for(client, driver["email"], "driver-password", "device-1")
    change = {"current_password": "driver-password", "new_password": "a-new-long-secret"}
    response = await bearer(client, here).post("/v1/auth/password", change)
    assert response.status_code == 204, response.text
    assert (await bearer(client, here).get("/v1/sync/pull")).status_code == 200
    ended = await bearer(client, there).get("/v1/sync/pull")
    assert ended.status_code == 401 and ended.json()["code"] == "token_revoked"
    assert (await refresh(client, there["refresh_token"])).status_code == 401
    old = await client.post(
        "/v1/auth/token", json={"email": driver["email"], "password": "driver-password"}
    )
    assert old.status_code == 401
    await tokens_for(client, driver["email"], "a-new-long-secret")


async def test_a_password_change_needs_the_current_password_and_a_good_new_one(
    client: AsyncTestClient,
) -> None:
    me = bearer(client, await tokens_for(client, ADMIN_EMAIL, ADMIN_PASSWORD))
    cases = [
        (
            {"current_password": "wrong-one-here", "new_password": "a-new-long-secret"},
            "current_password",
            "wrong_password",
        ),
        ({"current_password": ADMIN_PASSWORD, "new_password": "short"}, "new_password", None),
        (
            {"current_password": ADMIN_PASSWORD, "new_password": "password123"},
            "new_password",
            "password_too_common",
        ),
        (
            {"current_password": ADMIN_PASSWORD, "new_password": ADMIN_PASSWORD},
            "new_password",
            "password_unchanged",
        ),
        (
            {"current_password": ADMIN_PASSWORD, "new_password": ADMIN_EMAIL.upper()},
            "new_password",
            "password_is_email",
        ),
        ({"current_password": ADMIN_PASSWORD, "new_password": "nul\x00-in-the-middle"}, None, None),
        ({"current_password": ADMIN_PASSWORD}, None, None),
    ]
    for body, field, code in cases:
        response = await me.post("/v1/auth/password", body)
        assert 400 <= response.status_code < 500 and response.status_code != 401, body
        if field:
            assert response.json()["errors"][0]["field"] == field, response.text
        if code:
            assert response.json()["code"] == code
    assert (await client.post("/v1/auth/password", json=cases[0][0])).status_code == 401
    # Nothing changed: the admin still signs in with the old password.
    await tokens_for(client, ADMIN_EMAIL, ADMIN_PASSWORD)


async def test_an_expired_access_token_is_refused_and_the_simulated_handheld_refreshes(
    client: AsyncTestClient, settings, monkeypatch
) -> None:
    from backend.auth import tokens as token_module
    from backend.auth.tokens import read_token
    from backend.simulator.http import ApiClient

    handheld = await ApiClient(client).sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
    principal = read_token(handheld.token, settings.secret_key)
    with monkeypatch.context() as past:
        past.setattr(token_module, "utcnow", lambda: datetime.now(UTC) - timedelta(minutes=20))
        expired = issue_token(principal, settings.secret_key, settings.token_ttl_seconds)
    handheld.token, handheld.headers = expired, {"authorization": f"Bearer {expired}"}
    response = await client.get("/v1/hubs", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and response.json()["code"] == "invalid_token"
    assert await handheld.call("GET", "/v1/hubs") is not None  # refreshed, then answered
    assert handheld.token != expired


async def test_refresh_tokens_expired_a_day_ago_are_pruned(
    client: AsyncTestClient, jobs, db
) -> None:
    old = await tokens_for(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    await tokens_for(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    await db.execute(
        "UPDATE refresh_tokens SET expires_at = now() - interval '2 days' WHERE token_hash = $1",
        refresh_token_hash(old["refresh_token"]),
    )
    assert await jobs.prune_refresh_tokens() == 1
    assert await db.fetchval("SELECT count(*) FROM refresh_tokens") == 1
    assert await db.fetchval("SELECT count(*) FROM auth_sessions") == 2  # kept, for the record
    assert (await refresh(client, old["refresh_token"])).json()["code"] == "invalid_refresh_token"


async def test_every_role_logs_out_and_changes_its_own_password(
    api: Api, client: AsyncTestClient
) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    accounts = [(ADMIN_EMAIL, ADMIN_PASSWORD, None), (driver["email"], "driver-password", "hh-9")]
    for role in ("dispatcher", "partner"):
        email = f"{role}-self@test.lastmile"
        await api.created("/v1/users", {"email": email, "password": "first-password", "role": role})
        accounts.append((email, "first-password", None))
    for email, password, device in accounts:
        tokens = await tokens_for(client, email, password, device)
        me = bearer(client, tokens)
        change = {"current_password": password, "new_password": f"{password}-changed"}
        assert (await me.post("/v1/auth/password", change)).status_code == 204, email
        assert (await me.post("/v1/auth/logout")).status_code == 204, email
        assert (await me.post("/v1/auth/logout")).status_code == 401, email
        await tokens_for(client, email, f"{password}-changed", device)
