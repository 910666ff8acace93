import time
import uuid

from litestar.testing import AsyncTestClient

from backend.auth import tokens
from backend.auth.schemas import Principal
from backend.auth.tokens import issue_token, read_token
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.factories import Api


async def test_bootstrap_admin_signs_in_with_a_bearer_token(client: AsyncTestClient) -> None:
    response = await client.post(
        "/v1/auth/token", json={"email": ADMIN_EMAIL.upper(), "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["role"] == "admin"
    assert body["expires_in"] > 0


async def test_wrong_password_and_unknown_user_are_401_alike(client: AsyncTestClient) -> None:
    wrong = await client.post("/v1/auth/token", json={"email": ADMIN_EMAIL, "password": "nope"})
    unknown = await client.post(
        "/v1/auth/token", json={"email": "ghost@test.lastmile", "password": "nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "bad_credentials"


async def test_missing_forged_and_malformed_tokens_are_401(client: AsyncTestClient) -> None:
    assert (await client.get("/v1/hubs")).status_code == 401
    forged = await client.get("/v1/hubs", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
    assert forged.headers["content-type"].startswith("application/problem+json")


async def test_driver_token_carries_driver_and_device(api: Api, settings) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    handheld = await api.as_driver(driver, device_id="handheld-7")
    principal = read_token(handheld.headers["Authorization"].split()[1], settings.secret_key)
    assert principal is not None
    assert str(principal.driver_id) == driver["id"]
    assert principal.device_id == "handheld-7"


async def test_deactivated_driver_cannot_sign_in(api: Api, client: AsyncTestClient) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    assert (await api.post(f"/v1/drivers/{driver['id']}/deactivate")).json()["active"] is False
    response = await client.post(
        "/v1/auth/token", json={"email": driver["email"], "password": "driver-password"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "account_inactive"


async def test_role_guards(api: Api) -> None:
    hub = await api.hub()
    dispatcher = await api.user("dispatcher")
    partner = await api.user("partner")
    driver = await api.as_driver(await api.driver(hub["id"]))

    assert (await dispatcher.get("/v1/hubs")).status_code == 200
    assert (
        await dispatcher.post(
            "/v1/users", {"email": "x@y.z", "password": "password1", "role": "admin"}
        )
    ).status_code == 403
    for caller in (partner, driver):
        for path in ("/v1/hubs", "/v1/zones", "/v1/pickup-points", "/v1/drivers", "/v1/shipments"):
            response = await caller.get(path)
            assert response.status_code == 403, (caller.role, path)
            assert response.json()["code"] == "forbidden"
        created = await caller.post(
            "/v1/hubs", {"name": "x", "code": "NOPE", "location": hub["location"]}
        )
        assert created.status_code == 403


async def test_duplicate_email_is_409(api: Api) -> None:
    body = {"email": "dup@test.lastmile", "password": "dispatch-pass-1", "role": "dispatcher"}
    assert (await api.post("/v1/users", body)).status_code == 201
    again = await api.post("/v1/users", body | {"email": "DUP@test.lastmile"})
    assert again.status_code == 409
    assert again.json()["code"] == "email_taken"


def test_a_token_stops_working_when_it_expires(monkeypatch) -> None:
    """Checked signatures are remembered, expiries are not: a cached token still expires."""
    principal = Principal(user_id=uuid.uuid4(), role="dispatcher", session_id=uuid.uuid4())
    token = issue_token(principal, "k" * 32, ttl_seconds=60)
    assert read_token(token, "k" * 32) == principal
    assert read_token(token, "x" * 32) is None
    later = time.time() + 61
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    assert read_token(token, "k" * 32) is None
