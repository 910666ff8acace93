"""Body limits per route, rate limits per tracking token and per account, and CORS origins."""

import time

from litestar.testing import AsyncTestClient

from backend.app import create_app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings
from tests.factories import Api, shipment_body
from tests.limits.support import admin, assert_rate_limited, client_with

LOGIN = "/v1/auth/token"


def problem_413(response) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "payload_too_large"


# body limits -------------------------------------------------------------------------------------


async def test_a_sign_in_body_is_a_few_hundred_bytes(truncated) -> None:
    async with client_with() as client:
        padded = {"email": "a@b.c", "password": "x" * 150, "device_id": "d" * 100}
        assert (await client.post(LOGIN, json=padded)).status_code == 401
        huge = b'{"email": "a@b.c", "password": "' + b"x" * 18_000_000 + b'"}'
        problem_413(await client.post(LOGIN, content=huge))


async def test_a_body_without_a_length_is_cut_off_at_the_limit(truncated) -> None:
    app = create_app(make_settings())
    sent, answer = 0, []

    async def receive() -> dict:
        nonlocal sent
        sent += 1  # 640 MB if all 10,000 chunks were read
        return {"type": "http.request", "body": b" " * 65_536, "more_body": sent < 10_000}

    async def send(message: dict) -> None:
        answer.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": LOGIN,
        "raw_path": LOGIN.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    async with AsyncTestClient(app=app):  # started (lifespan), then called as ASGI directly
        await app(scope, receive, send)
    assert answer[0]["status"] == 413
    assert sent == 1


async def test_a_million_field_form_on_the_tracking_page_is_refused_cheaply(truncated) -> None:
    async with client_with() as client:
        form = b"&".join(b"f%d=x" % n for n in range(1_000_000))
        started = time.perf_counter()
        response = await client.post(
            "/t/some-token",
            content=form,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        problem_413(response)
        assert time.perf_counter() - started < 5  # a bound against a hang, not a benchmark


async def test_anonymous_endpoints_take_small_bodies(truncated) -> None:
    async with client_with(anonymous_max_body_bytes=1024) as client:
        note = {"type": "safe_drop", "location_note": "x" * 2000}
        problem_413(await client.post("/v1/track/some-token/instructions", json=note))


async def test_signed_in_endpoints_take_the_general_limit_bulk_and_push_their_own(
    truncated,
) -> None:
    async with client_with(max_body_bytes=4096, bulk_max_bytes=200_000) as client:
        api = await admin(client)
        hub = await api.hub()
        notes = {"notes": "n" * 1500}
        many = {"shipments": [shipment_body(hub["id"], **notes) for _ in range(10)]}
        bulk = await api.post("/v1/shipments/bulk", many)
        assert bulk.status_code == 200, bulk.text
        assert len(bulk.json()["created"]) == 10
        problem_413(await api.post("/v1/shipments", shipment_body(hub["id"], notes="n" * 5000)))
        driver = await api.as_driver(await api.driver(hub["id"]))
        push = {
            "device_id": "device-1",
            "batch_id": "00000000-0000-7000-8000-000000000001",
            "events": [],
            "padding": "p" * 6000,
        }
        answer = await driver.post("/v1/sync/push", push)
        assert answer.status_code != 413  # past the general limit, within the push's own


# rate limits -------------------------------------------------------------------------------------


async def test_instructions_per_tracking_token(truncated) -> None:
    async with client_with(rate_limit_instructions="2/1h") as client:
        api = await admin(client)
        hub = await api.hub()
        first, second = [await api.shipment(hub["id"]) for _ in range(2)]
        note = {"type": "safe_drop", "location_note": "porch"}
        url = "/v1/track/{}/instructions"
        for _ in range(2):
            ok = await client.post(url.format(first["tracking_token"]), json=note)
            assert ok.status_code == 201, ok.text
        assert (
            1790
            <= assert_rate_limited(
                await client.post(url.format(first["tracking_token"]), json=note)
            )
            <= 1800
        )
        form = await client.post(f"/t/{first['tracking_token']}", data=note)
        assert form.status_code == 429 and form.headers["retry-after"]
        assert form.headers["content-type"].startswith("text/html")
        other = await client.post(url.format(second["tracking_token"]), json=note)
        assert other.status_code == 201


async def test_every_signed_in_account_has_a_budget(truncated) -> None:
    async with client_with(rate_limit_account="5/1m") as client:
        api = await admin(client)
        answers = [(await api.get("/v1/hubs")).status_code for _ in range(7)]
        assert answers == [200] * 5 + [429] * 2
        assert_rate_limited(await api.get("/v1/hubs"))
        again = await Api.sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert_rate_limited(await again.get("/v1/hubs"))  # a new token, the same budget
        assert (await client.get("/healthz")).status_code == 200


# CORS ---------------------------------------------------------------------------------------------


async def test_cors_allows_only_the_configured_origins(truncated) -> None:
    preflight = {"access-control-request-method": "POST"}
    async with client_with() as client:
        evil = await client.options(LOGIN, headers=preflight | {"origin": "https://evil.example"})
        assert evil.headers.get("access-control-allow-origin") is None
        own = await client.options(LOGIN, headers=preflight | {"origin": "http://127.0.0.1:8000"})
        assert own.headers.get("access-control-allow-origin") == "http://127.0.0.1:8000"
    async with client_with(cors_allowed_origins="https://ops.example, https://b.example") as c:
        ops = await c.options(LOGIN, headers=preflight | {"origin": "https://ops.example"})
        assert ops.headers.get("access-control-allow-origin") == "https://ops.example"
        own = await c.options(LOGIN, headers=preflight | {"origin": "http://127.0.0.1:8000"})
        assert own.headers.get("access-control-allow-origin") is None
    async with client_with(cors_allowed_origins="") as none:
        own = await none.options(LOGIN, headers=preflight | {"origin": "http://127.0.0.1:8000"})
        assert own.headers.get("access-control-allow-origin") is None
        assert (await none.post(LOGIN, json={"email": "a@b.c", "password": "x"})).status_code == 401
