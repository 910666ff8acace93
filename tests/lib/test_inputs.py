"""Input no handler should ever see: NUL characters anywhere, JSON nested a thousand deep, plain
OPTIONS. Each is a 4xx problem naming the field, and nothing is stored."""

import json
import uuid
from typing import Any

import asyncpg
import pytest
from litestar.routes import HTTPRoute

from backend.lib.jsonchecks import MAX_JSON_DEPTH
from tests.conftest import ADMIN_EMAIL
from tests.factories import Api, point, shipment_body, square
from tests.recipients.support import Scene, scene

JSON = {"content-type": "application/json"}


async def table_counts(db: asyncpg.Pool) -> dict[str, int]:
    tables = await db.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        " AND tablename NOT IN ('alembic_version', 'spatial_ref_sys')"
    )
    return {
        t["tablename"]: await db.fetchval(f'SELECT count(*) FROM "{t["tablename"]}"')
        for t in tables
    }


def assert_refused(response, field: str, code: str = "nul_character") -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code, problem
    assert problem["errors"][0]["field"] == field, problem


@pytest.fixture
async def world(api: Api) -> Scene:
    return await scene(api, stops=2)


def bodies(w: Scene) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, body, field) with a NUL in one text field, for every kind of writer."""
    hub_id, token = w.hub["id"], w.token(0)
    shipment = shipment_body(hub_id)
    return [
        ("POST", "/v1/auth/token", {"email": "a\x00@x.io", "password": "p"}, "email"),
        ("POST", "/v1/auth/token", {"email": ADMIN_EMAIL, "password": "x\x00"}, "password"),
        (
            "POST",
            "/v1/users",
            {"email": "u\x00@x.io", "password": "pw-12345678", "role": "dispatcher"},
            "email",
        ),
        (
            "POST",
            "/v1/hubs",
            {"name": "H\x00", "code": "H9", "location": point(13.4, 52.5)},
            "name",
        ),
        (
            "POST",
            "/v1/hubs",
            {
                "name": "H",
                "code": "H9",
                "location": point(13.4, 52.5),
                "address": {"li\x00ne": "x"},
            },
            "address.li\\u0000ne",
        ),
        (
            "POST",
            "/v1/zones",
            {"name": "Z\x00", "hub_id": hub_id, "area": square(13.4, 52.5, 0.01)},
            "name",
        ),
        (
            "POST",
            "/v1/pickup-points",
            {"name": "P", "location": point(13.4, 52.5), "opening_hours": {"mon": "9\x00"}},
            "opening_hours.mon",
        ),
        (
            "POST",
            "/v1/drivers",
            {"name": "D\x00", "email": "d@x.io", "password": "pw-12345678", "home_hub_id": hub_id},
            "name",
        ),
        (
            "POST",
            "/v1/shipments",
            shipment | {"recipient": {"name": "R\x00", "phone": "+49 30 1"}},
            "recipient.name",
        ),
        ("POST", "/v1/shipments", shipment | {"notes": "ring\x00twice"}, "notes"),
        (
            "POST",
            "/v1/shipments/bulk",
            {"shipments": [shipment_body(hub_id), shipment_body(hub_id, reference="R\x00")]},
            "shipments[1].reference",
        ),
        ("PATCH", f"/v1/shipments/{w.shipments[0]['id']}", {"notes": "\x00"}, "notes"),
        ("POST", f"/v1/shipments/{w.shipments[0]['id']}/cancel", {"reason": "no\x00"}, "reason"),
        (
            "POST",
            f"/v1/routes/{w.route['id']}/reassign",
            {"driver_id": w.driver["id"], "x\x00": 1},
            "x\\u0000",
        ),
        (
            "POST",
            f"/v1/track/{token}/instructions",
            {"type": "safe_drop", "location_note": "porch\x00"},
            "location_note",
        ),
    ]


async def test_a_nul_in_any_json_text_field_is_refused_by_name_and_nothing_is_stored(
    api: Api, world: Scene, db: asyncpg.Pool
) -> None:
    before = await table_counts(db)
    for method, path, body, field in bodies(world):
        response = await api.client.request(
            method, path, content=json.dumps(body), headers=api.headers | JSON
        )
        assert_refused(response, field)
    assert await table_counts(db) == before


async def test_the_tracking_page_form_refuses_a_nul_and_stores_nothing(world: Scene, db) -> None:
    before = await table_counts(db)
    response = await world.api.client.post(
        f"/t/{world.token(0)}", data={"type": "safe_drop", "location_note": "back door\x00"}
    )
    assert_refused(response, "location_note")
    assert await table_counts(db) == before


async def test_a_nul_in_a_push_or_pings_envelope_is_refused(world: Scene, db) -> None:
    before = await table_counts(db)
    driver = world.handheld.api
    push = {
        "device_id": "dev\x00",
        "batch_id": "01890a5d-ac96-774b-bcce-b302099a8057",
        "events": [],
    }
    assert_refused(await driver.post("/v1/sync/push", push), "device_id")
    pings = {
        "device_id": "d\x00",
        "pings": [{"at": "2026-12-01T10:00:00Z", "lon": 13.4, "lat": 52.5}],
    }
    assert_refused(await driver.post("/v1/tracking/pings", pings), "device_id")
    assert await table_counts(db) == before


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/shipments?status=deliv%00ered", "status"),
        ("/v1/shipments?limit=10&cursor=%00", "cursor"),
        ("/v1/drivers?a%00b=1", "a\\u0000b"),
        ("/v1/hubs?cursor=abc%00", "cursor"),
        ("/v1/routes?status=%00", "status"),
        ("/v1/notifications?cursor=%00", "cursor"),
        ("/v1/blobs/ab%00cd", "sha256"),
        ("/v1/track/tok%00en", "token"),
        ("/v1/track/tok%00en/pod", "token"),
        ("/v1/track/tok%00en/pickup-points", "token"),
        ("/v1/track/tok%00en/stream", "token"),
        ("/t/tok%00en", "token"),
    ],
)
async def test_a_nul_in_a_path_or_query_parameter_is_refused_by_name(
    api: Api, path: str, field: str
) -> None:
    assert_refused(await api.get(path), field)


async def test_a_nul_in_a_query_parameter_of_a_driver_or_anonymous_call(world: Scene) -> None:
    assert_refused(await world.handheld.api.get("/v1/sync/pull?cursor=%00"), "cursor")
    assert_refused(await world.api.client.get(f"/t/{world.token(0)}?done=%00"), "done")


async def test_a_nul_in_a_header_value_is_refused_by_name(world: Scene) -> None:
    response = await world.api.client.get(
        f"/v1/track/{world.token(0)}/stream", headers={"Last-Event-ID": "1\x002"}
    )
    assert_refused(response, "last-event-id")


async def test_text_that_merely_looks_like_an_escape_is_kept_as_written(api: Api) -> None:
    hub = await api.hub(name="Backslash \\u0000 hub")
    assert hub["name"] == "Backslash \\u0000 hub"


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [1000, 100_000])
async def test_json_nested_a_thousand_deep_is_refused_on_login_push_and_bulk(
    api: Api, world: Scene, db, depth: int
) -> None:
    before = await table_counts(db)
    envelope = (
        '{"device_id": "d", "batch_id": "01890a5d-ac96-774b-bcce-b302099a8057", "events": [%s]}'
    )
    for caller, path, body in [
        (api, "/v1/auth/token", deep(depth)),
        (api, "/v1/auth/token", '{"email": ' + deep(depth) + "}"),
        (world.handheld.api, "/v1/sync/push", envelope % deep(depth)),
        (api, "/v1/shipments/bulk", '{"shipments": [' + deep(depth) + "]}"),
    ]:
        response = await caller.client.post(path, content=body, headers=caller.headers | JSON)
        if len(body) > 2048 and path == "/v1/auth/token":  # past the sign-in body limit
            assert response.status_code == 413, response.text
            continue
        assert_refused(response, "body", code="too_deeply_nested")
    assert await table_counts(db) == before


async def test_free_form_json_past_the_depth_limit_is_refused_with_its_path(api: Api, db) -> None:
    nested: Any = "x"
    for _ in range(MAX_JSON_DEPTH):
        nested = {"n": nested}
    body = {"name": "Deep", "code": "DEEP", "location": point(13.4, 52.5), "address": nested}
    before = await table_counts(db)
    response = await api.post("/v1/hubs", body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "too_deeply_nested"
    assert response.json()["errors"][0]["field"].startswith("address.n.n")
    assert await table_counts(db) == before
    body["address"] = nested["n"]  # one level less: within the limit
    assert (await api.post("/v1/hubs", body)).status_code == 201


async def test_plain_options_answers_every_route_without_a_500(app, api: Api, world: Scene) -> None:
    """Litestar answers OPTIONS itself (the Allow header); role guards used to fail on it because
    the authentication middleware skips OPTIONS."""
    http_routes = [route for route in app.routes if isinstance(route, HTTPRoute)]
    assert len(http_routes) > 20
    for route in http_routes:
        path = "/".join(_sample(part) for part in route.path.split("/"))
        for headers in ({}, api.headers, world.handheld.api.headers):
            response = await api.client.options(path, headers=headers)
            assert response.status_code == 204, (route.path, response.text)
            assert "OPTIONS" in response.headers["allow"]


def _sample(part: str) -> str:
    """A value of the right type for a `{name:type}` path segment."""
    if not part.startswith("{"):
        return part
    if part.endswith(":uuid}"):
        return str(uuid.uuid4())
    return "1" if part.endswith(":int}") else "x"


async def test_bytes_that_are_not_utf8_inside_a_json_string_are_a_400(world: Scene, db) -> None:
    """msgspec raises UnicodeDecodeError there, not its DecodeError: it used to be a 500."""
    before = await table_counts(db)
    api, driver = world.api, world.handheld.api
    envelope = (
        b'{"device_id": "d\xff", "batch_id": "01890a5d-ac96-774b-bcce-b302099a8057", "events": []}'
    )
    for caller, path, body in [
        (api, "/v1/auth/token", b'{"email": "a\xff@x.io", "password": "x"}'),
        (api, "/v1/auth/token", b'{"email": "a@x.io", "password": "x\xc3"}'),
        (
            api,
            "/v1/hubs",
            b'{"name": "\xfe", "code": "U8", "location": {"type": "Point", "coordinates": [13.4, 52.5]}}',
        ),
        (driver, "/v1/sync/push", envelope),
        (driver, "/v1/tracking/pings", b'{"device_id": "\xff", "pings": []}'),
    ]:
        response = await caller.client.post(path, content=body, headers=caller.headers | JSON)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["code"] == "malformed_json"
        assert response.json()["errors"][0]["field"] == "body"
    assert await table_counts(db) == before
